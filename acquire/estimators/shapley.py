"""Shapley-value kernels over coalition values (numba; arrays in, arrays out).

Coalitions of ``m`` players are bitmasks (bit ``i`` set = player ``i`` in the coalition).

- :func:`exact_shapley`: ``φ_i = Σ_{S ∌ i} |S|!(m−|S|−1)!/m! · (v(S ∪ i) − v(S))`` over a full
  table of ``2^m`` values (one pass over the masks);
- :func:`permutation_prefixes` / :func:`permutation_contributions`: antithetic permutation
  sampling (each permutation is followed by its reverse), marginal contributions per permutation;
- :func:`path_dependent_values`: the coalition game of a tree ensemble that XGBoost's
  ``pred_contribs`` (path-dependent TreeSHAP) explains, for checking the kernels against it.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["exact_shapley", "permutation_prefixes", "permutation_contributions", "path_dependent_values", "popcount"]


@numba.njit(cache=True)
def popcount(mask: np.int64) -> int:
    c = 0
    while mask:
        mask &= mask - 1
        c += 1
    return c


@numba.njit(cache=True)
def exact_shapley(values: np.ndarray, m: int) -> np.ndarray:
    """Shapley values (..., m) from coalition values (..., 2^m) indexed by bitmask."""
    lead = values.shape[:-1]
    flat = values.reshape(-1, values.shape[-1])
    out = np.zeros((flat.shape[0], m))
    weight = np.empty(m)  # weight[s] = s! (m - s - 1)! / m!
    for s in range(m):
        w = 1.0 / m
        for k in range(1, s + 1):  # 1/m · 1/C(m−1, s)
            w *= k / (m - 1 - s + k)
        weight[s] = w
    for mask in range(1 << m):
        s = popcount(mask)
        for i in range(m):
            if not (mask >> i) & 1:
                w = weight[s]
                for r in range(flat.shape[0]):
                    out[r, i] += w * (flat[r, mask | (1 << i)] - flat[r, mask])
    return out.reshape(lead + (m,))


@numba.njit(cache=True)
def permutation_prefixes(perms: np.ndarray) -> np.ndarray:
    """Bitmasks (P, m+1) of every prefix of every permutation (row p, column k: first k players)."""
    P, m = perms.shape
    out = np.zeros((P, m + 1), dtype=np.int64)
    for p in range(P):
        mask = np.int64(0)
        for k in range(m):
            mask |= np.int64(1) << perms[p, k]
            out[p, k + 1] = mask
    return out


@numba.njit(cache=True)
def permutation_contributions(perms: np.ndarray, prefix_values: np.ndarray) -> np.ndarray:
    """Marginal contributions (P, m): player ``perms[p, k]`` adds ``v(prefix k+1) − v(prefix k)``."""
    P, m = perms.shape
    out = np.empty((P, m))
    for p in range(P):
        for k in range(m):
            out[p, perms[p, k]] = prefix_values[p, k + 1] - prefix_values[p, k]
    return out


@numba.njit(cache=True)
def _expected_leaf(x, mask, players, node, left, right, feature, threshold, default_left, value, cover):
    """E[f_t(x) | x_S] along the tree's own cover weights (Lundberg et al. 2020, Algorithm 1)."""
    if left[node] < 0:
        return value[node]
    f = feature[node]
    if (mask >> players[f]) & 1:
        v = x[f]
        go_left = default_left[node] if np.isnan(v) else np.float32(v) < threshold[node]
        return _expected_leaf(x, mask, players, left[node] if go_left else right[node], left, right, feature,
                              threshold, default_left, value, cover)
    lw, rw = cover[left[node]], cover[right[node]]
    return (lw * _expected_leaf(x, mask, players, left[node], left, right, feature, threshold, default_left, value, cover)
            + rw * _expected_leaf(x, mask, players, right[node], left, right, feature, threshold, default_left, value,
                                  cover)) / (lw + rw)


@numba.njit(cache=True)
def path_dependent_values(x, masks, players, left, right, feature, threshold, default_left, value, cover, tree_start,
                          tree_group, base_margin, group):
    """Margin of output ``group`` for each coalition in ``masks``: the path-dependent TreeSHAP game.

    ``players[f]`` maps feature f to its player index (bit); features outside every coalition
    are averaged over the trees' covers.
    """
    out = np.empty(masks.size)
    for k in range(masks.size):
        total = base_margin[group]
        for t in range(tree_group.size):
            if tree_group[t] == group:
                total += _expected_leaf(x, masks[k], players, tree_start[t], left, right, feature, threshold,
                                        default_left, value, cover)
        out[k] = total
    return out
