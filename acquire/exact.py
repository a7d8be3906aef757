"""Exact value of one test for tree-ensemble predictors: a finite sum over the test's intervals.

For a missing feature ``j`` the ensemble's output is constant between the thresholds on ``j``
of the trees whose active path tests ``j`` (:func:`acquire.estimators.trees.single_feature_grid`).
The conditional model gives each interval's probability exactly, so

    V(j | x_o) = value_kernel(w_k = P(x_j ∈ interval k | x_o), p_k = p(y | x_o, x_j ∈ interval k))

with no Monte Carlo error (``se = 0``).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from acquire.estimators.trees import active_path_features, single_feature_grid
from acquire.estimators.value import eig_gaussian_weighted, eig_weighted, evsi_weighted

__all__ = ["ExactTreeValue", "supports_exact"]


def supports_exact(predictor: Any, conditional: Any) -> bool:
    """True when the predictor exposes its trees and the conditional model exact interval masses."""
    return hasattr(predictor, "tree_arrays") and hasattr(conditional, "interval_probabilities")


class ExactTreeValue:
    """Exact EIG/EVSI of single features for one case at a time.

    Attributes
    ----------
    n_intervals_ : int
        Intervals valued in the last call (the predictor evaluations the method needs).
    n_trees_walked_ : int
        Trees revisited in the last call (only those whose active path tests the feature).
    """

    def __init__(self, predictor: Any, conditional: Any, objective: str, utility: np.ndarray | None = None):
        self.predictor = predictor
        self.conditional = conditional
        self.objective = objective
        self.utility = utility
        self.trees = predictor.tree_arrays()

    def values(self, x: np.ndarray, features: Sequence[int], class_probs: np.ndarray | None = None) -> np.ndarray:
        t = self.trees
        affected = active_path_features(x, x.size, t.left, t.right, t.feature, t.threshold, t.default_left,
                                        t.tree_start, t.tree_group)
        out = np.empty(len(features))
        self.n_intervals_ = 0
        self.n_trees_walked_ = 0
        for i, j in enumerate(features):
            column = np.ascontiguousarray(affected[:, j])
            breaks, margins = single_feature_grid(x, j, column, *t.kernel_args())
            dist = self.predictor.distribution_from_margins(margins)
            if class_probs is None:
                w = self.conditional.interval_probabilities(x, j, breaks)
            else:
                w = self.conditional.interval_probabilities(x, j, breaks, class_probs)
            out[i] = self._value(w, dist)
            self.n_intervals_ += breaks.size + 1
            self.n_trees_walked_ += int(column.sum())
        return out

    def _value(self, w: np.ndarray, dist: np.ndarray) -> float:
        if self.predictor.kind_ == "continuous":
            return eig_gaussian_weighted(w, np.ascontiguousarray(dist[:, 0]), np.ascontiguousarray(np.maximum(dist[:, 1], 1e-300)))
        if self.objective == "evsi":
            return evsi_weighted(w, np.ascontiguousarray(dist), self.utility)
        return eig_weighted(w, np.ascontiguousarray(dist))
