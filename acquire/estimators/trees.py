"""Tree-ensemble kernels over flat node arrays (numba): prediction and exact one-feature grids.

With every feature but ``j`` fixed, a tree ensemble's margin is a step function of ``x_j``:
only trees whose active path tests ``j`` change, and only at their thresholds on ``j``.
:func:`single_feature_grid` returns those breakpoints and the margin on every interval
between them, so an expectation over ``x_j`` is a finite sum over intervals. The kernels work
in threshold ranks (:func:`threshold_ranks`, once per model; :func:`single_feature_steps`): no
per-case sort, and each threshold's conditional-model values tabulated ahead of any case.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["predict_margins", "single_feature_grid", "single_feature_steps", "active_paths", "threshold_ranks"]


@numba.njit(cache=True)
def _goes_left(v: float, node: int, threshold: np.ndarray, default_left: np.ndarray) -> bool:
    if np.isnan(v):
        return default_left[node]
    return np.float32(v) < threshold[node]


@numba.njit(cache=True)
def _leaf(row, root, left, right, feature, threshold, default_left):
    node = root
    while left[node] >= 0:
        node = left[node] if _goes_left(row[feature[node]], node, threshold, default_left) else right[node]
    return node


@numba.njit(cache=True)
def predict_margins(X, left, right, feature, threshold, default_left, value, tree_start, tree_group, base_margin):
    """Margins (n, G): ``base_margin[g] + Σ_{trees t of group g} leaf_t(x)``."""
    n, G = X.shape[0], base_margin.size
    out = np.empty((n, G))
    for i in range(n):
        for g in range(G):
            out[i, g] = base_margin[g]
        for t in range(tree_group.size):
            out[i, tree_group[t]] += value[_leaf(X[i], tree_start[t], left, right, feature, threshold, default_left)]
    return out


@numba.njit(cache=True)
def active_paths(x, n_features, left, right, feature, threshold, default_left, value, tree_start, tree_group):
    """For row ``x``: which features each tree's active path tests (n_trees, n_features), and
    each tree's leaf value (n_trees,).

    With ``x_j`` missing, the path from the root down to the first split on ``j`` does not
    depend on ``x_j``; so a tree whose active path never tests ``j`` is constant in ``x_j``
    and adds its leaf value whatever ``x_j`` turns out to be.
    """
    T = tree_group.size
    tests = np.zeros((T, n_features), dtype=np.bool_)
    leaf_value = np.empty(T)
    for t in range(T):
        node = tree_start[t]
        while left[node] >= 0:
            tests[t, feature[node]] = True
            node = left[node] if _goes_left(x[feature[node]], node, threshold, default_left) else right[node]
        leaf_value[t] = value[node]
    return tests, leaf_value


def threshold_ranks(left: np.ndarray, feature: np.ndarray, threshold: np.ndarray,
                    n_features: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each split's threshold as a rank among its feature's distinct thresholds.

    Returns ``node_rank`` (n_nodes,) (−1 at a leaf), ``thresholds`` (n_features, M) (feature
    ``j``'s distinct thresholds in float64, ascending, padded with +inf) and ``n_thresholds``
    (n_features,). Computed once per model, so that :func:`single_feature_steps` works in ranks
    (no per-case sorting of float breakpoints) and a kernel can tabulate anything that depends
    only on a threshold (a conditional model's latent value there) before it sees a case.
    """
    split = left >= 0
    node_rank = np.full(left.size, -1, dtype=np.int64)
    distinct = []
    for j in range(n_features):
        at = np.flatnonzero(split & (feature == j))
        values, rank = np.unique(threshold[at].astype(np.float64), return_inverse=True)
        node_rank[at] = rank
        distinct.append(values)
    M = max(1, max(v.size for v in distinct))
    thresholds = np.full((n_features, M), np.inf)
    for j, v in enumerate(distinct):
        thresholds[j, : v.size] = v
    return node_rank, thresholds, np.array([v.size for v in distinct], dtype=np.int64)


@numba.njit(cache=True)
def single_feature_steps(x, j, tests, leaf_value, left, right, feature, threshold, default_left, value, tree_start,
                         tree_group, base_margin, node_rank, n_thresholds_j, diff, used, stack_node, stack_lo,
                         stack_hi):
    """The ensemble's margin as a step function of ``x_j`` (every other feature as in ``x``), in
    threshold ranks (:func:`threshold_ranks`): the breakpoints as ranks ``r`` (K,) ascending
    (breakpoint k is ``thresholds[j, r[k]]``) and the margins (K+1, G) on the intervals between
    them (interval 0 is ``x_j < b[0]``, interval k is ``b[k−1] ≤ x_j < b[k]``).

    Only trees whose active path tests ``j`` are walked, on both sides of their ``j`` splits;
    every other tree adds its one leaf to a constant.

    A leaf reached between ranks ``lo`` and ``hi`` of ``j`` (−1 and M for the open ends) adds its
    value to intervals ``lo+1 … hi`` of the full rank grid: ``+v`` at ``diff[lo+1]``, ``−v`` at
    ``diff[hi+1]``; the margins are the running sum read at the ranks some leaf starts or ends at
    (every other entry of ``diff`` is 0). ``tests[t, j]`` marks the trees whose active path tests
    ``j``. Workspaces: ``diff`` (≥ M+2, G) and ``used`` (≥ M) all zero on entry and left so;
    ``stack_*`` longer than any one tree.
    """
    G = base_margin.size
    M = n_thresholds_j
    run = base_margin.copy()
    hit = np.empty(M, dtype=np.int64)  # the ranks some leaf starts or ends at, in order of discovery
    K = 0
    for t in range(tree_group.size):
        g = tree_group[t]
        if not tests[t, j]:
            run[g] += leaf_value[t]  # a tree constant in x_j adds its leaf for x
            continue
        stack_node[0] = tree_start[t]
        stack_lo[0] = -1
        stack_hi[0] = M
        top = 1
        while top > 0:
            top -= 1
            node, lo, hi = stack_node[top], stack_lo[top], stack_hi[top]
            if left[node] < 0:
                diff[lo + 1, g] += value[node]
                diff[hi + 1, g] -= value[node]
                if lo >= 0 and not used[lo]:
                    used[lo] = True
                    hit[K] = lo
                    K += 1
                if hi < M and not used[hi]:
                    used[hi] = True
                    hit[K] = hi
                    K += 1
            elif feature[node] == j:
                r = node_rank[node]
                if lo < r:
                    stack_node[top] = left[node]
                    stack_lo[top] = lo
                    stack_hi[top] = min(hi, r)
                    top += 1
                if hi > r:
                    stack_node[top] = right[node]
                    stack_lo[top] = max(lo, r)
                    stack_hi[top] = hi
                    top += 1
            else:
                go_left = _goes_left(x[feature[node]], node, threshold, default_left)
                stack_node[top] = left[node] if go_left else right[node]
                stack_lo[top] = lo
                stack_hi[top] = hi
                top += 1
    ranks = np.sort(hit[:K])
    margins = np.empty((K + 1, G))
    for g in range(G):
        run[g] += diff[0, g]
        diff[0, g] = 0.0
        margins[0, g] = run[g]
    for k in range(K):
        r = ranks[k]
        used[r] = False
        for g in range(G):
            run[g] += diff[r + 1, g]
            diff[r + 1, g] = 0.0
            margins[k + 1, g] = run[g]
    for g in range(G):
        diff[M + 1, g] = 0.0  # the open right ends' −v, never read
    return ranks, margins


def single_feature_grid(x: np.ndarray, j: int, tests: np.ndarray, leaf_value: np.ndarray, left: np.ndarray,
                        right: np.ndarray, feature: np.ndarray, threshold: np.ndarray, default_left: np.ndarray,
                        value: np.ndarray, tree_start: np.ndarray, tree_group: np.ndarray,
                        base_margin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Breakpoints ``b`` (K,) and margins (K+1, G) of the ensemble as a function of ``x_j``, in floats.

    Interval 0 is ``x_j < b[0]``, interval k is ``b[k−1] ≤ x_j < b[k]``, interval K is
    ``x_j ≥ b[K−1]``. ``tests`` is :func:`active_paths`' (n_trees, n_features) array; ``x_j`` itself
    is ignored (treated as observed at every value). :func:`single_feature_steps` with the model's
    thresholds ranked on every call: for tests and one-off use, not for a loop over cases.
    """
    node_rank, thresholds, n_thresholds = threshold_ranks(left, feature, threshold, tests.shape[1])
    M = thresholds.shape[1]
    longest = int(np.diff(tree_start).max()) + 1
    ranks, margins = single_feature_steps(x, j, tests, leaf_value, left, right, feature, threshold, default_left,
                                          value, tree_start, tree_group, base_margin, node_rank, n_thresholds[j],
                                          np.zeros((M + 2, base_margin.size)), np.zeros(M, dtype=np.bool_),
                                          *(np.empty(longest, dtype=np.int64) for _ in range(3)))
    return thresholds[j, ranks], margins
