"""The copula classifier: exact marginalization, its single-test kernel against brute force, coherence
of the value's reference with the prediction, cross-validated regularization, and its model folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import ndtr, ndtri
from scipy.stats import multivariate_normal, norm

from acquire import datasets, fit_model, load_model
from acquire.engine.class_gaussian import ClassGaussianEstimator
from acquire.estimators.class_gaussian import (class_score_conditionals, gauss_legendre_table, mixture_rule,
                                              single_test_value, single_test_values)
from acquire.estimators.gaussian import condition_gaussian
from acquire.estimators.value import eig_weighted, evsi_weighted
from acquire.exceptions import DataError, ModelError
from acquire.predictors import CopulaClassifier
from acquire.predictors.copula_classifier import log_posterior


def edit_json(folder, name, change):
    """Apply ``change`` to the JSON document ``folder/name`` and recompute its checksum in the manifest,
    as whoever edits a folder can."""
    import hashlib

    path = folder / name
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture(scope="module")
def pima_model(pima, pima_copula_model):
    frame, spec = pima
    return frame, spec, pima_copula_model


@pytest.fixture(scope="module")
def pima_mixture(pima):
    """The classifier with two Gaussians per class (EM), λ and γ chosen by cross-validation."""
    frame, spec = pima
    return frame, spec, fit_model(frame, spec, predictor="copula", holdout=0, predictor_params={"components": 2})


@pytest.fixture(scope="module", params=["one Gaussian per class", "two per class"])
def either_model(request):
    """Each test taking this runs on both: one Gaussian per class, and a mixture of two per class."""
    return request.getfixturevalue("pima_model" if request.param.startswith("one") else "pima_mixture")


def brute_force(w, m, s, a, b, U=None, n=400_001):
    """The same value on a dense trapezoid grid over the clipped score, end atoms added."""
    z = np.linspace(a, b, n)
    dens = sum(wk * norm.pdf(z, mk, sk) for wk, mk, sk in zip(w, m, s))
    W = dens * (z[1] - z[0])
    W[[0, -1]] *= 0.5
    W[0] += sum(wk * norm.cdf(a, mk, sk) for wk, mk, sk in zip(w, m, s))
    W[-1] += sum(wk * norm.sf(b, mk, sk) for wk, mk, sk in zip(w, m, s))
    logp = np.log(w)[None] + norm.logpdf(z[:, None], np.asarray(m)[None], np.asarray(s)[None])
    P = np.exp(logp - logp.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    W /= W.sum()
    return eig_weighted(W, P) if U is None else evsi_weighted(W, P, U)


@pytest.mark.parametrize("w, m, s, a, b", [
    ([0.7, 0.3], [0.0, 1.2], [1.0, 0.8], -2.9, 2.9),
    ([0.2, 0.5, 0.3], [-1.0, 0.1, 2.5], [0.3, 1.5, 0.05], -3.2, 3.0),  # a narrow class
    ([0.5, 0.5], [2.5, 3.5], [0.4, 0.4], -2.0, 2.6),                   # most mass in the upper atom
])
def test_single_test_kernel_matches_a_dense_grid(w, m, s, a, b):
    w, m, s = (np.asarray(v, dtype=np.float64) for v in (w, m, s))
    nodes, weights, counts = gauss_legendre_table()
    value, change = single_test_value(w, m, s, a, b, nodes, weights, counts, np.arange(w.size), np.zeros((1, 1)), False, 1e-6)
    assert change <= 1e-6 * value + 1e-15
    assert value == pytest.approx(brute_force(w, m, s, a, b), rel=1e-6)
    U = np.random.default_rng(0).normal(size=(3, w.size))
    evsi, _ = single_test_value(w, m, s, a, b, nodes, weights, counts, np.arange(w.size), U, True, 1e-6)
    assert evsi == pytest.approx(brute_force(w, m, s, a, b, U), rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("observed", [[], [0], [1, 3], [0, 2, 4, 5]])
def test_class_score_conditionals_against_scipy_and_numpy(observed):
    """The per-case kernel: class probabilities as log_posterior gives them, and each missing score's
    conditional mean and s.d. per class as the reference Gaussian conditioning gives them."""
    rng = np.random.default_rng(len(observed))
    K, p = 3, 6
    means = rng.normal(size=(K, p))
    covs = np.stack([a @ a.T + 0.5 * np.eye(p) for a in rng.normal(size=(K, p, p))])
    priors = np.array([0.2, 0.5, 0.3])
    z = np.full(p, np.nan)
    z[observed] = rng.normal(size=len(observed))
    w, m, s = class_score_conditionals(z, means, covs, np.log(priors))
    joint = np.array([priors[k] * (multivariate_normal(means[k, observed], covs[k][np.ix_(observed, observed)]).pdf(
        z[observed]) if observed else 1.0) for k in range(K)])
    np.testing.assert_allclose(w, joint / joint.sum(), rtol=1e-12)
    np.testing.assert_allclose(w, np.exp(log_posterior(z[None], means, covs, priors))[0], rtol=1e-12)
    missing = [j for j in range(p) if j not in observed]
    for k in range(K):
        mean, cov = condition_gaussian(means[k], covs[k], np.array(observed, dtype=np.int64), z[observed])
        np.testing.assert_allclose(m[k, missing], mean, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(s[k, missing], np.sqrt(np.diag(cov)), rtol=1e-12)
        assert np.isnan(m[k, observed]).all() and np.isnan(s[k, observed]).all()
    if missing:  # the batched single-test kernel is the scalar one, test by test
        nodes, weights, counts = gauss_legendre_table()
        a, b = np.full(p, -2.5), np.full(p, 2.8)
        cols = np.array(missing, dtype=np.int64)
        values, changes = single_test_values(w, m, s, cols, a, b, nodes, weights, counts, np.arange(w.size), np.zeros((1, 1)),
                                             False, 1e-6)
        for c, j in enumerate(missing):
            one = single_test_value(w, m[:, j].copy(), s[:, j].copy(), -2.5, 2.8, nodes, weights, counts,
                                    np.arange(w.size), np.zeros((1, 1)), False, 1e-6)
            assert (values[c], changes[c]) == one


def test_single_test_kernel_limits():
    nodes, weights, counts = gauss_legendre_table()
    none = np.zeros((1, 1))
    same, _ = single_test_value(np.array([0.3, 0.7]), np.zeros(2), np.ones(2), -6.0, 6.0, nodes, weights, counts,
                                np.arange(2), none, False, 1e-6)
    assert same == pytest.approx(0.0, abs=1e-12)  # identical classes: the test tells nothing
    w = np.array([0.3, 0.7])
    apart, _ = single_test_value(w, np.array([-3.0, 3.0]), np.array([0.1, 0.1]), -6.0, 6.0, nodes, weights, counts,
                                 np.arange(2), none, False, 1e-6)
    assert apart == pytest.approx(-(w * np.log(w)).sum(), rel=1e-9)  # separated classes: all of H(y)
    W, P = mixture_rule(w, np.array([-1.0, 1.0]), np.ones(2), -2.0, 2.0, nodes[3, :32], weights[3, :32])
    assert W.sum() == pytest.approx(1.0, abs=1e-12)
    assert (W * P[:, 1]).sum() / W.sum() == pytest.approx(0.7, abs=0.02)  # p̄ near w (atoms use the density)


def test_prediction_marginalizes_missing_features_exactly(either_model):
    """p(y | x_o) ∝ π_y N(z_o; μ_y,o, Σ_y,oo), recomputed with scipy for random observed subsets."""
    frame, spec, model = either_model
    pred = model.predictor
    X = spec.encode(frame)[:40].copy()
    rng = np.random.default_rng(1)
    X[rng.uniform(size=X.shape) < 0.5] = np.nan
    got = pred.predict_distribution(X)
    Z = pred.scores(X)
    for i in range(len(X)):
        o = np.flatnonzero(~np.isnan(Z[i]))
        logp = np.log(pred.priors_).copy()  # per component; its class is pred.component_class_
        if o.size:
            logp += [multivariate_normal(pred.means_[c, o], pred.covariances_[c][np.ix_(o, o)]).logpdf(Z[i, o])
                     for c in range(len(logp))]
        want = np.bincount(pred.component_class_, weights=np.exp(logp - logp.max()), minlength=2)
        np.testing.assert_allclose(got[i], want / want.sum(), rtol=1e-10, atol=1e-12)


def test_rank_values_match_the_predictor_on_a_grid_of_results(either_model):
    """The estimator's value of glu (continuous) and npreg (discrete) against the predictor itself,
    evaluated on a dense grid of results weighted by the classifier's own score model."""
    frame, spec, model = either_model
    pred = model.predictor
    x = spec.encode(frame)[3].copy()
    x[[0, 1, 3, 4]] = np.nan  # npreg, glu, skin, bmi missing
    est = ClassGaussianEstimator(model.ranker())
    w, m, s = est.score_conditionals(x)
    j = 1
    marginal = pred.copula_.marginals_[j]
    eps, delta = pred.warps_[j]
    assert (eps, delta) != (0.0, 1.0)  # glu's score is warped: the grid below is in the warped scores
    a, b = np.sinh(delta * np.arcsinh(ndtri(np.clip(marginal.u[[0, -1]], 1e-9, 1 - 1e-9))) - eps)
    z = np.linspace(a, b, 200_001)
    W = sum(w[k] * norm.pdf(z, m[k, j], s[k, j]) for k in range(w.size)) * (z[1] - z[0])  # k: a component
    W[[0, -1]] *= 0.5
    W[0] += sum(w[k] * norm.cdf(a, m[k, j], s[k, j]) for k in range(w.size))
    W[-1] += sum(w[k] * norm.sf(b, m[k, j], s[k, j]) for k in range(w.size))
    rows = np.repeat(x[None], z.size, axis=0)
    rows[:, j] = marginal.ppf(ndtr(np.sinh((np.arcsinh(z) + eps) / delta)))  # each warped score's value
    brute = eig_weighted(W / W.sum(), pred.predict_distribution(rows))
    ranking = model.rank(dict(zip(spec.feature_names, x)))
    values = ranking.summary["value"]
    assert ranking.summary.loc["glu", "method"] == "quadrature"
    assert values["glu"] == pytest.approx(brute, rel=1e-6)
    # npreg: a finite sum over its levels with their probabilities under the mixture
    j = 0
    marginal = pred.copula_.marginals_[j]
    upper = np.append(ndtri(marginal.u[:-1]), np.inf)
    lower = np.concatenate([[-np.inf], upper[:-1]])
    mass = sum(w[k] * (ndtr((upper - m[k, j]) / s[k, j]) - ndtr((lower - m[k, j]) / s[k, j])) for k in range(w.size))
    rows = np.repeat(x[None], marginal.values.size, axis=0)
    rows[:, j] = marginal.values
    assert ranking.summary.loc["npreg", "method"] == "exact"
    assert values["npreg"] == pytest.approx(eig_weighted(mass / mass.sum(), pred.predict_distribution(rows)), rel=1e-9)


def test_the_value_is_measured_from_the_prediction_rank_prints(either_model):
    """Coherence (issue 13, item 3): for continuous tests p̄ = E[p(y | x_o, x_j)] is the prediction."""
    frame, spec, model = either_model
    pred = model.predictor
    est = ClassGaussianEstimator(model.ranker())
    nodes, weights, _ = gauss_legendre_table()
    rng = np.random.default_rng(2)
    X = spec.encode(frame)[:60].copy()
    X[rng.uniform(size=X.shape) < 0.6] = np.nan
    gaps = []
    for x in X:
        w, m, s = est.score_conditionals(x)
        for j in np.flatnonzero(np.isnan(x)):
            marginal = pred.copula_.marginals_[j]
            if marginal.discrete:
                continue
            a, b = ndtri(np.clip(marginal.u[[0, -1]], 1e-9, 1 - 1e-9))
            W, P = mixture_rule(w, m[:, j], s[:, j], a, b, nodes[-1], weights[-1])
            gaps.append(abs((W @ P)[1] / W.sum() - w[1]))
    assert np.mean(gaps) <= 1e-3 and len(gaps) > 50


def test_cross_validation_picks_the_least_log_loss_and_a_given_setting_skips_it(pima_model):
    frame, spec, model = pima_model
    pred = model.predictor
    table = pred.cv_log_loss_
    assert len(table) == 25
    best = min(table, key=table.get)
    assert f"{pred.pooling_:g},{pred.shrinkage_:g}" == best
    X, y = spec.encode(frame), spec.encode_target(frame[spec.target_name])
    fixed = CopulaClassifier(pooling=1.0, shrinkage=0.0).fit(X, y, kind="binary")
    assert fixed.cv_log_loss_ is None and (fixed.pooling_, fixed.shrinkage_) == (1.0, 0.0)
    np.testing.assert_allclose(fixed.covariances_[0], fixed.covariances_[1])  # fully pooled: one covariance
    with pytest.raises(DataError, match="pooling == 2"):
        CopulaClassifier(pooling=2.0).fit(X, y, kind="binary")
    with pytest.raises(DataError, match="continuous target needs --predictor xgboost or bayes"):
        CopulaClassifier().fit(X, y.astype(float), kind="continuous")


def test_conditional_model_is_the_classifiers_own(either_model):
    """Class y's copula marginal at the pooled knots is Φ((w(z) − μ_y) / σ_y), w the score's warp."""
    _, _, model = either_model
    pred, cond = model.predictor, model.conditional
    j = 1
    pooled = pred.copula_.marginals_[j]
    eps, delta = pred.warps_[j]
    assert np.array_equal(cond.component_class_, pred.component_class_)
    for k in range(len(pred.priors_)):  # k: a component
        sd = np.sqrt(pred.covariances_[k, j, j])
        warped = np.sinh(delta * np.arcsinh(ndtri(np.clip(pooled.u, 1e-300, 1 - 1e-16))) - eps)
        want = ndtr((warped - pred.means_[k, j]) / sd)
        np.testing.assert_allclose(cond.components_[k].marginals_[j].cdf(pooled.values)[:-1], want[:-1], atol=1e-12)


def test_model_folder_round_trip_and_a_tampered_covariance(either_model, tmp_path):
    frame, spec, model = either_model
    model.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    X = spec.encode(frame)[:20]
    np.testing.assert_array_equal(again.predictor.predict_distribution(X), model.predictor.predict_distribution(X))
    case = dict(zip(spec.feature_names[:3], X[0, :3]))
    assert again.rank(case).summary["value"].equals(model.rank(case).summary["value"])
    # a covariance edited to be indefinite, with the checksum recomputed: refused before any kernel runs
    def indefinite(document):
        document["covariances"][0][0][1] = document["covariances"][0][1][0] = 50.0

    edit_json(tmp_path / "m", "predictor.json", indefinite)
    with pytest.raises(ModelError, match="not symmetric positive definite"):
        load_model(tmp_path / "m")


def test_conditional_shapley_of_the_log_odds_is_efficient(either_model):
    """The checker's Shapley split for the copula classifier: the values sum to v(all) − v(∅) per row,
    and a feature the row does not hold gets 0."""
    from acquire.checks.sensitive import conditional_shapley

    frame, spec, model = either_model
    X = spec.encode(frame)[:15].copy()
    X[0, 2] = np.nan
    phi = conditional_shapley(model.predictor, X)[..., 0]
    p = model.predictor.predict_distribution(np.vstack([X, np.full((1, X.shape[1]), np.nan)]))
    logit = np.log(p[:, 1] / p[:, 0])
    np.testing.assert_allclose(phi.sum(axis=1), logit[:-1] - logit[-1], rtol=1e-9, atol=1e-12)
    assert phi[0, 2] == 0.0


def test_pattern_groups_equal_numpys_unique_rows():
    from acquire.predictors.copula_classifier import pattern_groups

    rng = np.random.default_rng(0)
    for p in (3, 30, 70):  # one packed word, and more than one
        seen = rng.uniform(size=(5000, p)) < 0.5
        seen[::4] = seen[1]
        _, inverse = np.unique(seen, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        want = sorted(tuple(np.flatnonzero(inverse == g)) for g in np.unique(inverse))
        assert sorted(tuple(g) for g in pattern_groups(seen)) == want
    assert pattern_groups(np.zeros((0, 4), bool)) == []


@pytest.mark.parametrize("objective, case", [("eig", {"age": 40.0, "bmi": 31.0}), ("evsi", {"age": 40.0, "bmi": 31.0}),
                                             ("eig", {}), ("evsi", {"glu": 150.0, "npreg": 2, "ped": 0.4})])
def test_the_value_of_information_game_values_coalitions_as_rank_values_sets(either_model, objective, case):
    """The class-Gaussian fast path of the VOI game (the case's score draws made once, every coalition
    in one numba call) equals each coalition valued as a set in NumPy/SciPy (EIG and EVSI), and the
    grand coalition's value is the one ``rank``'s set estimator gives every missing test together."""
    from acquire.engine.class_gaussian import ClassGaussianSetEstimator
    from acquire.engine.shapley import ValueOfInformationGame

    _, spec, model = either_model
    ranker = model.ranker(n_draws=64, n_replicates=8, seed=1, objective=objective)
    game = ValueOfInformationGame(ranker, case)
    masks = np.arange(1 << len(game.players))
    fast_reps, fast = game._evaluate_class_gaussian(masks)
    U = model.spec.utility if objective == "evsi" else None
    # a zero EVSI is a difference of utilities in the hundreds: rounding at 1e-14 of their scale
    atol = 1e-14 * (np.abs(U).max() if objective == "evsi" else 1.0)
    for mask in masks:
        cols = sorted(c for i, cs in enumerate(game.columns) if (int(mask) >> i) & 1 for c in cs)
        reps, pooled = _set_value_reference(model, game.x, cols, 64, 1, U=U)
        np.testing.assert_allclose(fast_reps[:, mask], reps, rtol=1e-9, atol=atol + 1e-13)
        assert fast[mask] == pytest.approx(pooled, rel=1e-9, abs=atol + 1e-13)
    every = sorted(c for cs in game.columns for c in cs)
    whole = ClassGaussianSetEstimator(ranker).estimate(game.x[None, :], [every], np.ones((1, 1), bool),
                                                      np.isnan(game.x)[None, :])
    assert fast[-1] == pytest.approx(whole.value[0, 0], rel=1e-12, abs=atol)


def _set_value_reference(model, x, cols, n_draws, seed, R=8, U=None):
    """Monte Carlo value of acquiring the set ``cols`` written out in NumPy/SciPy from the classifier's
    own model: per component (a class, or one Gaussian of a class mixture) the Gaussian of the missing
    scores given the known ones (condition_gaussian), the engine's documented normals (the first picks
    the component by ``p(c | x_o)``), scores clipped to the end knots or, for a discrete feature, the
    latent point of the level drawn (through the marginal's own ppf and latent_point; continuous ends warped
    by the score's sinh-arcsinh), Bayes' rule with
    scipy's multivariate normal, summed into classes; EIG, or EVSI with ``U``."""
    from acquire.engine.draws import standard_normal_draws

    if not cols:
        return np.zeros(R), 0.0
    pred = model.predictor
    z = pred.scores(x[None, :])[0]
    known, mis = np.flatnonzero(~np.isnan(z)), np.flatnonzero(np.isnan(z))
    w = np.exp(log_posterior(z[None, :], pred.means_, pred.covariances_, pred.priors_)[0])
    e = standard_normal_draws(R, n_draws // R, mis.size + 1, seed).reshape(n_draws, -1)
    klass = np.minimum(np.searchsorted(np.cumsum(w), ndtr(e[:, 0]), side="right"), w.size - 1)
    cond = [condition_gaussian(pred.means_[k], pred.covariances_[k], known, z[known]) for k in range(w.size)]
    at = [int(np.flatnonzero(mis == j)[0]) for j in cols]
    draws = np.empty((n_draws, len(cols)))
    for k, (mean, cov) in enumerate(cond):
        zk = (mean + e[:, 1:] @ np.linalg.cholesky(cov).T)[:, at]
        draws[klass == k] = zk[klass == k]
    for a, j in enumerate(cols):
        marginal = pred.copula_.marginals_[j]
        if marginal.discrete:
            draws[:, a] = marginal.latent_point(marginal.ppf(ndtr(draws[:, a])))
        else:
            eps, delta = pred.warps_[j]  # the end knots' scores, warped as the classifier warps scores
            ends = np.sinh(delta * np.arcsinh(marginal.latent_point(marginal.values[[0, -1]])) - eps)
            draws[:, a] = np.clip(draws[:, a], ends[0], ends[1])
    logp = np.stack([np.log(w[k]) + multivariate_normal(cond[k][0][at], cond[k][1][np.ix_(at, at)]).logpdf(draws)
                     for k in range(w.size)], axis=1)
    P = np.exp(logp - logp.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    P = np.stack([P[:, pred.component_class_ == y].sum(axis=1) for y in range(pred.n_classes_)], axis=1)

    def eig(block):
        if U is not None:  # EVSI: the mean best expected utility per draw, less the best at the mean
            return max((block @ U.T).max(axis=1).mean() - (U @ block.mean(axis=0)).max(), 0.0)
        h = lambda q: -np.sum(np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0), axis=-1)  # noqa: E731
        return max(h(block.mean(axis=0)) - h(block).mean(), 0.0)

    return np.array([eig(b) for b in P.reshape(R, n_draws // R, -1)]), eig(P)


@pytest.mark.parametrize("case", [{"age": 40.0, "bmi": 31.0}, {}, {"glu": 150.0, "ped": 0.4}])
def test_set_values_kernel_matches_numpy_on_the_classifiers_own_model(either_model, case):
    """Panels and groups under the copula classifier (numba set_values, through the estimator) equal
    the same draws valued in NumPy/SciPy: a continuous pair, a set with the discrete npreg, one of
    three, and a singleton, every set of a case from the same normals."""
    from acquire.engine.class_gaussian import ClassGaussianSetEstimator

    _, spec, model = either_model
    x = spec.encode_case(case)
    name = spec.feature_names
    sets = [[name.index(f) for f in s] for s in (["glu", "skin"], ["npreg", "bp"], ["skin", "ped", "age"], ["bp"])]
    sets = [[j for j in s if np.isnan(x[j])] for s in sets]
    ranker = model.ranker(n_draws=1024, seed=3)
    est = ClassGaussianSetEstimator(ranker).estimate(x[None, :], sets, np.ones((1, len(sets)), bool),
                                                    np.isnan(x)[None, :])
    for u, cols in enumerate(sets):
        reps, pooled = _set_value_reference(model, x, cols, 1024, 3)
        assert est.value[0, u] == pytest.approx(pooled, rel=1e-9, abs=1e-13)
        assert est.se[0, u] == pytest.approx(reps.std(ddof=1) / np.sqrt(8), rel=1e-6, abs=1e-13)
        assert est.dof[0, u] == 7 and est.method[0, u] == "mc"


def test_the_engine_values_copula_panels_on_scores_and_method_mc_keeps_the_generic_path(pima_model):
    """A panel under the copula classifier goes to ClassGaussianSetEstimator (not the generic Monte Carlo
    estimator, which rebuilds predictor rows from feature values); ``method="mc"`` still uses the generic
    one; both estimate the same value."""
    import acquire
    from acquire.engine.class_gaussian import ClassGaussianSetEstimator

    frame, spec, model = pima_model
    d = spec.to_dict()
    for f in d["features"]:
        if f["name"] in ("glu", "skin", "bp"):
            f["panel"] = "labs"
    panel_spec = acquire.load_spec(d)
    panelled = fit_model(frame, panel_spec, predictor="copula", holdout=0, seed=0)
    case = {"age": 40.0, "bmi": 31.0}
    ranker = panelled.ranker(n_draws=1024, seed=0)
    x = panel_spec.encode_case(case)
    labs = sorted(panel_spec.feature_names.index(f) for f in ("bp", "glu", "skin"))
    direct = ClassGaussianSetEstimator(ranker).estimate(x[None, :], [labs], np.ones((1, 1), bool), np.isnan(x)[None, :])
    panel = next(c for c in panelled.rank(case, n_draws=1024, seed=0).candidates if c.kind == "panel")
    assert (panel.value, panel.se, panel.method) == (direct.value[0, 0], direct.se[0, 0], "mc")
    generic = next(c for c in panelled.rank(case, n_draws=1024, seed=0, method="mc").candidates if c.kind == "panel")
    assert generic.value != panel.value
    assert abs(generic.value - panel.value) < 4 * np.hypot(generic.se, panel.se)


def test_em_recovers_a_class_made_of_two_groups_and_one_component_is_the_plain_fit():
    """class_mixtures: class 0 drawn from two well-separated Gaussians (weights 0.3 / 0.7), class 1 from
    one; EM with two components per class finds class 0's groups (means to 0.1, weights to 0.05), and
    ``M = 1`` is regularized_moments exactly."""
    from acquire.predictors.copula_classifier import class_mixtures, regularized_moments

    rng = np.random.default_rng(0)
    group = rng.uniform(size=3000) < 0.3
    Z0 = np.where(group[:, None], [-2.0, 1.5], [1.5, -1.0]) + 0.4 * rng.standard_normal((3000, 2))
    Z1 = np.array([0.0, 2.5]) + 0.6 * rng.standard_normal((2000, 2))
    Z = np.vstack([Z0, Z1])
    Z[rng.uniform(size=Z.shape) < 0.1] = np.nan  # EM integrates missing scores out
    y = np.repeat([0, 1], [3000, 2000])
    means, covs, priors, owner = class_mixtures(Z, y, 2, 2, 0.0, 0.0)
    assert owner.tolist() == [0, 0, 1, 1] and priors.sum() == pytest.approx(1.0)
    order = np.argsort(means[:2, 0])
    np.testing.assert_allclose(means[:2][order], [[-2.0, 1.5], [1.5, -1.0]], atol=0.1)
    np.testing.assert_allclose(priors[:2][order] / priors[:2].sum(), [0.3, 0.7], atol=0.05)
    np.testing.assert_allclose(np.diagonal(covs[:2], axis1=1, axis2=2), 0.16, atol=0.05)
    assert priors[2:].sum() == pytest.approx(0.4)  # the class share is kept
    one = class_mixtures(Z, y, 2, 1, 0.3, 0.1)
    plain = regularized_moments(Z, y, 2, 0.3, 0.1)
    np.testing.assert_array_equal(one[0], plain[0])
    np.testing.assert_array_equal(one[1], plain[1])
    np.testing.assert_array_equal(one[2], [0.6, 0.4])


def test_em_stops_at_the_first_step_that_gains_less_than_its_tolerance(monkeypatch):
    """EM's stop: the mean log likelihood per row, traced over 50 steps with no tolerance, gains less than
    ``EM_TOL`` first at step s; with the tolerance EM takes exactly s steps (one E-step each) and returns
    the model it would have after them."""
    import acquire.predictors.copula_classifier as cc

    rng = np.random.default_rng(3)
    Z = np.vstack([rng.standard_normal((150, 3)) + [2.0, 0.0, 0.0], rng.standard_normal((150, 3)) - [2.0, 0.0, 0.0],
                   rng.standard_normal((200, 3))])
    Z[rng.uniform(size=Z.shape) < 0.1] = np.nan
    y = np.repeat([0, 1], [300, 200])
    own = np.repeat(np.arange(2), 2)[None, :] == y[:, None]
    trace: list[float] = []
    log_joint = cc.log_joint

    def traced(*args):
        out = log_joint(*args)
        logj = np.where(own, out, -np.inf)
        top = logj.max(axis=1, keepdims=True)
        trace.append(float(np.mean(top[:, 0] + np.log(np.exp(logj - top).sum(axis=1)))))
        return out

    tol = cc.EM_TOL
    monkeypatch.setattr(cc, "log_joint", traced)
    monkeypatch.setattr(cc, "EM_TOL", -np.inf)
    cc.class_mixtures(Z, y, 2, 2, 0.1, 0.05)
    gains = np.diff(trace)
    assert len(trace) == cc.EM_ITERATIONS
    monkeypatch.setattr(cc, "EM_TOL", tol)
    steps = int(np.argmax(gains < tol)) + 2  # gains[i] is step i + 2's over step i + 1's
    assert 2 < steps < cc.EM_ITERATIONS  # the tolerance, not the cap, stops EM here
    full = trace[:]
    trace.clear()
    stopped = cc.class_mixtures(Z, y, 2, 2, 0.1, 0.05)
    assert len(trace) == steps and trace == full[:steps]
    monkeypatch.setattr(cc, "EM_ITERATIONS", steps)
    monkeypatch.setattr(cc, "EM_TOL", -np.inf)
    capped = cc.class_mixtures(Z, y, 2, 2, 0.1, 0.05)
    for a, b in zip(stopped, capped):
        np.testing.assert_array_equal(a, b)


def test_a_mixture_classifier_predicts_its_components_summed_and_beats_one_gaussian_on_two_groups():
    """A class made of two groups: two Gaussians per class fit it (lower held-out log loss than one),
    the prediction is ``mixture_weights`` summed by class, and cross-validation (``components=None``)
    picks two."""
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(1)
    n = 1200
    y = (rng.uniform(size=n) < 0.5).astype(int)
    side = np.where(rng.uniform(size=n) < 0.5, -1.0, 1.0)
    X = np.column_stack([np.where(y == 1, 2.5 * side, 0.0), np.zeros(n)]) + rng.standard_normal((n, 2))
    train, test = np.arange(800), np.arange(800, n)
    # unwarped scores: a warp alone already bends one Gaussian part of the way towards two groups
    one = CopulaClassifier(components=1, warp=False).fit(X[train], y[train], kind="binary")
    two = CopulaClassifier(components=2, warp=False).fit(X[train], y[train], kind="binary")
    assert two.means_.shape == (4, 2) and two.component_class_.tolist() == [0, 0, 1, 1]
    p_one, p_two = one.predict_distribution(X[test]), two.predict_distribution(X[test])
    assert log_loss(y[test], p_two) < log_loss(y[test], p_one) - 0.05
    weights = two.mixture_weights(X[test])
    np.testing.assert_allclose(weights[:, :2].sum(axis=1), p_two[:, 0], rtol=1e-12)
    chosen = CopulaClassifier(components=None, pooling=0.0, shrinkage=0.0, warp=False).fit(X[train], y[train],
                                                                                          kind="binary")
    assert chosen.components_ == 2 and set(chosen.cv_log_loss_) == {"0,0,1", "0,0,2"}
    with pytest.raises(DataError, match="components == 0"):
        CopulaClassifier(components=0).fit(X, y, kind="binary")


def test_the_generic_monte_carlo_path_draws_a_mixtures_components_by_their_own_weights(pima_mixture):
    """``method="mc"`` (the generic estimator: rows rebuilt from feature values, through the predictor)
    draws the class mixture's components by ``p(component | x_o)``; its values agree with the
    quadrature of the class-Gaussian estimator."""
    _, spec, model = pima_mixture
    case = {"age": 40.0, "bmi": 31.0, "npreg": 2}
    exact = model.rank(case).summary
    mc = model.rank(case, method="mc", n_draws=4096, seed=0).summary
    for name in ("glu", "ped", "skin"):
        assert exact.loc[name, "method"] == "quadrature" and mc.loc[name, "method"] == "mc"
        assert abs(mc.loc[name, "value"] - exact.loc[name, "value"]) <= 4 * mc.loc[name, "se"] + 1e-4


def test_a_mixture_folder_refuses_edited_components_and_an_old_folder_loads(pima_mixture, pima_model, tmp_path):
    """A saved mixture whose 'component_class' (predictor.json) or whose conditional model's components
    were edited, checksums recomputed, is refused; a folder written before mixtures (no
    'component_class') loads as one component per class and predicts as before."""
    frame, spec, model = pima_mixture
    model.save(tmp_path / "a")
    edit_json(tmp_path / "a", "predictor.json", lambda d: d.update(component_class=[0, 1, 0, 1]))
    with pytest.raises(ModelError, match="component_class"):
        load_model(tmp_path / "a")
    model.save(tmp_path / "b")
    edit_json(tmp_path / "b", "conditional.json", lambda d: d.update(component_class=[0, 1, 1, 1]))
    with pytest.raises(ModelError, match="component"):
        load_model(tmp_path / "b")
    _, _, single = pima_model
    single.save(tmp_path / "old")
    edit_json(tmp_path / "old", "predictor.json", lambda d: (d.pop("component_class"), d.pop("components")))
    edit_json(tmp_path / "old", "conditional.json", lambda d: d.pop("component_class"))
    again = load_model(tmp_path / "old")
    X = spec.encode(frame)[:10]
    np.testing.assert_array_equal(again.predictor.predict_distribution(X), single.predictor.predict_distribution(X))
    assert again.predictor.component_class_.tolist() == [0, 1]


def test_score_warps_are_recovered_and_help_where_the_pooled_score_squeezes_the_classes():
    """fit_warps recovers the sinh-arcsinh warp that made two class Gaussians non-Gaussian (and keeps
    about the identity when none did); on two well-separated classes the warped classifier has a lower
    held-out log loss than the pooled scores as they are; warp=False keeps every score as it was."""
    from sklearn.metrics import log_loss

    from acquire.predictors.copula_classifier import fit_warps, sinh_arcsinh

    rng = np.random.default_rng(0)
    y = (rng.uniform(size=3000) < 0.4).astype(int)
    w = np.where(y == 1, 2.0, -1.0) + rng.standard_normal(y.size)
    for eps, delta in ((0.5, 0.6), (-0.3, 1.5), (0.0, 1.0)):
        z = np.sinh((np.arcsinh(w) + eps) / delta)  # the inverse warp
        np.testing.assert_allclose(fit_warps(z[:, None], y, 2, np.zeros(1, bool))[0], [eps, delta], atol=0.05)
        np.testing.assert_allclose(sinh_arcsinh(z, eps, delta), w, atol=1e-9)
    assert fit_warps(z[:, None], y, 2, np.ones(1, bool)).tolist() == [[0.0, 1.0]]  # kept: the identity
    y = (rng.uniform(size=1500) < 0.5).astype(int)
    X = 3.0 * y[:, None] + rng.standard_normal((y.size, 2))
    train, test = np.arange(1000), np.arange(1000, y.size)
    plain = CopulaClassifier(warp=False).fit(X[train], y[train], kind="binary")
    warped = CopulaClassifier().fit(X[train], y[train], kind="binary")
    assert (warped.warps_[:, 1] < 0.5).all()  # the middle spread out: the classes were squeezed together
    assert log_loss(y[test], warped.predict_distribution(X[test])) < 0.9 * log_loss(
        y[test], plain.predict_distribution(X[test]))
    assert plain.warps_.tolist() == [[0.0, 1.0]] * 2
    latent = np.column_stack([m.latent_point(X[test, j]) for j, m in enumerate(plain.copula_.marginals_)])
    np.testing.assert_array_equal(plain.scores(X[test]), latent)


def test_a_folder_with_edited_warps_is_refused_and_one_without_warps_loads_unwarped(pima, tmp_path):
    """Warps are validated on load (checksums recomputed): a warped discrete feature or a δ <= 0 is
    refused; a folder written before warps (no 'warps') loads with every score as it is."""
    frame, spec = pima
    model = fit_model(frame, spec, predictor="copula", holdout=0, predictor_params={"pooling": 0.5, "shrinkage": 0.2})
    npreg, glu = spec.feature_names.index("npreg"), spec.feature_names.index("glu")
    assert model.predictor.warps_[npreg].tolist() == [0.0, 1.0] and model.predictor.warps_[glu].tolist() != [0.0, 1.0]
    for name, change in (("discrete", lambda d: d["warps"].__setitem__(npreg, [0.3, 1.0])),
                         ("delta", lambda d: d["warps"].__setitem__(glu, [0.0, -1.0])),
                         ("shape", lambda d: d["warps"].pop())):
        model.save(tmp_path / name)
        edit_json(tmp_path / name, "predictor.json", change)
        with pytest.raises(ModelError, match="'warps'"):
            load_model(tmp_path / name)
    old = fit_model(frame, spec, predictor="copula", holdout=0,
                    predictor_params={"pooling": 0.5, "shrinkage": 0.2, "warp": False})
    old.save(tmp_path / "old")
    edit_json(tmp_path / "old", "predictor.json", lambda d: d.pop("warps"))
    again = load_model(tmp_path / "old")
    X = spec.encode(frame)[:10]
    np.testing.assert_array_equal(again.predictor.predict_distribution(X), old.predictor.predict_distribution(X))
    assert again.predictor.warps_.tolist() == [[0.0, 1.0]] * len(spec.features)
