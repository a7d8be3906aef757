"""Value-of-information kernels over prediction tensors (numba; arrays in, arrays out).

Every kernel takes predictions for draws of the candidate measurements, laid out as
``(candidate, replicate, draw, ...)``, and returns one value per candidate and replicate.
The value is computed against the *mixture* of the draws' predictions, so it is the
mutual information / decision value of the model's own predictive law and is ≥ 0 by
Jensen's inequality. Replicates are independent randomizations (scrambled Sobol sets);
their spread gives the standard error (:func:`mean_and_se`).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["eig_classes", "evsi_classes", "eig_gaussian", "entropy", "mean_and_se"]


@numba.njit(cache=True, fastmath=False)
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
def eig_classes(P: np.ndarray) -> np.ndarray:
    """EIG per (candidate, replicate): ``H(mean_n p_n) − mean_n H(p_n)`` for P of shape (C, R, N, K)."""
    C, R, N, K = P.shape
    out = np.empty((C, R))
    pbar = np.empty(K)
    for c in range(C):
        for r in range(R):
            pbar[:] = 0.0
            h_cond = 0.0
            for n in range(N):
                h_cond += _entropy_row(P[c, r, n])
                for k in range(K):
                    pbar[k] += P[c, r, n, k]
            pbar /= N
            out[c, r] = max(_entropy_row(pbar) - h_cond / N, 0.0)
    return out


@numba.njit(cache=True)
def evsi_classes(P: np.ndarray, U: np.ndarray) -> np.ndarray:
    """EVSI per (candidate, replicate): ``mean_n max_a (U p_n)_a − max_a (U p̄)_a``; P (C, R, N, K), U (A, K)."""
    C, R, N, K = P.shape
    A = U.shape[0]
    out = np.empty((C, R))
    pbar = np.empty(K)
    for c in range(C):
        for r in range(R):
            pbar[:] = 0.0
            best_informed = 0.0
            for n in range(N):
                best = -np.inf
                for a in range(A):
                    s = 0.0
                    for k in range(K):
                        s += U[a, k] * P[c, r, n, k]
                    if s > best:
                        best = s
                best_informed += best
                for k in range(K):
                    pbar[k] += P[c, r, n, k]
            pbar /= N
            best_now = -np.inf
            for a in range(A):
                s = 0.0
                for k in range(K):
                    s += U[a, k] * pbar[k]
                if s > best_now:
                    best_now = s
            out[c, r] = max(best_informed / N - best_now, 0.0)
    return out


@numba.njit(cache=True)
def eig_gaussian(mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """EIG of Gaussian predictions, (C, R, N) each: ``½ log(mean var + Var mean) − mean ½ log var``.

    The first term is the entropy of the moment-matched mixture (law of total variance);
    for a homoscedastic model it is ``½ log(1 + signal / noise)``.
    """
    C, R, N = mean.shape
    out = np.empty((C, R))
    for c in range(C):
        for r in range(R):
            m = 0.0
            v = 0.0
            half_log_v = 0.0
            for n in range(N):
                m += mean[c, r, n]
                v += var[c, r, n]
                half_log_v += 0.5 * np.log(var[c, r, n])
            m /= N
            spread = 0.0
            for n in range(N):
                d = mean[c, r, n] - m
                spread += d * d
            total = v / N + spread / N
            out[c, r] = max(0.5 * np.log(total) - half_log_v / N, 0.0)
    return out


def mean_and_se(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over replicates (last axis) and its standard error ``sd / √R``."""
    R = values.shape[-1]
    mean = values.mean(axis=-1)
    se = values.std(axis=-1, ddof=1) / np.sqrt(R) if R > 1 else np.zeros_like(mean)
    return mean, se
