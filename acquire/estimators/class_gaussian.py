"""Value of one test under class-conditional Gaussians (numba; arrays in, arrays out).

Given the current class probabilities ``w_y = p(y | x_o)`` and, per class, the test's latent score
``z | x_o, y ~ N(m_y, s_y²)``, a result ``z`` updates the prediction to

    p(y | x_o, z) = w_y N(z; m_y, s_y²) / Σ_y' w_y' N(z; m_y', s_y'²),

and ``z`` itself follows the mixture ``f(z) = Σ_y w_y N(z; m_y, s_y²)``. The score is clipped to the
marginal's end knots ``[a, b]`` (beyond them the result is the end value), so the results are the
two end atoms, with masses ``Σ w_y Φ((a − m_y)/s_y)`` and ``Σ w_y Φ((m_y − b)/s_y)``, and the
interior ``(a, b)`` with density ``f``. The value is that of :mod:`acquire.estimators.value` over
these weighted results (``EIG = H(p̄) − E H(p(y | x_o, z))``, or EVSI).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from acquire.estimators.value import eig_weighted, evsi_weighted

__all__ = ["gauss_legendre_table", "mixture_rule", "single_test_value"]

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
def _value(W: np.ndarray, P: np.ndarray, U: np.ndarray, evsi: bool) -> float:
    W = W / W.sum()
    if evsi:
        return evsi_weighted(W, P, U)
    return eig_weighted(W, P)


@numba.njit(cache=True)
def single_test_value(w: np.ndarray, m: np.ndarray, s: np.ndarray, a: float, b: float, nodes: np.ndarray,
                      weights: np.ndarray, counts: np.ndarray, U: np.ndarray, evsi: bool,
                      rtol: float) -> tuple[float, float]:
    """``(value, change)``: :func:`mixture_rule` with ``counts[0]``, ``counts[1]``, … nodes per piece until
    two successive values differ by at most ``rtol`` relative (or the last rule); ``change`` is that
    last difference, an estimate of the coarser rule's error."""
    W, P = mixture_rule(w, m, s, a, b, nodes[0, :counts[0]], weights[0, :counts[0]])
    previous = _value(W, P, U, evsi)
    current, change = previous, 0.0
    for r in range(1, counts.size):
        W, P = mixture_rule(w, m, s, a, b, nodes[r, :counts[r]], weights[r, :counts[r]])
        current = _value(W, P, U, evsi)
        change = abs(current - previous)
        if change <= rtol * abs(current) + 1e-15:
            break
        previous = current
    return current, change
