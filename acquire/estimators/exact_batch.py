"""Exact single-feature value of information for many cases in one numba call (parallel over cases).

Per case: the current class probabilities from the trees, the latent Gaussian conditional of
every missing feature under each class's copula, then for each candidate feature the tree grid
(:func:`acquire.estimators.trees.single_feature_steps`, in threshold ranks), the interval masses

    w_k = Σ_c π_c [Φ((Φ⁻¹(F_c(b_k⁻)) − μ_c) / σ_c) − Φ((Φ⁻¹(F_c(b_{k−1}⁻)) − μ_c) / σ_c)]

and the value kernel over ``(w_k, p_k)``. ``Φ⁻¹(F_c(b⁻))`` depends only on the threshold ``b``: it is
tabulated once per model (:func:`threshold_latents`), so a case pays one ``Φ`` per breakpoint and copula.
The arrays describing the conditional model are packed by :meth:`acquire.conditional.GaussianCopula.packed`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from acquire.estimators.conditioning import forward_solve
from acquire.estimators.trees import active_paths, single_feature_steps
from acquire.estimators.value import eig_gaussian_mixture, eig_weighted, evsi_weighted

__all__ = ["exact_gaussian_batch", "exact_gaussian_serial", "exact_values_batch", "exact_values_serial", "ndtri",
           "threshold_latents", "LINK_SIGMOID", "LINK_SOFTMAX", "LINK_GAUSSIAN", "OBJ_EIG", "OBJ_EVSI"]

LINK_SIGMOID, LINK_SOFTMAX, LINK_GAUSSIAN = 0, 1, 2
OBJ_EIG, OBJ_EVSI = 0, 1
_U_EPS = 1e-9
_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


@numba.njit(cache=True)
def _ndtr(x: float) -> float:
    return 0.5 * math.erfc(-x / _SQRT2)


@numba.njit(cache=True)
def ndtri(p: float) -> float:
    """Inverse standard normal CDF (Acklam's rational approximation + one Halley step; ~1e-15)."""
    if p <= 0.0:
        return -np.inf
    if p >= 1.0:
        return np.inf
    if p < 0.02425:
        q = math.sqrt(-2.0 * math.log(p))
        x = (((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838e+00) * q
               - 2.549732539343734e+00) * q + 4.374664141464968e+00) * q + 2.938163982698783e+00) / \
            ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e+00) * q
              + 3.754408661907416e+00) * q + 1.0)
    elif p > 1.0 - 0.02425:
        q = math.sqrt(-2.0 * math.log(1.0 - p))
        x = -(((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838e+00) * q
                - 2.549732539343734e+00) * q + 4.374664141464968e+00) * q + 2.938163982698783e+00) / \
            ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e+00) * q
              + 3.754408661907416e+00) * q + 1.0)
    else:
        q = p - 0.5
        r = q * q
        x = (((((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r - 2.759285104469687e+02) * r
               + 1.383577518672690e+02) * r - 3.066479806614716e+01) * r + 2.506628277459239e+00) * q / \
            (((((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r - 1.556989798598866e+02) * r
               + 6.680131188771972e+01) * r - 1.328068155288572e+01) * r + 1.0)
    e = 0.5 * math.erfc(-x / _SQRT2) - p
    u = e * _SQRT2PI * math.exp(0.5 * x * x)
    return x - u / (1.0 + 0.5 * x * u)


@numba.njit(cache=True)
def _interp(t, xp, fp, n, left, right):
    if t < xp[0]:
        return left
    if t > xp[n - 1]:
        return right
    k = np.searchsorted(xp[:n], t, side="right") - 1
    if k >= n - 1:
        return fp[n - 1]
    span = xp[k + 1] - xp[k]
    return fp[k] + (fp[k + 1] - fp[k]) * (t - xp[k]) / span if span > 0 else fp[k]


@numba.njit(cache=True)
def _cdf_strict(t, values, u, n, discrete):
    """``P(X < t)`` of an empirical marginal (see ``_Marginal.cdf(strict=True)``)."""
    if discrete:
        k = np.searchsorted(values[:n], t, side="left") - 1
        return 0.0 if k < 0 else u[k]
    if t <= values[0]:  # the end knots are atoms of the draws (see _Marginal.cdf)
        return 0.0
    if t > values[n - 1]:
        return 1.0
    return _interp(t, values, u, n, 0.0, 1.0)


@numba.njit(cache=True)
def _latent_point(v, values, u, n, discrete):
    """Where an observed value sits in the latent space (see ``_Marginal.latent_point``)."""
    if not discrete:
        q = _interp(v, values, u, n, u[0], u[n - 1])
        return ndtri(min(max(q, _U_EPS), 1.0 - _U_EPS))
    k = np.searchsorted(values[:n], v, side="right") - 1
    k = min(max(k, 0), n - 1)
    hi = min(max(u[k], _U_EPS), 1.0 - _U_EPS)
    lo = _U_EPS if k == 0 else min(max(u[k - 1], _U_EPS), 1.0 - _U_EPS)
    a, b = ndtri(lo), ndtri(hi)
    pdf_a = math.exp(-0.5 * a * a) / _SQRT2PI
    pdf_b = math.exp(-0.5 * b * b) / _SQRT2PI
    return (pdf_a - pdf_b) / max(hi - lo, 1e-300)


@numba.njit(cache=True)
def _link(margins, link):
    K = margins.shape[0]
    if link == LINK_SIGMOID:
        out = np.empty((K, 2))
        for k in range(K):
            p = 1.0 / (1.0 + math.exp(-margins[k, 0]))
            out[k, 0] = 1.0 - p
            out[k, 1] = p
        return out
    if link == LINK_SOFTMAX:
        out = np.empty(margins.shape)
        for k in range(K):
            m = margins[k].max()
            s = 0.0
            for g in range(margins.shape[1]):
                out[k, g] = math.exp(margins[k, g] - m)
                s += out[k, g]
            out[k] /= s
        return out
    out = np.empty((K, 2))
    for k in range(K):
        out[k, 0] = margins[k, 0]
        out[k, 1] = math.exp(margins[k, 1])
    return out


@numba.njit(cache=True)
def _latent_conditional(x, corr, values, u, n_knots, discrete):
    """Latent conditional mean and sd of every feature given the observed entries of x (sd 0 if observed)."""
    p = x.size
    n_obs = 0
    for j in range(p):
        if not np.isnan(x[j]):
            n_obs += 1
    obs = np.empty(n_obs, dtype=np.int64)
    z = np.empty(n_obs)
    k = 0
    for j in range(p):
        if not np.isnan(x[j]):
            obs[k] = j
            z[k] = _latent_point(x[j], values[j], u[j], n_knots[j], discrete[j])
            k += 1
    mu = np.zeros(p)
    sd = np.ones(p)
    if n_obs == 0:
        return mu, sd
    s_oo = np.empty((n_obs, n_obs))
    for a in range(n_obs):
        for b in range(n_obs):
            s_oo[a, b] = corr[obs[a], obs[b]]
    chol = np.linalg.cholesky(s_oo)
    y = forward_solve(chol, z.reshape(n_obs, 1))  # L y = z
    s_oj = np.empty((n_obs, p))
    for a in range(n_obs):
        for j in range(p):
            s_oj[a, j] = corr[obs[a], j]
    cols = forward_solve(chol, s_oj)  # L c_j = Σ_o,j, every column j at once
    for j in range(p):
        if not np.isnan(x[j]):
            sd[j] = 0.0
            continue
        m = 0.0
        v = 1.0
        for a in range(n_obs):
            m += cols[a, j] * y[a, 0]
            v -= cols[a, j] * cols[a, j]
        mu[j] = m
        sd[j] = math.sqrt(max(v, 1e-12))
    return mu, sd


@numba.njit(cache=True)
def _case_state(x, left, right, feature, threshold, default_left, value, tree_start, tree_group, base_margin, link,
                corr, values, u, n_knots, discrete):
    """What every candidate of case ``x`` shares: each tree's active-path tests and leaf
    (:func:`active_paths`), the class weights of the copulas (the current prediction; one copula:
    weight 1) and each copula's latent conditional mean and sd of every feature."""
    C = corr.shape[0]
    p = x.size
    tests, leaf_value = active_paths(x, p, left, right, feature, threshold, default_left, value, tree_start, tree_group)
    weights = np.ones(C)
    if C > 1:
        now = base_margin.copy()
        for t in range(tree_group.size):
            now[tree_group[t]] += leaf_value[t]
        dist = _link(now.reshape(1, now.size), link)[0]
        for c in range(C):
            weights[c] = dist[c]
    mus = np.empty((C, p))
    sds = np.empty((C, p))
    for c in range(C):
        mu, sd = _latent_conditional(x, corr[c], values[c], u[c], n_knots[c], discrete[c])
        mus[c] = mu
        sds[c] = sd
    return tests, leaf_value, weights, mus, sds


@numba.njit(cache=True)
def threshold_latents(thresholds, n_thresholds, values, u, n_knots, discrete):
    """Every split threshold's latent value under every copula, ``z[c, j, r] = Φ⁻¹(F_c(b⁻))`` for
    ``b = thresholds[j, r]`` (−∞ where ``F_c(b⁻) = 0``, +∞ where it is 1): all the interval masses
    need of a threshold that does not depend on the case, computed once per model (C, p, M)."""
    C, p, M = values.shape[0], thresholds.shape[0], thresholds.shape[1]
    z = np.full((C, p, M), np.inf)
    for c in range(C):
        for j in range(p):
            for r in range(n_thresholds[j]):
                q = _cdf_strict(thresholds[j, r], values[c, j], u[c, j], n_knots[c, j], discrete[c, j])
                z[c, j, r] = -np.inf if q <= 0.0 else (np.inf if q >= 1.0 else ndtri(q))
    return z


@numba.njit(cache=True)
def _workspace(tree_start, n_groups, latent):
    """Per-case scratch arrays of :func:`acquire.estimators.trees.single_feature_steps`."""
    M = latent.shape[2]
    longest = 1
    for t in range(tree_start.size - 1):
        longest = max(longest, tree_start[t + 1] - tree_start[t])
    return (np.zeros((M + 2, n_groups)), np.zeros(M, dtype=np.bool_), np.empty(longest + 1, dtype=np.int64),
            np.empty(longest + 1, dtype=np.int64), np.empty(longest + 1, dtype=np.int64))


@numba.njit(cache=True, inline="always")  # inlined: a call per candidate cost about 5 % of a case
def _intervals(x, j, tests, leaf_value, weights, mus, sds, left, right, feature, threshold, default_left, value,
               tree_start, tree_group, base_margin, node_rank, n_thresholds, latent, work):
    """Candidate ``j``'s intervals: their masses ``w`` (K+1,) (the formula in the module docstring, each
    threshold's ``Φ⁻¹(F_c(b⁻))`` read from ``latent``) and the ensemble's margins on each (K+1, G)."""
    diff, used, stack_node, stack_lo, stack_hi = work
    ranks, margins = single_feature_steps(x, j, tests, leaf_value, left, right, feature, threshold, default_left,
                                          value, tree_start, tree_group, base_margin, node_rank, n_thresholds[j],
                                          diff, used, stack_node, stack_lo, stack_hi)
    K = ranks.size
    w = np.zeros(K + 1)
    for c in range(weights.size):
        prev = 0.0
        for k in range(K + 1):
            below = _ndtr((latent[c, j, ranks[k]] - mus[c, j]) / sds[c, j]) if k < K else 1.0
            w[k] += weights[c] * (below - prev)
            prev = below
    return w, margins


@numba.njit(cache=True)
def _classes_one_case(x, candidate, left, right, feature, threshold, default_left, value, tree_start, tree_group,
                      base_margin, link, objective, U, corr, values, u, n_knots, discrete, node_rank, n_thresholds,
                      latent, out):
    """A class target's exact EIG (or EVSI) of every candidate of case ``x`` into ``out``; returns the
    intervals valued."""
    tests, leaf_value, weights, mus, sds = _case_state(x, left, right, feature, threshold, default_left, value,
                                                       tree_start, tree_group, base_margin, link, corr, values, u,
                                                       n_knots, discrete)
    work = _workspace(tree_start, base_margin.size, latent)
    n_intervals = 0
    for j in range(x.size):
        if not candidate[j] or not np.isnan(x[j]):
            continue
        w, margins = _intervals(x, j, tests, leaf_value, weights, mus, sds, left, right, feature, threshold,
                                default_left, value, tree_start, tree_group, base_margin, node_rank, n_thresholds,
                                latent, work)
        dist = _link(margins, link)
        out[j] = evsi_weighted(w, dist, U) if objective == OBJ_EVSI else eig_weighted(w, dist)
        n_intervals += w.size
    return n_intervals


@numba.njit(cache=True)
def _gaussian_one_case(x, candidate, left, right, feature, threshold, default_left, value, tree_start, tree_group,
                       base_margin, corr, values, u, n_knots, discrete, node_rank, n_thresholds, latent, out,
                       err):
    """A continuous target's EIG of every candidate of case ``x`` into ``out``: the predictive mixture's
    entropy by quadrature, rule doubled until two agree to 1e-6 relative, its last change into ``err``;
    returns the intervals valued."""
    tests, leaf_value, weights, mus, sds = _case_state(x, left, right, feature, threshold, default_left, value,
                                                       tree_start, tree_group, base_margin, LINK_GAUSSIAN, corr,
                                                       values, u, n_knots, discrete)
    work = _workspace(tree_start, base_margin.size, latent)
    n_intervals = 0
    for j in range(x.size):
        if not candidate[j] or not np.isnan(x[j]):
            continue
        w, margins = _intervals(x, j, tests, leaf_value, weights, mus, sds, left, right, feature, threshold,
                                default_left, value, tree_start, tree_group, base_margin, node_rank, n_thresholds,
                                latent, work)
        dist = _link(margins, LINK_GAUSSIAN)
        out[j], err[j] = eig_gaussian_mixture(w, np.ascontiguousarray(dist[:, 0]), np.ascontiguousarray(dist[:, 1]),
                                              1e-6)
        n_intervals += w.size
    return n_intervals


# Four entry points, each compiled only when used: a class target never compiles the mixture quadrature
# (about 2.5 s of a cold compile), one case never compiles the threaded loop. Same arguments, same
# returns: values (n, p; NaN where not asked), intervals valued per case (n,) and the quadrature's last
# change per value (n, p; 0 for a class target). (Four functions, not one compiled four ways: numba's
# on-disk cache keys on the function and its argument types, not on a flag's value.)

@numba.njit(cache=True, parallel=True)
def exact_values_batch(X, candidates, left, right, feature, threshold, default_left, value, tree_start, tree_group,
                       base_margin, link, objective, U, corr, values, u, n_knots, discrete, node_rank,
                       n_thresholds, latent):
    """A class target's exact values of every candidate feature (``candidates`` (n, p) marks them),
    parallel over cases."""
    out, counts, err = np.full(X.shape, np.nan), np.zeros(X.shape[0], dtype=np.int64), np.zeros(X.shape)
    for i in numba.prange(X.shape[0]):
        counts[i] = _classes_one_case(X[i], candidates[i], left, right, feature, threshold, default_left, value,
                                      tree_start, tree_group, base_margin, link, objective, U, corr, values, u,
                                      n_knots, discrete, node_rank, n_thresholds, latent, out[i])
    return out, counts, err


@numba.njit(cache=True)
def exact_values_serial(X, candidates, left, right, feature, threshold, default_left, value, tree_start, tree_group,
                        base_margin, link, objective, U, corr, values, u, n_knots, discrete, node_rank,
                        n_thresholds, latent):
    """:func:`exact_values_batch` on one thread: compiles much faster, and serves single cases (the CLI)."""
    out, counts, err = np.full(X.shape, np.nan), np.zeros(X.shape[0], dtype=np.int64), np.zeros(X.shape)
    for i in range(X.shape[0]):
        counts[i] = _classes_one_case(X[i], candidates[i], left, right, feature, threshold, default_left, value,
                                      tree_start, tree_group, base_margin, link, objective, U, corr, values, u,
                                      n_knots, discrete, node_rank, n_thresholds, latent, out[i])
    return out, counts, err


@numba.njit(cache=True, parallel=True)
def exact_gaussian_batch(X, candidates, left, right, feature, threshold, default_left, value, tree_start, tree_group,
                         base_margin, link, objective, U, corr, values, u, n_knots, discrete, node_rank,
                         n_thresholds, latent):
    """:func:`exact_values_batch` for a continuous target (``link``, ``objective`` and ``U`` unused)."""
    out, counts, err = np.full(X.shape, np.nan), np.zeros(X.shape[0], dtype=np.int64), np.zeros(X.shape)
    for i in numba.prange(X.shape[0]):
        counts[i] = _gaussian_one_case(X[i], candidates[i], left, right, feature, threshold, default_left, value,
                                       tree_start, tree_group, base_margin, corr, values, u, n_knots, discrete,
                                       node_rank, n_thresholds, latent, out[i], err[i])
    return out, counts, err


@numba.njit(cache=True)
def exact_gaussian_serial(X, candidates, left, right, feature, threshold, default_left, value, tree_start, tree_group,
                          base_margin, link, objective, U, corr, values, u, n_knots, discrete, node_rank,
                          n_thresholds, latent):
    """:func:`exact_gaussian_batch` on one thread."""
    out, counts, err = np.full(X.shape, np.nan), np.zeros(X.shape[0], dtype=np.int64), np.zeros(X.shape)
    for i in range(X.shape[0]):
        counts[i] = _gaussian_one_case(X[i], candidates[i], left, right, feature, threshold, default_left, value,
                                       tree_start, tree_group, base_margin, corr, values, u, n_knots, discrete,
                                       node_rank, n_thresholds, latent, out[i], err[i])
    return out, counts, err
