"""Value-of-information kernels (numba; arrays in, arrays out).

The core kernels value a *weighted* set of possible results of a test: result ``k`` has
probability ``w_k`` and leads to the predictive distribution ``p_k``. The value is computed
against the mixture ``p̄ = Σ_k w_k p_k``, so it is the mutual information / decision value
of the model's own predictive law and is ≥ 0 by Jensen's inequality:

- EIG  ``= H(p̄) − Σ_k w_k H(p_k)``;
- EVSI ``= Σ_k w_k max_a (U p_k)_a − max_a (U p̄)_a``;
- Gaussian EIG ``= h(Σ_k w_k N(μ_k, σ²_k)) − Σ_k w_k ½ log(2πe σ²_k)``, the mixture's entropy by
  quadrature (:func:`eig_gaussian_mixture`); ``eig_gaussian_weighted`` is its moment-matched upper
  bound ``½ log(Σ_k w_k (σ²_k + (μ_k − μ̄)²)) − Σ_k w_k ½ log σ²_k``.

Monte Carlo draws are the case ``w_k = 1/N``; the exact tree estimator passes interval masses.
The ``*_classes``/``eig_gaussian`` kernels run the Monte Carlo layout ``(candidate, replicate,
draw, ...)``; replicates are independent randomizations whose spread is the standard error
(:func:`mean_and_se`).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["eig_weighted", "evsi_weighted", "eig_gaussian_weighted", "eig_gaussian_mixture", "eig_classes",
           "evsi_classes", "eig_gaussian", "entropy", "mean_and_se", "values_from_counts"]


@numba.njit(cache=True)
def _entropy_row(p: np.ndarray) -> float:
    h = 0.0
    for k in range(p.shape[0]):
        if p[k] > 0.0:
            h -= p[k] * np.log(p[k])
    return h


@numba.njit(cache=True)
def entropy(P: np.ndarray) -> np.ndarray:
    """Row entropies in nats: ``H(p) = −Σ_k p_k log p_k`` for P of shape (n, K)."""
    out = np.empty(P.shape[0])
    for i in range(P.shape[0]):
        out[i] = _entropy_row(P[i])
    return out


@numba.njit(cache=True)
def _mixture(w: np.ndarray, P: np.ndarray) -> np.ndarray:
    pbar = np.zeros(P.shape[1])
    for n in range(P.shape[0]):
        for k in range(P.shape[1]):
            pbar[k] += w[n] * P[n, k]
    return pbar


@numba.njit(cache=True)
def _best_utility(U: np.ndarray, p: np.ndarray) -> float:
    best = -np.inf
    for a in range(U.shape[0]):
        s = 0.0
        for k in range(U.shape[1]):
            s += U[a, k] * p[k]
        best = max(best, s)
    return best


@numba.njit(cache=True)
def eig_weighted(w: np.ndarray, P: np.ndarray) -> float:
    """``H(Σ w_n p_n) − Σ w_n H(p_n)`` for weights w (N,) summing to 1 and P (N, K)."""
    h_cond = 0.0
    for n in range(P.shape[0]):
        if w[n] > 0.0:
            h_cond += w[n] * _entropy_row(P[n])
    return max(_entropy_row(_mixture(w, P)) - h_cond, 0.0)


@numba.njit(cache=True)
def evsi_weighted(w: np.ndarray, P: np.ndarray, U: np.ndarray) -> float:
    """``Σ w_n max_a (U p_n)_a − max_a (U p̄)_a`` for U (A, K)."""
    informed = 0.0
    for n in range(P.shape[0]):
        if w[n] > 0.0:
            informed += w[n] * _best_utility(U, P[n])
    return max(informed - _best_utility(U, _mixture(w, P)), 0.0)


@numba.njit(cache=True)
def eig_gaussian_weighted(w: np.ndarray, mean: np.ndarray, var: np.ndarray) -> float:
    """``½ log(Σ w (σ² + (μ − μ̄)²)) − Σ w ½ log σ²``: entropy of the moment-matched mixture minus
    the expected entropy; ``½ log(1 + signal / noise)`` for a homoscedastic model."""
    m = 0.0
    for n in range(mean.size):
        m += w[n] * mean[n]
    total = 0.0
    half_log_v = 0.0
    for n in range(mean.size):
        if w[n] > 0.0:
            d = mean[n] - m
            total += w[n] * (var[n] + d * d)
            half_log_v += w[n] * 0.5 * np.log(var[n])
    return max(0.5 * np.log(total) - half_log_v, 0.0)


@numba.njit(cache=True)
def eig_classes(P: np.ndarray) -> np.ndarray:
    """Monte Carlo EIG per (candidate, replicate) for P of shape (C, R, N, K)."""
    C, R, N = P.shape[0], P.shape[1], P.shape[2]
    w = np.full(N, 1.0 / N)
    out = np.empty((C, R))
    for c in range(C):
        for r in range(R):
            out[c, r] = eig_weighted(w, P[c, r])
    return out


@numba.njit(cache=True)
def evsi_classes(P: np.ndarray, U: np.ndarray) -> np.ndarray:
    """Monte Carlo EVSI per (candidate, replicate) for P (C, R, N, K) and U (A, K)."""
    C, R, N = P.shape[0], P.shape[1], P.shape[2]
    w = np.full(N, 1.0 / N)
    out = np.empty((C, R))
    for c in range(C):
        for r in range(R):
            out[c, r] = evsi_weighted(w, P[c, r], U)
    return out


@numba.njit(cache=True)
def eig_gaussian(mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Monte Carlo EIG per (candidate, replicate) for Gaussian predictions with mean and var of shape
    (C, R, N): the EIG of each replicate's mixture of N Gaussians (:func:`eig_gaussian_mixture`)."""
    C, R, N = mean.shape
    w = np.full(N, 1.0 / N)
    out = np.empty((C, R))
    for c in range(C):
        for r in range(R):
            out[c, r] = eig_gaussian_mixture(w, mean[c, r], var[c, r], 1e-6)[0]
    return out


def mean_and_se(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over replicates (last axis) and its standard error ``sd / √R``."""
    R = values.shape[-1]
    mean = values.mean(axis=-1)
    se = values.std(axis=-1, ddof=1) / np.sqrt(R) if R > 1 else np.zeros_like(mean)
    return mean, se


@numba.njit(cache=True)
def eig_bald_weighted(w: np.ndarray, P: np.ndarray) -> tuple:
    """``(EIG, aleatoric)`` from per-posterior-draw predictions P (T, N, K) at N weighted results.

    ``EIG = H(p̄) − Σ_n w_n H(p̄_n)`` with ``p̄_n = mean_t P[t, n]`` (the posterior predictive);
    ``aleatoric = mean_t [H(p̄_t) − Σ_n w_n H(P[t, n])]``, the information the test would give if
    the parameters were known, averaged over the posterior. ``EIG − aleatoric`` is the epistemic
    part: ``I(y; θ | x_o) − E I(y; θ | x_o, x_S)``.
    """
    T, N, K = P.shape
    pbar_n = np.zeros((N, K))
    for t in range(T):
        for n in range(N):
            for k in range(K):
                pbar_n[n, k] += P[t, n, k] / T
    eig = 0.0
    pbar = np.zeros(K)
    for n in range(N):
        eig -= w[n] * _entropy_row(pbar_n[n])
        for k in range(K):
            pbar[k] += w[n] * pbar_n[n, k]
    eig += _entropy_row(pbar)
    aleatoric = 0.0
    pt = np.zeros(K)
    for t in range(T):
        pt[:] = 0.0
        h = 0.0
        for n in range(N):
            h += w[n] * _entropy_row(P[t, n])
            for k in range(K):
                pt[k] += w[n] * P[t, n, k]
        aleatoric += (_entropy_row(pt) - h) / T
    return eig, aleatoric


@numba.njit(cache=True)
def values_from_counts(P: np.ndarray, counts: np.ndarray, U: np.ndarray, objective: int) -> tuple:
    """Values from the joint outcomes of a discrete candidate instead of from every draw.

    ``P`` (n, C, K): case n's predictive distribution under each of the C joint outcomes (for a
    continuous target ``P[..., 0]`` is the mean and ``P[..., 1]`` the variance); ``counts``
    (n, R, C): how often each outcome was drawn in each replicate. With ``w = counts / Σ counts``
    the value is ``H(Σ_c w_c p_c) − Σ_c w_c H(p_c)`` (``objective`` 0, EIG),
    ``Σ_c w_c max_a (U p_c)_a − max_a (U Σ_c w_c p_c)_a`` (1, EVSI) or the Gaussian mixture's EIG
    (2, :func:`eig_gaussian_mixture`): the
    same number as scoring every draw, since draws of one outcome share one prediction.
    Returns the replicate values (n, R) and the value pooled over all replicates (n,).
    """
    n, R, C = counts.shape
    reps = np.zeros((n, R))
    pooled = np.zeros(n)
    w = np.empty(C)
    total = np.empty(C)
    for i in range(n):
        total[:] = 0.0
        for r in range(R + 1):
            if r < R:
                s = 0.0
                for c in range(C):
                    w[c] = counts[i, r, c]
                    total[c] += counts[i, r, c]
                    s += w[c]
            else:
                s = 0.0
                for c in range(C):
                    w[c] = total[c]
                    s += w[c]
            for c in range(C):
                w[c] /= s
            if objective == 0:
                v = eig_weighted(w, P[i])
            elif objective == 1:
                v = evsi_weighted(w, P[i], U)
            else:
                v = eig_gaussian_mixture(w, np.ascontiguousarray(P[i, :, 0]), np.maximum(P[i, :, 1], 1e-300), 1e-6)[0]
            if r < R:
                reps[i, r] = v
            else:
                pooled[i] = v
    return reps, pooled


#: Gauss–Legendre nodes and weights on [0, 1] (8 points: exact for polynomials of degree 15)
_GL_X, _GL_G = np.polynomial.legendre.leggauss(8)
_GL_NODES, _GL_WEIGHTS = (_GL_X + 1.0) / 2.0, _GL_G / 2.0
#: the support of a component: its mean ± this many standard deviations (beyond: a mass below 1e-40)
_REACH = 13.0


@numba.njit(cache=True)
def mixture_entropy(w: np.ndarray, mean: np.ndarray, sd: np.ndarray, refine: int) -> float:
    """Differential entropy ``h(p) = −∫ p log p`` of ``p = Σ_k w_k N(m_k, s_k²)`` (w > 0, Σ w = 1),
    components sorted by ``m_k − 13 s_k``.

    The support is the union of the intervals ``m_k ± 13 s_k``; each merged piece is cut into panels
    no wider than ``2^−refine`` times the smallest standard deviation of the components in it, and
    each panel gets 8-point Gauss–Legendre. ``p log p`` is smooth on the scale of that deviation, so
    the rule converges geometrically as ``refine`` grows.
    """
    K = w.size
    inv_sd = 1.0 / sd
    coef = w * inv_sd / np.sqrt(2.0 * np.pi)
    h = 0.0
    k = 0
    while k < K:
        lo = mean[k] - _REACH * sd[k]
        hi = mean[k] + _REACH * sd[k]
        smallest = sd[k]
        k += 1
        while k < K and mean[k] - _REACH * sd[k] <= hi:
            hi = max(hi, mean[k] + _REACH * sd[k])
            smallest = min(smallest, sd[k])
            k += 1
        width = smallest / 2.0 ** refine
        panels = int(np.ceil((hi - lo) / width))
        step = (hi - lo) / panels
        for q in range(panels):
            left = lo + q * step
            for j in range(_GL_NODES.size):
                y = left + step * _GL_NODES[j]
                p = 0.0
                for c in range(K):
                    d = (y - mean[c]) * inv_sd[c]
                    if d * d < 2.0 * _REACH * _REACH:
                        p += coef[c] * np.exp(-0.5 * d * d)
                if p > 0.0:
                    h -= step * _GL_WEIGHTS[j] * p * np.log(p)
    return h


@numba.njit(cache=True)
def eig_gaussian_mixture(w: np.ndarray, mean: np.ndarray, var: np.ndarray, rtol: float) -> tuple:
    """The EIG of a test whose results ``k`` (probability ``w_k``) give Gaussian predictions N(m_k, v_k):

    ``EIG = h(Σ_k w_k N(m_k, v_k)) − Σ_k w_k ½ log(2πe v_k)``, the predictive mixture's own entropy
    (not the moment-matched Gaussian's, which bounds it from above). Identical results are merged
    first; the entropy's panels (:func:`mixture_entropy`) are halved, from half the smallest
    deviation, until two rules agree to ``rtol`` relative to the EIG (1e-12 absolute at least).
    Returns (EIG, the last change).
    """
    reach = np.empty(w.size)
    for i in range(w.size):
        reach[i] = mean[i] - _REACH * np.sqrt(max(var[i], 1e-300))
    order = np.argsort(reach)
    ws = np.empty(w.size)
    ms = np.empty(w.size)
    ss = np.empty(w.size)
    K = 0
    total = 0.0
    for idx in order:
        if w[idx] <= 0.0:
            continue
        sd = np.sqrt(max(var[idx], 1e-300))
        if K > 0 and ms[K - 1] == mean[idx] and ss[K - 1] == sd:
            ws[K - 1] += w[idx]
        else:
            ws[K], ms[K], ss[K] = w[idx], mean[idx], sd
            K += 1
        total += w[idx]
    if K <= 1:
        return 0.0, 0.0
    ws, ms, ss = ws[:K] / total, ms[:K], ss[:K]
    conditional = 0.0
    for k in range(K):
        conditional += ws[k] * (np.log(ss[k]) + 0.5 * np.log(2.0 * np.pi * np.e))
    last = mixture_entropy(ws, ms, ss, 1) - conditional
    change = np.inf
    for refine in range(2, 9):
        value = mixture_entropy(ws, ms, ss, refine) - conditional
        change = abs(value - last)
        last = value
        if change <= max(rtol * abs(value), 1e-12):
            break
    return max(last, 0.0), change
