"""Gaussian conditioning: pure functions over arrays (no pandas, no specs)."""

from __future__ import annotations

import numpy as np


def condition_gaussian(
    mean: np.ndarray, cov: np.ndarray, observed: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of ``z_M | z_o = values`` for ``z ~ N(mean, cov)``.

    ``μ_M|o = μ_M + Σ_Mo Σ_oo⁻¹ (z_o − μ_o)``;  ``Σ_M|o = Σ_MM − Σ_Mo Σ_oo⁻¹ Σ_oM``,
    where ``M`` is every index not in ``observed`` (returned in increasing order).
    """
    p = mean.shape[0]
    observed = np.asarray(observed, dtype=np.int64)
    missing = np.setdiff1d(np.arange(p), observed)
    if observed.size == 0:
        return mean[missing].copy(), cov[np.ix_(missing, missing)].copy()
    s_oo = cov[np.ix_(observed, observed)]
    s_mo = cov[np.ix_(missing, observed)]
    chol = np.linalg.cholesky(s_oo)
    # Σ_Mo Σ_oo⁻¹ through two triangular solves (stable; no explicit inverse)
    a = np.linalg.solve(chol, s_mo.T)
    weights = np.linalg.solve(chol.T, a).T
    cond_mean = mean[missing] + weights @ (values - mean[observed])
    cond_cov = cov[np.ix_(missing, missing)] - a.T @ a
    cond_cov = 0.5 * (cond_cov + cond_cov.T)
    return cond_mean, cond_cov


def stable_cholesky(cov: np.ndarray, jitter: float = 1e-10) -> np.ndarray:
    """Lower Cholesky factor of a PSD matrix, adding diagonal jitter until it factors."""
    if cov.shape[0] == 0:
        return cov.copy()
    scale = max(float(np.mean(np.diag(cov))), 1e-300)
    for k in range(8):
        try:
            return np.linalg.cholesky(cov + np.eye(cov.shape[0]) * (jitter * 10**k * scale if k else 0.0))
        except np.linalg.LinAlgError:
            continue
    w, v = np.linalg.eigh(cov)
    return v * np.sqrt(np.clip(w, 0.0, None))

