"""Margins of a tree ensemble for many coalitions of drawn features at once (numba).

For coalition ``S`` of players and draw ``n``, a row takes the drawn value of every feature of a
player in ``S`` and keeps the case's own value (or NaN) elsewhere. A tree's leaf for that row
depends on ``S`` only through ``S ∩ P_t``, the players the tree splits on, usually a handful.
So each tree's leaves are tabulated once per draw for the ``2^|P_t|`` subsets of its players,
and each coalition's margin is a sum of table lookups, not a walk through every tree. Trees
splitting on more than ``max_players`` players are walked directly.
"""

from __future__ import annotations

import numba
import numpy as np

from acquire.estimators.trees import _goes_left

__all__ = ["coalition_margins"]


@numba.njit(cache=True)
def _leaf_with(x, draw, player_of, subset_bits, local_of, left, right, feature, threshold, default_left, root):
    node = root
    while left[node] >= 0:
        f = feature[node]
        pl = player_of[f]
        if pl >= 0 and local_of[pl] >= 0 and (subset_bits >> local_of[pl]) & 1:
            v = draw[f]
        elif pl >= 0:
            v = np.nan  # a player's feature not in the coalition is still missing
        else:
            v = x[f]
        node = left[node] if _goes_left(v, node, threshold, default_left) else right[node]
    return node


@numba.njit(cache=True, parallel=True)
def coalition_margins(x, draws, masks, player_of, n_players, left, right, feature, threshold, default_left, value,
                      tree_start, tree_group, base_margin, max_players=10):
    """Margins (len(masks), n_draws, G) for coalitions ``masks`` (bit i = player i) of ``draws`` (n_draws, p)."""
    T = tree_group.size
    N = draws.shape[0]
    C = masks.size
    G = base_margin.size
    # the players each tree splits on, numbered locally 0..k_t-1
    local = np.full((T, n_players), -1, dtype=np.int64)
    k_t = np.zeros(T, dtype=np.int64)
    for t in range(T):
        for node in range(tree_start[t], tree_start[t + 1]):
            if left[node] >= 0:
                pl = player_of[feature[node]]
                if pl >= 0 and local[t, pl] < 0:
                    local[t, pl] = k_t[t]
                    k_t[t] += 1
    tabled = k_t <= max_players
    offset = np.zeros(T + 1, dtype=np.int64)
    for t in range(T):
        offset[t + 1] = offset[t] + ((N << k_t[t]) if tabled[t] else 0)
    table = np.empty(offset[T])
    for t in numba.prange(T):
        if tabled[t]:
            size = 1 << k_t[t]
            for n in range(N):
                for bits in range(size):
                    leaf = _leaf_with(x, draws[n], player_of, bits, local[t], left, right, feature, threshold,
                                      default_left, tree_start[t])
                    table[offset[t] + n * size + bits] = value[leaf]
    out = np.empty((C, N, G))
    for c in numba.prange(C):
        codes = np.zeros(T, dtype=np.int64)
        for t in range(T):
            if tabled[t]:
                code = 0
                for pl in range(n_players):
                    if local[t, pl] >= 0 and (masks[c] >> pl) & 1:
                        code |= 1 << local[t, pl]
                codes[t] = code
        for n in range(N):
            for g in range(G):
                out[c, n, g] = base_margin[g]
            for t in range(T):
                if tabled[t]:
                    out[c, n, tree_group[t]] += table[offset[t] + (n << k_t[t]) + codes[t]]
                else:
                    leaf = _leaf_with(x, draws[n], player_of, masks[c], np.arange(n_players), left, right, feature,
                                      threshold, default_left, tree_start[t])
                    out[c, n, tree_group[t]] += value[leaf]
    return out
