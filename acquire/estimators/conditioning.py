"""Gaussian conditioning of many cases at once (numba): the latent conditionals the Monte Carlo
estimator draws from, one per case, each case with its own missing features."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _cholesky_in_place(a: np.ndarray) -> bool:
    """Lower Cholesky factor of ``a`` (m, m) written into its lower triangle (upper zeroed); False if not PD."""
    m = a.shape[0]
    for j in range(m):
        s = a[j, j]
        for k in range(j):
            s -= a[j, k] * a[j, k]
        if not s > 0.0:
            return False
        d = np.sqrt(s)
        a[j, j] = d
        for i in range(j + 1, m):
            t = a[i, j]
            for k in range(j):
                t -= a[i, k] * a[j, k]
            a[i, j] = t / d
        for i in range(j):
            a[i, j] = 0.0
    return True


@numba.njit(cache=True)
def forward_solve(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``L⁻¹ B`` for lower-triangular ``L`` (o, o) (only its lower triangle is read) and ``B`` (o, r):
    ``X[i] = (B[i] − Σ_{k<i} L[i, k] X[k]) / L[i, i]``, forward substitution."""
    o, r = B.shape
    X = np.empty((o, r))
    for c in range(r):
        for i in range(o):
            acc = B[i, c]
            for k in range(i):
                acc -= L[i, k] * X[k, c]
            X[i, c] = acc / L[i, i]
    return X


@numba.njit(cache=True)
def conditional_factors(corr: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every row of latent points ``Z`` (n, p; NaN = missing) under ``z ~ N(0, corr)``: the
    missing indices, the conditional mean and the lower Cholesky factor of ``z_M | z_o``.

    Per row, with ``M`` the missing and ``o`` the observed indices (increasing):
    ``μ = Σ_Mo Σ_oo⁻¹ z_o`` and ``Σ_M|o = Σ_MM − Σ_Mo Σ_oo⁻¹ Σ_oM`` (as :func:`acquire.estimators.gaussian.condition_gaussian`),
    factored as :func:`acquire.estimators.gaussian.stable_cholesky` does (diagonal jitter ``1e-10·10^k·mean(diag)`` until it
    factors). Returns ``missing`` (n, p) padded with −1, ``mu`` (n, p) and ``L`` (n, p, p), each
    row's first ``m`` entries (the m × m block) holding its values, zeros after.
    """
    n, p = Z.shape
    missing = np.full((n, p), -1, dtype=np.int64)
    mu = np.zeros((n, p))
    L = np.zeros((n, p, p))
    for i in range(n):
        obs = np.empty(p, dtype=np.int64)
        mis = np.empty(p, dtype=np.int64)
        n_o = 0
        n_m = 0
        for j in range(p):
            if np.isnan(Z[i, j]):
                mis[n_m] = j
                n_m += 1
            else:
                obs[n_o] = j
                n_o += 1
        cond = np.empty((n_m, n_m))
        for a in range(n_m):
            for b in range(n_m):
                cond[a, b] = corr[mis[a], mis[b]]
        if n_o > 0:
            c = np.empty((n_o, n_o))
            for a in range(n_o):
                for b in range(n_o):
                    c[a, b] = corr[obs[a], obs[b]]
            _cholesky_in_place(c)  # a correlation block of observed features: positive definite
            # A = C⁻¹ Σ_oM and w = C⁻¹ z_o (forward solves), then μ = Aᵀ w and Σ_M|o = Σ_MM − AᵀA
            s_om = np.empty((n_o, n_m))
            z_o = np.empty((n_o, 1))
            for a in range(n_o):
                z_o[a, 0] = Z[i, obs[a]]
                for b in range(n_m):
                    s_om[a, b] = corr[obs[a], mis[b]]
            A = forward_solve(c, s_om)
            w = forward_solve(c, z_o)[:, 0]
            for b in range(n_m):
                t = 0.0
                for a in range(n_o):
                    t += A[a, b] * w[a]
                mu[i, b] = t
            for a in range(n_m):
                for b in range(n_m):
                    t = 0.0
                    for k in range(n_o):
                        t += A[k, a] * A[k, b]
                    cond[a, b] -= t
            for a in range(n_m):
                for b in range(a):
                    s = 0.5 * (cond[a, b] + cond[b, a])
                    cond[a, b] = s
                    cond[b, a] = s
        scale = 0.0
        for a in range(n_m):
            scale += cond[a, a]
        scale = max(scale / max(n_m, 1), 1e-300)
        done = False
        for k in range(8):
            f = cond.copy()
            if k > 0:
                for a in range(n_m):
                    f[a, a] += 1e-10 * 10.0 ** k * scale
            if _cholesky_in_place(f):
                done = True
                break
        if not done:  # as stable_cholesky: the eigen-square-root of the clipped spectrum
            vals, vecs = np.linalg.eigh(cond)
            f = np.empty((n_m, n_m))
            for a in range(n_m):
                for b in range(n_m):
                    f[a, b] = vecs[a, b] * np.sqrt(max(vals[b], 0.0))
        for a in range(n_m):
            missing[i, a] = mis[a]
            for b in range(n_m):
                L[i, a, b] = f[a, b]
    return missing, mu, L


@numba.njit(cache=True)
def outcome_counts(normals: np.ndarray, which: np.ndarray, m_of: np.ndarray, class_cuts: np.ndarray,
                   mu: np.ndarray, L: np.ndarray, cuts: np.ndarray, codes: np.ndarray, sizes: np.ndarray,
                   n_replicates: int) -> np.ndarray:
    """How often each joint outcome of d discrete features is drawn, per case and replicate.

    Case i uses the normals ``e = normals[which[i]]`` (T draws; its first ``extra`` columns choose
    the class, where ``extra = normals.shape[2] − max m``): draw t belongs to class
    ``k = #{c : class_cuts[i, c] ≤ e_t0}`` (``class_cuts = Φ⁻¹(cumulative class weights)``; one
    class when ``class_cuts`` has no column), its latent values are
    ``z_a = mu[k, i, a] + Σ_{j < m_of[i]} L[k, i, a, j] e_t,extra+j``, and feature a takes level
    ``ℓ = #{cuts[k, a, ·] < z_a}`` (the step marginal: ``Φ(z) ≤ u_ℓ`` first holds there), whose code
    is ``codes[k, a, ℓ]`` (``cuts`` padded with +inf, ``codes`` one wider, padded with the last level:
    the marginal's top level also takes every z above its last cut). The outcome is the mixed-radix number of the codes (radices ``sizes``);
    draws ``t`` fall in replicate ``t // (T / n_replicates)``. Returns counts (n, R, Π sizes).
    """
    n = which.size
    T = normals.shape[1]
    d = sizes.size
    K = class_cuts.shape[1]
    extra = 1 if K > 0 else 0
    per = T // n_replicates
    n_out = 1
    for a in range(d):
        n_out *= sizes[a]
    out = np.zeros((n, n_replicates, n_out))
    for i in range(n):
        g = which[i]
        m = m_of[i]
        for t in range(T):
            k = 0
            if K > 0:
                e0 = normals[g, t, 0]
                for c in range(K):
                    if class_cuts[i, c] <= e0:
                        k += 1
                k = min(k, mu.shape[0] - 1)
            code = 0
            for a in range(d):
                z = mu[k, i, a]
                for j in range(m):
                    z += L[k, i, a, j] * normals[g, t, extra + j]
                level = 0
                while level < cuts.shape[2] and cuts[k, a, level] < z:
                    level += 1
                code = code * sizes[a] + codes[k, a, level]
            out[i, t // per, code] += 1.0
    return out
