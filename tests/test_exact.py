"""Exact tree estimator: tree arrays vs XGBoost, interval grids vs brute force, exact vs Monte Carlo."""

import numpy as np
import pandas as pd
import pytest

import acquire
from acquire import load_spec
from acquire.estimators.exact_batch import ndtri
from acquire.estimators.exact_batch import threshold_latents
from acquire.estimators.trees import active_paths, single_feature_grid, single_feature_steps, threshold_ranks
from acquire.estimators.value import eig_weighted, evsi_weighted
from acquire.engine.exact_tree import ExactTreeValue


def synthetic_model(kind: str, seed: int = 0, n_bags: int = 1):
    """A small fitted model with a binary, multiclass or continuous target and a discrete feature."""
    rng = np.random.default_rng(seed)
    n = 500
    X = rng.normal(size=(n, 4))
    X[:, 3] = rng.integers(0, 4, size=n)  # an ordinal feature
    score = X[:, 0] + 0.8 * X[:, 1] * (X[:, 3] > 1) + 0.3 * rng.normal(size=n)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    target = {"binary": {"name": "y", "kind": "binary", "classes": [0, 1]},
              "multiclass": {"name": "y", "kind": "multiclass", "classes": [0, 1, 2]},
              "continuous": {"name": "y", "kind": "continuous"}}[kind]
    frame["y"] = {"binary": (score > 0).astype(int), "multiclass": np.digitize(score, [-0.5, 0.5]),
                  "continuous": score}[kind]
    spec = {"target": target, "features": [{"name": c, "type": "continuous", "cost": 1.0} for c in "abc"]
            + [{"name": "d", "type": "ordinal", "cost": 2.0}]}
    if kind != "continuous":
        k = len(target["classes"])
        spec["use_case"] = {"kind": "treatment", "actions": [f"a{i}" for i in range(k)],
                            "utility": (np.eye(k) * 10 - 3).tolist()}
    return acquire.fit_model(frame, load_spec(spec), predictor="xgboost", seed=seed, holdout=0,
                             predictor_params={"n_estimators": 60, "max_depth": 3, "mask_copies": 4, "n_bags": n_bags})


@pytest.fixture(scope="module", params=["binary", "multiclass", "continuous", "binary, a bag of 3", "multiclass, a bag of 3"])
def model(request):
    kind, _, bag = request.param.partition(", a bag of ")
    return synthetic_model(kind, n_bags=int(bag or 1))


def mixture_eig_on_a_grid(w, mean, var, points=1_000_001):
    """``h(Σ w_k N(m_k, v_k)) − Σ w_k ½ log(2πe v_k)`` with the entropy by the trapezoid rule on a dense grid."""
    keep = w > 0
    w, mean, var = w[keep] / w[keep].sum(), mean[keep], var[keep]
    sd = np.sqrt(var)
    y = np.linspace((mean - 14 * sd).min(), (mean + 14 * sd).max(), points)
    dens = np.zeros_like(y)
    for wk, mk, sk in zip(w, mean, sd):
        dens += wk * np.exp(-0.5 * ((y - mk) / sk) ** 2) / (np.sqrt(2 * np.pi) * sk)
    h = -np.trapezoid(np.where(dens > 0, dens * np.log(np.maximum(dens, 1e-300)), 0.0), y)
    return h - np.sum(w * 0.5 * np.log(2 * np.pi * np.e * var))


def reference_exact(model, x, js, objective="eig"):
    """Slow reference: SciPy interval masses, the predictor's own link, one feature at a time."""
    t = model.predictor.tree_arrays()
    now = model.predictor.distribution_from_margins(t.margins(x[None]))[0]
    tests, leaves = active_paths(x, x.size, t.left, t.right, t.feature, t.threshold, t.default_left, t.value,
                                 t.tree_start, t.tree_group)
    out = []
    for j in js:
        breaks, margins = single_feature_grid(x, j, tests, leaves, *t.kernel_args())
        if hasattr(model.conditional, "components_"):
            w = model.conditional.interval_probabilities(x, j, breaks, now)
        else:
            w = model.conditional.interval_probabilities(x, j, breaks)
        d = model.predictor.distribution_from_margins(margins)
        if model.predictor.kind_ == "continuous":
            out.append(mixture_eig_on_a_grid(w, d[:, 0], d[:, 1]))
        elif objective == "evsi":
            out.append(evsi_weighted(w, np.ascontiguousarray(d), np.ascontiguousarray(model.spec.utility)))
        else:
            out.append(eig_weighted(w, np.ascontiguousarray(d)))
    return np.array(out)


def test_ndtri_matches_scipy():
    from scipy.special import ndtri as scipy_ndtri

    q = np.concatenate([np.logspace(-300, -1, 200), np.linspace(0.01, 0.99, 199)])
    np.testing.assert_allclose([ndtri(v) for v in q], scipy_ndtri(q), rtol=1e-12, atol=1e-12)
    # near 1 the input itself is rounded (1 − 1e-16), which bounds any implementation's accuracy
    upper = 1 - np.logspace(-16, -1, 100)
    np.testing.assert_allclose([ndtri(v) for v in upper], scipy_ndtri(upper), rtol=1e-8)
    assert ndtri(0.0) == -np.inf and ndtri(1.0) == np.inf


def test_tree_arrays_reproduce_xgboost_margins(model):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    X[:, 3] = rng.integers(0, 4, size=300)
    X[rng.uniform(size=X.shape) < 0.3] = np.nan
    ours = model.predictor.tree_arrays().margins(X)
    boosters = [model.predictor.booster_] + ([model.predictor.variance_booster_] if model.predictor.variance_booster_ else [])
    theirs = np.column_stack([np.asarray(b.inplace_predict(X, predict_type="margin", missing=np.nan)).reshape(len(X), -1)
                              for b in boosters])
    np.testing.assert_allclose(ours, theirs, atol=2e-5)  # XGBoost sums in float32
    np.testing.assert_allclose(model.predictor.distribution_from_margins(ours), model.predictor.predict_distribution(X),
                               rtol=1e-4, atol=1e-5)


def test_grid_equals_enumeration_over_interval_points(model):
    t = model.predictor.tree_arrays()
    for x in (np.array([np.nan, 0.3, np.nan, 2.0]), np.array([np.nan, np.nan, np.nan, np.nan])):
        tests, leaves = active_paths(x, 4, t.left, t.right, t.feature, t.threshold, t.default_left, t.value,
                                     t.tree_start, t.tree_group)
        for j in np.flatnonzero(np.isnan(x)):
            breaks, margins = single_feature_grid(x, j, tests, leaves, *t.kernel_args())
            assert np.all(np.diff(breaks) > 0) and margins.shape == (breaks.size + 1, t.n_groups)
            # one point inside every interval, including the two unbounded ones
            points = np.concatenate([[breaks[0] - 1.0], 0.5 * (breaks[:-1] + breaks[1:]), [breaks[-1] + 1.0]])
            rows = np.repeat(x[None], points.size, axis=0)
            rows[:, j] = points
            brute = t.margins(rows)  # every tree walked from its root
            np.testing.assert_allclose(margins, brute, rtol=1e-12, atol=1e-12)
            # and at the breakpoints themselves (x = b goes right: interval k+1)
            rows[: breaks.size, j] = breaks
            np.testing.assert_allclose(margins[1:], t.margins(rows[: breaks.size]), rtol=1e-12, atol=1e-12)


def test_rank_steps_reuse_one_workspace_and_leave_it_clean(model):
    """The kernels hand one workspace to every candidate of a case: a grid computed on a reused
    workspace equals one on a fresh workspace (:func:`single_feature_grid`, itself checked against
    brute force above), and the workspace comes back all zero."""
    t = model.predictor.tree_arrays()
    node_rank, thresholds, n_thresholds = threshold_ranks(t.left, t.feature, t.threshold, 4)
    split = t.left >= 0
    np.testing.assert_array_equal(thresholds[t.feature[split], node_rank[split]], t.threshold[split].astype(np.float64))
    assert np.all(node_rank[~split] == -1)
    M = thresholds.shape[1]
    diff, used = np.zeros((M + 2, t.n_groups)), np.zeros(M, dtype=np.bool_)
    longest = int(np.diff(t.tree_start).max()) + 1
    stacks = [np.empty(longest, dtype=np.int64) for _ in range(3)]
    rng = np.random.default_rng(3)
    cases = [np.array([np.nan, 0.3, np.nan, 2.0]), np.full(4, np.nan)]
    for _ in range(20):
        x = rng.normal(size=4)
        x[3] = rng.integers(0, 4)
        x[rng.uniform(size=4) < 0.5] = np.nan
        cases.append(x)
    for x in cases:
        tests, leaves = active_paths(x, 4, t.left, t.right, t.feature, t.threshold, t.default_left, t.value,
                                     t.tree_start, t.tree_group)
        for j in np.flatnonzero(np.isnan(x)):
            breaks, margins = single_feature_grid(x, j, tests, leaves, *t.kernel_args())
            ranks, steps = single_feature_steps(x, j, tests, leaves, *t.kernel_args(), node_rank, n_thresholds[j],
                                                diff, used, *stacks)
            np.testing.assert_array_equal(thresholds[j, ranks], breaks)
            np.testing.assert_array_equal(steps, margins)
            assert not diff.any() and not used.any()  # the workspace is handed back clean


def test_threshold_latents_are_the_copulas_latent_values_at_each_threshold(model):
    """``z[c, j, r] = Φ⁻¹(F_c(b⁻))`` against SciPy and the conditional model's own marginals."""
    from scipy.special import ndtri as scipy_ndtri

    t = model.predictor.tree_arrays()
    _, thresholds, n_thresholds = threshold_ranks(t.left, t.feature, t.threshold, 4)
    c = model.conditional.packed()
    z = threshold_latents(thresholds, n_thresholds, c["values"], c["u"], c["n_knots"], c["discrete"])
    copulas = getattr(model.conditional, "components_", [model.conditional])
    assert z.shape[0] == len(copulas) and n_thresholds.sum() > 10
    for k, copula in enumerate(copulas):
        for j in range(4):
            b = thresholds[j, : n_thresholds[j]]
            with np.errstate(divide="ignore"):
                ref = scipy_ndtri(np.clip(copula.marginals_[j].cdf(b, strict=True), 0.0, 1.0))
            np.testing.assert_allclose(z[k, j, : b.size], ref, rtol=1e-12, atol=1e-12)


def test_exact_kernel_equals_reference(model):
    objectives = ["eig"] if model.predictor.kind_ == "continuous" else ["eig", "evsi"]  # EVSI needs classes
    for objective in objectives:
        exact = ExactTreeValue(model.predictor, model.conditional, objective,
                               None if model.spec.utility is None else model.spec.utility)
        for x in (np.array([np.nan, 0.3, np.nan, 2.0]), np.array([1.2, np.nan, np.nan, np.nan]), np.full(4, np.nan)):
            js = list(np.flatnonzero(np.isnan(x)))
            got = exact.values(x, js)
            ref = reference_exact(model, x, js, objective)
            # a continuous target's reference integrates the mixture entropy on a dense grid (≈1e-10)
            tol = 1e-7 if model.predictor.kind_ == "continuous" else 1e-9
            np.testing.assert_allclose(got, ref, rtol=tol, atol=1e-12 if tol > 1e-9 else 1e-14)  # a zero EVSI: summation order
            assert np.all(got >= 0)
            if objective == "eig":  # (an EVSI is legitimately 0 when no result changes the action)
                assert np.any(got > 1e-4)


def test_exact_agrees_with_monte_carlo(model):
    ranker = model.ranker(n_draws=8192, n_replicates=16, include_groups=False, method="mc")
    exact = ExactTreeValue(model.predictor, model.conditional, "eig")
    for x in (np.array([np.nan, 0.3, np.nan, 2.0]), np.array([1.2, np.nan, np.nan, np.nan])):
        js = list(np.flatnonzero(np.isnan(x)))
        mc, se = ranker.monte_carlo_values(x, [[j] for j in js])
        got = exact.values(x, js)
        assert np.all(np.abs(got - mc) <= 3 * se + 1e-4 + 0.01 * got), (got, mc, se)


@pytest.mark.parametrize("name", ["pima", "breast_cancer"])
def test_exact_agrees_with_monte_carlo_on_bundled_data(name, request):
    frame, spec = request.getfixturevalue(name)
    model = request.getfixturevalue("pima_model") if name == "pima" else acquire.fit_model(frame, spec, predictor="xgboost", seed=0, holdout=0)
    X = spec.encode(frame)
    rng = np.random.default_rng(0)
    exact = ExactTreeValue(model.predictor, model.conditional, "eig")
    ranker = model.ranker(n_draws=4096, n_replicates=16, include_groups=False, method="mc")
    z = []
    for i in rng.choice(len(frame), 3, replace=False):
        x = X[i].copy()
        x[rng.uniform(size=x.size) < 0.6] = np.nan
        js = list(np.flatnonzero(np.isnan(x)))
        mc, se = ranker.monte_carlo_values(x, [[j] for j in js])
        got = exact.values(x, js)
        # Monte Carlo under-samples rare tail intervals, so allow 1e-4 nats on top of 3 SE
        assert np.all(np.abs(got - mc) <= 3 * se + 1e-4), (got, mc, se)
        z.extend((got - mc) / np.maximum(se, 1e-12))
    assert np.mean(np.abs(z) < 3) >= 0.9


def test_engine_uses_exact_for_single_features(pima_model, breast_cancer):
    ranking = pima_model.rank({"age": 40, "bmi": 30.0})
    assert {c.method for c in ranking.candidates} == {"exact"} and all(c.se == 0.0 for c in ranking.candidates)
    mc = pima_model.rank({"age": 40, "bmi": 30.0}, method="mc")
    assert {c.method for c in mc.candidates} == {"mc"}
    exact_values = {c.feature: c.value for c in ranking.candidates}
    for c in mc.candidates:
        assert abs(exact_values[c.feature] - c.value) <= 3 * c.se + 1e-4 + 0.02 * c.value


def test_a_continuous_targets_eig_integrates_the_predictive_mixtures_entropy():
    """y = 3·sign(x0) + 0.5ε: knowing x0 is worth log 2 = 0.693 nats. The moment-matched Gaussian
    gave about 1.8 (an upper bound, once labelled "exact"); the mixture's own entropy gives log 2."""
    import acquire
    from acquire.cli.render import ranking_table

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 2))
    frame = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "y": 3 * np.sign(x[:, 0]) + 0.5 * rng.normal(size=3000)})
    spec = acquire.load_spec({"target": {"name": "y", "kind": "continuous"},
                              "features": [{"name": n, "type": "continuous", "cost": 1.0} for n in ("x0", "x1")],
                              "use_case": {"kind": "risk_prediction", "nats_per_cost": 0.01}})
    # what is left beyond log 2 is the fitted model's, not the integration's: at 3,000 rows the fitted step
    # at x0 = 0 is smooth enough to give 0.722 with one ensemble and 0.729 with the default bag of 5
    # (averaging smooths the step); at 20,000 rows both give 0.708. One ensemble keeps this test quick.
    model = acquire.fit_model(frame, spec, predictor="xgboost", seed=0, holdout=0, predictor_params={"n_bags": 1})
    ranking = model.rank({})
    x0 = next(c for c in ranking.candidates if c.feature == "x0")
    assert x0.method == "quadrature" and abs(x0.value - np.log(2)) <= 0.05 * np.log(2), x0.value  # within 5 %
    x1 = next(c for c in ranking.candidates if c.feature == "x1")
    assert x1.value < 0.05  # noise: worth (almost) nothing
    assert "quadrature" in ranking_table(ranking, "case")
    mc = model.rank({}, method="mc")
    assert {c.method for c in mc.candidates} == {"mc"}
    mc_x0 = next(c for c in mc.candidates if c.feature == "x0")
    assert abs(mc_x0.value - x0.value) <= 3 * mc_x0.se + 0.02


def test_gaussian_mixture_eig_against_a_dense_grid():
    from acquire.estimators.value import eig_gaussian_mixture, eig_gaussian_weighted

    rng = np.random.default_rng(4)
    for K in (1, 2, 5, 40):
        w = rng.dirichlet(np.ones(K))
        mean, var = rng.normal(scale=3, size=K), rng.uniform(0.05, 2.0, size=K)
        y = np.linspace(mean.min() - 12, mean.max() + 12, 400_001)
        dens = (w[:, None] * np.exp(-0.5 * (y - mean[:, None]) ** 2 / var[:, None])
                / np.sqrt(2 * np.pi * var[:, None])).sum(axis=0)
        h = -np.trapezoid(np.where(dens > 0, dens * np.log(np.maximum(dens, 1e-300)), 0.0), y)
        truth = h - np.sum(w * 0.5 * np.log(2 * np.pi * np.e * var))
        value, change = eig_gaussian_mixture(w, mean, var, 1e-6)
        assert value == pytest.approx(truth, rel=1e-6, abs=1e-9), K
        assert change <= max(1e-6 * value, 1e-12)
        assert value <= eig_gaussian_weighted(w, mean, var) + 1e-12  # the moment-matched value bounds it
