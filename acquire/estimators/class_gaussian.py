"""Value of one test under class-conditional Gaussians (numba; arrays in, arrays out).

Given the current class probabilities ``w_y = p(y | x_o)`` and, per class, the test's latent score
``z | x_o, y ~ N(m_y, s_y²)``, a result ``z`` updates the prediction to

    p(y | x_o, z) = w_y N(z; m_y, s_y²) / Σ_y' w_y' N(z; m_y', s_y'²),

and ``z`` itself follows the mixture ``f(z) = Σ_y w_y N(z; m_y, s_y²)``. The score is clipped to the
marginal's end knots ``[a, b]`` (beyond them the result is the end value), so the results are the
two end atoms, with masses ``Σ w_y Φ((a − m_y)/s_y)`` and ``Σ w_y Φ((m_y − b)/s_y)``, and the
interior ``(a, b)`` with density ``f``. The value is that of :mod:`acquire.estimators.value` over
these weighted results (``EIG = H(p̄) − E H(p(y | x_o, z))``, or EVSI).

A class may be a mixture of Gaussian components: then the kernels run over components (``w``, ``m``,
``s``, the log weights and means are per component) and ``owner[c]``, the class of component c,
sums each prediction into classes before it is valued (:func:`class_probabilities`). With one
component per class ``owner`` is ``0, 1, …, K − 1`` and nothing is summed.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from acquire.estimators.conditioning import _cholesky_in_place, forward_solve
from acquire.estimators.value import eig_weighted, evsi_weighted

__all__ = ["class_probabilities", "class_score_conditionals", "coalition_values", "gauss_legendre_table", "mixture_rule",
           "score_draws", "set_values", "single_test_value", "single_test_values", "weighted_class_value"]

_CUTS = np.array([-8.0, -4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0, 8.0])
_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def gauss_legendre_table(counts: tuple[int, ...] = (4, 8, 16, 32, 64, 128)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes and weights of the Gauss–Legendre rules with ``counts`` nodes on [−1, 1], padded into
    arrays (R, max(counts)), and the counts (R,)."""
    from scipy.special import roots_legendre

    width = max(counts)
    nodes, weights = np.zeros((len(counts), width)), np.zeros((len(counts), width))
    for r, n in enumerate(counts):
        nodes[r, :n], weights[r, :n] = roots_legendre(n)
    return nodes, weights, np.asarray(counts, dtype=np.int64)


@numba.njit(cache=True)
def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / _SQRT2)


@numba.njit(cache=True)
def _posterior(z: float, w: np.ndarray, m: np.ndarray, s: np.ndarray, out: np.ndarray) -> float:
    """Fill ``out`` with ``p(y | z)`` (log-sum-exp); return ``log f(z)``, the mixture's log density."""
    K = w.size
    top = -np.inf
    for k in range(K):
        t = (z - m[k]) / s[k]
        out[k] = (math.log(w[k]) if w[k] > 0.0 else -np.inf) - 0.5 * t * t - math.log(s[k]) - _LOG_SQRT_2PI
        if out[k] > top:
            top = out[k]
    total = 0.0
    for k in range(K):
        out[k] = math.exp(out[k] - top)
        total += out[k]
    for k in range(K):
        out[k] /= total
    return top + math.log(total)


@numba.njit(cache=True)
def mixture_rule(w: np.ndarray, m: np.ndarray, s: np.ndarray, a: float, b: float,
                 t: np.ndarray, wt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted results ``(W (N,), P (N, K))`` of the test: the two end atoms, then ``len(t)``
    Gauss–Legendre nodes on each piece of ``(a, b)`` cut at ``m_y + s_y·{0, ±1, ±2, ±4, ±8}``.

    ``W`` at a node is ``(piece width / 2) · wt · f(z)``; ``Σ W = 1`` up to the rule's error.
    """
    K = w.size
    cuts = [a, b]
    for k in range(K):
        for c in _CUTS:
            v = m[k] + s[k] * c
            if a < v < b:
                cuts.append(v)
    edges = np.sort(np.array(cuts))
    n = t.size
    N = 2 + (edges.size - 1) * n
    W = np.empty(N)
    P = np.empty((N, K))
    below, above = 0.0, 0.0
    for k in range(K):
        below += w[k] * _normal_cdf((a - m[k]) / s[k])
        above += w[k] * _normal_cdf((m[k] - b) / s[k])
    _posterior(a, w, m, s, P[0])
    _posterior(b, w, m, s, P[1])
    W[0], W[1] = below, above
    r = 2
    for e in range(edges.size - 1):
        half = 0.5 * (edges[e + 1] - edges[e])
        mid = 0.5 * (edges[e + 1] + edges[e])
        for i in range(n):
            z = mid + half * t[i]
            W[r] = half * wt[i] * math.exp(_posterior(z, w, m, s, P[r]))
            r += 1
    return W, P


@numba.njit(cache=True)
def class_probabilities(P: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """``p(y | …) = Σ_{c : owner[c] = y} p(c | …)``: rows of component probabilities (N, C) summed
    into their classes (N, K); unchanged (not copied) when every class is one component."""
    N, C = P.shape
    K = 0
    for c in range(C):
        K = max(K, owner[c] + 1)
    if K == C:
        return P
    out = np.zeros((N, K))
    for d in range(N):
        for c in range(C):
            out[d, owner[c]] += P[d, c]
    return out


@numba.njit(cache=True)
def weighted_class_value(W: np.ndarray, P: np.ndarray, owner: np.ndarray, U: np.ndarray, evsi: bool) -> float:
    """The value of a test with outcomes weighted ``W`` (R,) (normalized here) and component predictions
    ``P`` (R, C) after each: ``P`` summed into classes (:func:`class_probabilities`), then
    ``EIG = H(Σ_r W_r p_r) − Σ_r W_r H(p_r)``, or the EVSI under utilities ``U`` (:mod:`acquire.estimators.value`)."""
    W = W / W.sum()
    P = class_probabilities(P, owner)
    if evsi:
        return evsi_weighted(W, P, U)
    return eig_weighted(W, P)


@numba.njit(cache=True)
def single_test_value(w: np.ndarray, m: np.ndarray, s: np.ndarray, a: float, b: float, nodes: np.ndarray,
                      weights: np.ndarray, counts: np.ndarray, owner: np.ndarray, U: np.ndarray, evsi: bool,
                      rtol: float) -> tuple[float, float]:
    """``(value, change)``: :func:`mixture_rule` with ``counts[0]``, ``counts[1]``, … nodes per piece until
    two successive values differ by at most ``rtol`` relative (or the last rule); ``change`` is that
    last difference, an estimate of the coarser rule's error. ``owner``: each component's class."""
    W, P = mixture_rule(w, m, s, a, b, nodes[0, :counts[0]], weights[0, :counts[0]])
    previous = weighted_class_value(W, P, owner, U, evsi)
    current, change = previous, 0.0
    for r in range(1, counts.size):
        W, P = mixture_rule(w, m, s, a, b, nodes[r, :counts[r]], weights[r, :counts[r]])
        current = weighted_class_value(W, P, owner, U, evsi)
        change = abs(current - previous)
        if change <= rtol * abs(current) + 1e-15:
            break
        previous = current
    return current, change


@numba.njit(cache=True)
def single_test_values(w: np.ndarray, m: np.ndarray, s: np.ndarray, columns: np.ndarray, a: np.ndarray, b: np.ndarray,
                       nodes: np.ndarray, weights: np.ndarray, counts: np.ndarray, owner: np.ndarray, U: np.ndarray,
                       evsi: bool, rtol: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`single_test_value` of each test ``j`` in ``columns``, with its scores' moments ``m[:, j]``,
    ``s[:, j]`` (K, p) and end knots ``a[j]``, ``b[j]``: one call for a case's continuous candidates."""
    values, changes = np.empty(columns.size), np.empty(columns.size)
    for c in range(columns.size):
        j = columns[c]
        values[c], changes[c] = single_test_value(w, np.ascontiguousarray(m[:, j]), np.ascontiguousarray(s[:, j]),
                                                  a[j], b[j], nodes, weights, counts, owner, U, evsi, rtol)
    return values, changes


@numba.njit(cache=True)
def class_score_conditionals(z: np.ndarray, means: np.ndarray, covs: np.ndarray,
                             log_priors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(w (K,), m (K, p), s (K, p))`` for one row of scores ``z`` (p,), NaN where missing:

        w_y ∝ π_y N(z_o; μ_y,o, Σ_y,oo),
        m_y,M = μ_y,M + Aᵀ r,   s²_y,M = diag Σ_y,MM − Σ_i A_iM²,

    with ``L Lᵀ = Σ_y,oo``, ``A = L⁻¹ Σ_y,oM`` and ``r = L⁻¹ (z_o − μ_y,o)`` (one Cholesky factor per
    class serves the prediction and the conditioning). ``m`` and ``s`` are NaN at observed features.
    """
    K, p = means.shape
    n_obs = 0
    for j in range(p):
        if not np.isnan(z[j]):
            n_obs += 1
    obs = np.empty(n_obs, dtype=np.int64)
    mis = np.empty(p - n_obs, dtype=np.int64)
    io, im = 0, 0
    for j in range(p):
        if np.isnan(z[j]):
            mis[im] = j
            im += 1
        else:
            obs[io] = j
            io += 1
    logw = np.empty(K)
    m = np.full((K, p), np.nan)
    s = np.full((K, p), np.nan)
    for k in range(K):
        S_oo = np.empty((n_obs, n_obs))
        S_oM = np.empty((n_obs, mis.size))
        d = np.empty((n_obs, 1))
        for a in range(n_obs):
            for c in range(n_obs):
                S_oo[a, c] = covs[k, obs[a], obs[c]]
            for c in range(mis.size):
                S_oM[a, c] = covs[k, obs[a], mis[c]]
            d[a, 0] = z[obs[a]] - means[k, obs[a]]
        logdet, quad = 0.0, 0.0
        A, r = np.zeros((0, mis.size)), np.zeros((0, 1))
        if n_obs > 0:
            L = np.linalg.cholesky(S_oo)
            A = forward_solve(L, S_oM)
            r = forward_solve(L, d)
            for a in range(n_obs):
                logdet += math.log(L[a, a])
                quad += r[a, 0] * r[a, 0]
        logw[k] = log_priors[k] - 0.5 * quad - logdet - n_obs * _LOG_SQRT_2PI
        for c in range(mis.size):
            j = mis[c]
            mean, var = means[k, j], covs[k, j, j]
            for a in range(n_obs):
                mean += A[a, c] * r[a, 0]
                var -= A[a, c] * A[a, c]
            m[k, j] = mean
            s[k, j] = math.sqrt(max(var, 1e-300))
    top = logw.max()
    w = np.exp(logw - top)
    return w / w.sum(), m, s


@numba.njit(cache=True)
def _add_class_log_density(logp: np.ndarray, y: int, Zs: np.ndarray, centre: np.ndarray, cov: np.ndarray,
                           log_weight: float) -> None:
    """``logp[d, y] = log_weight + log N(Zs[d]; centre, cov)`` for every draw d (Zs (D, s))."""
    D, n_s = Zs.shape
    if n_s == 0:
        logp[:, y] = log_weight
        return
    L = cov.copy()
    if not _cholesky_in_place(L):
        raise ValueError("a class covariance of the scores is not positive definite")
    centred = np.empty((n_s, D))
    for a in range(n_s):
        for d in range(D):
            centred[a, d] = Zs[d, a] - centre[a]
    solved = forward_solve(L, centred)
    constant = log_weight - n_s * _LOG_SQRT_2PI
    for a in range(n_s):
        constant -= math.log(L[a, a])
    for d in range(D):
        quad = 0.0
        for a in range(n_s):
            quad += solved[a, d] * solved[a, d]
        logp[d, y] = constant - 0.5 * quad


@numba.njit(cache=True)
def _replicate_values(logp: np.ndarray, owner: np.ndarray, n_replicates: int, U: np.ndarray, evsi: bool,
                      out: np.ndarray) -> float:
    """Normalize each draw's log joint (D, C) over components, sum it into ``p(y | …)`` by ``owner``,
    write the value over each replicate's N = D / R draws into ``out`` (R,), and return the value over
    all D draws pooled."""
    D, K = logp.shape
    P = np.empty((D, K))
    for d in range(D):
        top = logp[d].max()
        total = 0.0
        for y in range(K):
            total += math.exp(logp[d, y] - top)
        log_total = math.log(total)
        for y in range(K):
            P[d, y] = math.exp(logp[d, y] - top - log_total)
    P = class_probabilities(P, owner)
    N = D // n_replicates
    w_replicate = np.full(N, 1.0 / N)
    for r in range(n_replicates):
        block = P[r * N:(r + 1) * N]
        out[r] = evsi_weighted(w_replicate, block, U) if evsi else eig_weighted(w_replicate, block)
    w_pooled = np.full(D, 1.0 / D)
    return evsi_weighted(w_pooled, P, U) if evsi else eig_weighted(w_pooled, P)


@numba.njit(cache=True)
def coalition_values(Z: np.ndarray, offsets: np.ndarray, members: np.ndarray, masks: np.ndarray, means: np.ndarray,
                     covs: np.ndarray, log_weights: np.ndarray, owner: np.ndarray, n_replicates: int, U: np.ndarray,
                     evsi: bool) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo value of acquiring each coalition of players, under class-conditional Gaussians.

    ``Z`` (D, q) holds the draws' scores of the q candidate columns (D = R·N, replicate r is rows
    ``r·N … r·N + N − 1``); player i owns columns ``members[offsets[i]:offsets[i+1]]``; per class y,
    ``means[y]`` (q,) and ``covs[y]`` (q, q) are the Gaussian of those scores given the case's known
    scores, and ``log_weights[y] = log π_y + log N(z_known; μ_y, Σ_y)``. A coalition S (bit i of
    ``masks[b]`` = player i) updates a draw's prediction to

        p(y | z_known, z_S) ∝ exp(log_weights[y]) · N(z_S; means[y, S], covs[y, S, S]),

    and its value is the value kernel (EIG, or EVSI with utilities ``U``) over those predictions (y:
    a component, summed into classes by ``owner``). Returns the values per replicate (R, B), each over
    its N draws, and pooled over all D draws (B,).
    """
    D, q = Z.shape
    K = means.shape[0]
    B = masks.size
    out = np.empty((n_replicates, B))
    pooled = np.empty(B)
    cols = np.empty(q, dtype=np.int64)
    logp = np.empty((D, K))
    for b in range(B):
        n_s = 0
        for i in range(offsets.size - 1):
            if (masks[b] >> i) & 1:
                for k in range(offsets[i], offsets[i + 1]):
                    cols[n_s] = members[k]
                    n_s += 1
        S = np.sort(cols[:n_s])
        Zs = np.empty((D, n_s))
        for d in range(D):
            for a in range(n_s):
                Zs[d, a] = Z[d, S[a]]
        for y in range(K):
            centre = np.empty(n_s)
            cov = np.empty((n_s, n_s))
            for a in range(n_s):
                centre[a] = means[y, S[a]]
                for c in range(n_s):
                    cov[a, c] = covs[y, S[a], S[c]]
            _add_class_log_density(logp, y, Zs, centre, cov, log_weights[y])
        pooled[b] = _replicate_values(logp, owner, n_replicates, U, evsi, out[:, b])
    return out, pooled


@numba.njit(cache=True)
def _draw_classes(normals: np.ndarray, class_cuts: np.ndarray, K: int) -> np.ndarray:
    """Each draw's class ``k = #{c : class_cuts[c] ≤ e_0}`` (T,) from the case's normals ``e`` (T, 1 + m)."""
    T = normals.shape[0]
    klass = np.empty(T, dtype=np.int64)
    for t in range(T):
        k = 0
        for c in range(class_cuts.size):
            if class_cuts[c] <= normals[t, 0]:
                k += 1
        klass[t] = min(k, K - 1)
    return klass


@numba.njit(cache=True)
def _draw_scores(normals: np.ndarray, klass: np.ndarray, means: np.ndarray, mu: np.ndarray, L: np.ndarray, i: int,
                 positions: np.ndarray, columns: np.ndarray, discrete: np.ndarray, lower: np.ndarray,
                 upper: np.ndarray, cuts: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Case ``i``'s draws (T, n) of the scores of ``columns`` (at missing ``positions``), as :func:`set_values` states."""
    T, n = normals.shape[0], positions.size
    Zs = np.empty((T, n))
    for t in range(T):
        k = klass[t]
        for a in range(n):
            pos, j = positions[a], columns[a]
            z = means[k, j] + mu[k, i, pos]
            for b in range(pos + 1):  # L is lower triangular
                z += L[k, i, pos, b] * normals[t, 1 + b]
            if discrete[j]:
                level = 0
                while level < cuts.shape[1] and cuts[j, level] < z:
                    level += 1
                z = points[j, level]
            else:
                z = min(max(z, lower[j]), upper[j])
            Zs[t, a] = z
    return Zs


@numba.njit(cache=True)
def _set_gaussian(means: np.ndarray, mu: np.ndarray, L: np.ndarray, i: int, y: int, positions: np.ndarray,
                  columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class ``y``'s Gaussian of the scores of ``columns`` given case ``i``'s known scores: mean
    ``means[y, j] + mu[y, i, pos]`` and covariance ``(L Lᵀ)[y, i, pos, pos']``."""
    n = positions.size
    centre = np.empty(n)
    cov = np.empty((n, n))
    for a in range(n):
        pa = positions[a]
        centre[a] = means[y, columns[a]] + mu[y, i, pa]
        for c in range(n):
            pc = positions[c]
            acc = 0.0
            for b in range(min(pa, pc) + 1):
                acc += L[y, i, pa, b] * L[y, i, pc, b]
            cov[a, c] = acc
    return centre, cov


@numba.njit(cache=True)
def score_draws(normals: np.ndarray, class_cuts: np.ndarray, means: np.ndarray, mu: np.ndarray, L: np.ndarray,
                positions: np.ndarray, columns: np.ndarray, discrete: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                cuts: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One case (index 0 of ``mu``, ``L``): the draws (T, n) of the scores of ``columns`` that
    :func:`set_values` values, and per class the Gaussian of those scores given the known ones,
    means (K, n) and covariances (K, n, n); the arguments are :func:`set_values`' for that case."""
    K = means.shape[0]
    klass = _draw_classes(normals, class_cuts, K)
    Z = _draw_scores(normals, klass, means, mu, L, 0, positions, columns, discrete, lower, upper, cuts, points)
    centres = np.empty((K, positions.size))
    covs = np.empty((K, positions.size, positions.size))
    for y in range(K):
        centres[y], covs[y] = _set_gaussian(means, mu, L, 0, y, positions, columns)
    return Z, centres, covs


@numba.njit(cache=True, parallel=True)
def set_values(normals: np.ndarray, which: np.ndarray, m_of: np.ndarray, class_cuts: np.ndarray, log_weights: np.ndarray,
               means: np.ndarray, mu: np.ndarray, L: np.ndarray, set_case: np.ndarray, set_offsets: np.ndarray,
               set_positions: np.ndarray, set_columns: np.ndarray, discrete: np.ndarray, lower: np.ndarray,
               upper: np.ndarray, cuts: np.ndarray, points: np.ndarray, owner: np.ndarray, n_replicates: int,
               U: np.ndarray, evsi: bool) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo value of acquiring each set of tests (a panel, a group) under class-conditional Gaussians.

    Per case i and class k the engine gives the Gaussian of the missing scores given the known ones
    as ``means[k] + mu[k, i]`` (over the case's m = ``m_of[i]`` missing scores, in column order) with
    lower Cholesky factor ``L[k, i]`` (m, m), and ``log_weights[i, k] = log p(k | z_known)``. Every set
    of case i is valued from the same draws (common random numbers): draw t uses the normals
    ``e = normals[which[i], t]``; its class is ``k = #{c : class_cuts[i, c] ≤ e_0}`` (``class_cuts =
    Φ⁻¹(cumulative p(k | z_known))``), and a set member at missing position a, column j, scores

        z_a = means[k, j] + mu[k, i, a] + Σ_{b < m} L[k, i, a, b] e_{1+b},

    clipped to ``[lower[j], upper[j]]`` (the classifier's scores stop at the end knots), or, for a
    ``discrete[j]`` column, replaced by ``points[j, ℓ]`` with ``ℓ = #{cuts[j, ·] < z_a}`` (the level's
    latent point, as the classifier scores an observed level; ``cuts[j]`` holds the levels' upper
    ends, the last +inf). The draw updates the
    prediction by Bayes' rule under each class's conditional Gaussian of the set's scores,

        p(y | z_known, z_S) ∝ p(y | z_known) · N(z_S; means[y, S] + mu[y, i, S], (L Lᵀ)[y, i, S, S]),

    and the set's value is the value kernel (EIG, or EVSI with ``U``) over the draws' predictions (k
    and y: components, summed into classes by ``owner``).
    Set s belongs to case ``set_case[s]`` (sets of a case adjacent) and owns missing positions
    ``set_positions[set_offsets[s]:set_offsets[s+1]]`` (columns ``set_columns[…]``). Returns the values
    per replicate (n_sets, R) and pooled over all draws (n_sets,).
    """
    n_sets = set_case.size
    T = normals.shape[1]
    K = means.shape[0]
    out = np.empty((n_sets, n_replicates))
    pooled = np.empty(n_sets)
    n_runs = 0
    for s in range(n_sets):
        if s == 0 or set_case[s - 1] != set_case[s]:
            n_runs += 1
    first = np.empty(n_runs + 1, dtype=np.int64)  # each case's run of sets: first[r] … first[r + 1] − 1
    r = 0
    for s in range(n_sets):
        if s == 0 or set_case[s - 1] != set_case[s]:
            first[r] = s
            r += 1
    first[n_runs] = n_sets
    for run in numba.prange(n_runs):
        i = set_case[first[run]]
        e = normals[which[i]]
        klass = _draw_classes(e, class_cuts[i], K)  # shared by the case's sets
        logp = np.empty((T, K))
        for s in range(first[run], first[run + 1]):
            positions = set_positions[set_offsets[s]:set_offsets[s + 1]]
            columns = set_columns[set_offsets[s]:set_offsets[s + 1]]
            Zs = _draw_scores(e, klass, means, mu, L, i, positions, columns, discrete, lower, upper, cuts, points)
            for y in range(K):
                centre, cov = _set_gaussian(means, mu, L, i, y, positions, columns)
                _add_class_log_density(logp, y, Zs, centre, cov, log_weights[i, y])
            pooled[s] = _replicate_values(logp, owner, n_replicates, U, evsi, out[s])
    return out, pooled
