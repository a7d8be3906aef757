"""The chunked Monte Carlo estimator: the same numbers as valuing each case alone from its joint
draws, whatever the chunk; its kernels against their references."""

from __future__ import annotations

import numpy as np
import pytest

import acquire
from acquire import datasets
from acquire.engine.monte_carlo import MonteCarloEstimator
from acquire.estimators.conditioning import conditional_factors
from acquire.estimators.gaussian import condition_gaussian, stable_cholesky
from acquire.estimators.value import eig_classes, eig_gaussian, evsi_classes, mean_and_se, values_from_counts


def test_conditional_factors_match_gaussian_conditioning_case_by_case():
    rng = np.random.default_rng(0)
    p = 7
    A = rng.normal(size=(p, p))
    corr = A @ A.T + p * np.eye(p)
    d = np.sqrt(np.diag(corr))
    corr = corr / d[:, None] / d[None, :]
    Z = rng.normal(size=(40, p))
    Z[rng.uniform(size=Z.shape) < 0.5] = np.nan
    Z[0] = np.nan  # nothing observed
    Z[1, :] = rng.normal(size=p)  # nothing missing
    missing, mu, L = conditional_factors(corr, Z)
    for i in range(len(Z)):
        obs, mis = np.flatnonzero(~np.isnan(Z[i])), np.flatnonzero(np.isnan(Z[i]))
        m = mis.size
        assert list(missing[i, :m]) == list(mis) and (missing[i, m:] == -1).all()
        ref_mu, ref_cov = condition_gaussian(np.zeros(p), corr, obs, Z[i, obs])
        np.testing.assert_allclose(mu[i, :m], ref_mu, atol=1e-12)
        np.testing.assert_allclose(L[i, :m, :m], stable_cholesky(ref_cov), atol=1e-12)
        np.testing.assert_allclose(L[i, :m, :m] @ L[i, :m, :m].T, ref_cov, atol=1e-12)


def test_values_from_counts_equal_scoring_every_draw():
    rng = np.random.default_rng(1)
    n, R, N, C, K = 3, 4, 64, 5, 3
    P = rng.dirichlet(np.ones(K), size=(n, C))
    outcome = rng.integers(0, C, size=(n, R, N))
    counts = np.stack([[np.bincount(outcome[i, r], minlength=C) for r in range(R)] for i in range(n)]).astype(float)
    per_draw = np.stack([P[i][outcome[i]] for i in range(n)])  # (n, R, N, K): every draw scored
    U = rng.normal(size=(2, K))
    for objective, reference in ((0, lambda x: eig_classes(x)), (1, lambda x: evsi_classes(x, U))):
        reps, pooled = values_from_counts(P, counts, U, objective)
        np.testing.assert_allclose(reps, reference(per_draw), atol=1e-12)
        np.testing.assert_allclose(pooled, reference(per_draw.reshape(n, 1, R * N, K))[:, 0], atol=1e-12)
    G = np.stack([rng.normal(size=(n, C)), rng.uniform(0.5, 2, size=(n, C))], axis=-1)  # mean, variance
    reps, _ = values_from_counts(G, counts, np.zeros((1, 1)), 2)
    mean = np.stack([G[i, :, 0][outcome[i]] for i in range(n)])
    var = np.stack([G[i, :, 1][outcome[i]] for i in range(n)])
    np.testing.assert_allclose(reps, eig_gaussian(mean, var), atol=1e-12)


@pytest.fixture(scope="module", params=[("icu", "xgboost"), ("pbc", "copula")])
def panel_model(request):
    name, predictor = request.param
    frame, spec = datasets.load(name)
    model = acquire.fit_model(frame, spec, seed=0, holdout=0, predictor=predictor)
    X = spec.encode(frame.drop(columns=[spec.target_name]).head(24))
    X[np.random.default_rng(2).uniform(size=X.shape) < 0.5] = np.nan
    return model, X


def _reference(mc: MonteCarloEstimator, x: np.ndarray, cols: list[int]) -> tuple[float, float]:
    """A candidate's value from the case's own joint draws, every draw scored (the definition)."""
    engine = mc.engine
    R, N = engine.n_replicates, engine.n_draws // engine.n_replicates
    joint = mc.joint_draws(x)
    rows = np.broadcast_to(x, joint.shape).copy()
    rows[..., cols] = joint[..., cols]
    pred = engine.predictor.predict_distribution(rows.reshape(-1, x.size)).reshape(1, R, N, -1)
    return float(mc.kernel(pred.reshape(1, 1, R * N, -1))[0, 0]), float(mean_and_se(mc.kernel(pred))[1][0])


@pytest.mark.parametrize("objective", ["eig", "evsi"])
def test_chunked_values_equal_each_case_valued_from_its_own_draws(panel_model, objective):
    model, X = panel_model
    spec = model.spec
    units = spec.units(include_groups=True)
    columns = [spec.index_of(list(u.members)) for u in units]
    open_ = np.isnan(X)
    cells = np.array([[bool(open_[i, c].any()) for c in columns] for i in range(len(X))])
    mc = MonteCarloEstimator(model.ranker(objective=objective, seed=5))
    whole = mc.estimate(X, columns, cells, open_)
    by_halves = [mc.estimate(X[s], columns, cells[s], open_[s]) for s in (slice(0, 11), slice(11, None))]
    np.testing.assert_array_equal(np.vstack([h.value for h in by_halves]), whole.value)  # chunking changes nothing
    discrete_sets = 0
    for i, u in zip(*np.nonzero(cells)):
        cols = [c for c in columns[u] if open_[i, c]]
        value, se = _reference(mc, X[i], cols)
        assert whole.value[i, u] == pytest.approx(value, rel=1e-9, abs=1e-9), (i, units[u].name)  # EVSI: utilities ~1e3
        assert whole.se[i, u] == pytest.approx(se, rel=1e-6, abs=1e-12)
        discrete_sets += len(cols) > 1 and all(spec.features[c].levels for c in cols)
    assert discrete_sets > 0  # the outcome-count path was exercised


def test_outcome_counts_kernel_against_numpy():
    from scipy.special import ndtr

    from acquire.estimators.conditioning import outcome_counts

    rng = np.random.default_rng(3)
    R, N, C, d = 4, 32, 2, 2
    sizes = np.array([2, 3])
    m_of = np.array([3, 1, 2])
    normals = rng.normal(size=(3, R * N, 1 + 3))  # one class column, then up to 3 latent columns
    which = np.array([0, 1, 2])
    mu = rng.normal(size=(C, 3, d))
    L = rng.normal(size=(C, 3, d, 3))
    u = [np.array([0.4, 1.0]), np.array([0.2, 0.7, 1.0])]  # each feature's step marginal
    cuts = np.full((C, d, 3), np.inf)
    codes = np.zeros((C, d, 4), dtype=np.int64)
    for k in range(C):
        for a in range(d):
            v = u[a].size
            cuts[k, a, :v] = np.array([-0.25, 0.52, 6.0])[:v] + 0.1 * k
            codes[k, a, :v] = np.arange(v)
            codes[k, a, v:] = v - 1
    cum = np.array([[0.3, 1.0], [0.9, 1.0], [0.5, 1.0]])
    from scipy.special import ndtri

    got = outcome_counts(normals, which, m_of, ndtri(cum), mu, L, cuts, codes, sizes, R)
    want = np.zeros((3, R, 6))
    for i in range(3):
        e = normals[which[i]]
        klass = np.minimum(np.searchsorted(cum[i], ndtr(e[:, 0]), side="right"), C - 1)
        for t in range(R * N):
            k = klass[t]
            z = mu[k, i] + L[k, i, :, : m_of[i]] @ e[t, 1 : 1 + m_of[i]]
            levels = [min(int(np.searchsorted(cuts[k, a], z[a], side="left")), sizes[a] - 1) for a in range(d)]
            want[i, t // N, levels[0] * 3 + levels[1]] += 1
    np.testing.assert_array_equal(got, want)
    assert got.sum() == 3 * R * N


def test_forward_solve_matches_scipy():
    from scipy.linalg import solve_triangular

    from acquire.estimators.conditioning import forward_solve

    rng = np.random.default_rng(4)
    a = rng.normal(size=(6, 6))
    L = np.linalg.cholesky(a @ a.T + np.eye(6))
    B = rng.normal(size=(6, 3))
    np.testing.assert_allclose(forward_solve(L, B), solve_triangular(L, B, lower=True), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(forward_solve(L + np.triu(np.ones((6, 6)), 1), B), forward_solve(L, B))  # lower only
    assert forward_solve(np.zeros((0, 0)), np.zeros((0, 2))).shape == (0, 2)
