"""Exact value of one test for tree-ensemble predictors: a finite sum over the test's intervals.

For a missing feature ``j`` the ensemble's output is constant between the thresholds on ``j``
of the trees whose active path tests ``j`` (:func:`acquire.estimators.trees.single_feature_grid`).
The conditional model gives each interval's probability exactly, so

    V(j | x_o) = value_kernel(w_k = P(x_j ∈ interval k | x_o), p_k = p(y | x_o, x_j ∈ interval k))

with no Monte Carlo error (``se = 0``). All of it runs in one numba call per batch of cases
(:func:`acquire.estimators.exact_batch.exact_values_batch`; ``exact_gaussian_batch`` for a continuous
target).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from acquire.engine.estimator import ValueContext, ValueEstimate, ValueEstimator, open_columns
from acquire.estimators.exact_batch import (LINK_GAUSSIAN, LINK_SIGMOID, LINK_SOFTMAX, OBJ_EIG, OBJ_EVSI,
                                            exact_gaussian_batch, exact_gaussian_serial, exact_values_batch,
                                            exact_values_serial, threshold_latents)
from acquire.estimators.trees import threshold_ranks

__all__ = ["ExactTreeEstimator", "ExactTreeValue"]

_LINKS = {"binary": LINK_SIGMOID, "multiclass": LINK_SOFTMAX, "continuous": LINK_GAUSSIAN}


class ExactTreeValue:
    """Exact EIG/EVSI of single features, for one case or a batch.

    Attributes
    ----------
    n_intervals_ : ndarray of shape (n_cases,)
        Intervals valued per case in the last call: the predictor evaluations the method needs.
    """

    def __init__(self, predictor: Any, conditional: Any, objective: str, utility: np.ndarray | None = None):
        self.predictor = predictor
        self.objective = objective
        self.trees = predictor.tree_arrays()
        self.link = _LINKS[predictor.kind_]
        self.objective_code = OBJ_EVSI if objective == "evsi" else OBJ_EIG
        self.utility = np.zeros((1, 1)) if utility is None else np.ascontiguousarray(utility, dtype=np.float64)
        self.conditional = conditional.packed()
        c = self.conditional
        # once per model: each split's threshold rank, and each threshold's latent value under each copula
        self.node_rank, thresholds, self.n_thresholds = threshold_ranks(self.trees.left, self.trees.feature,
                                                                        self.trees.threshold, c["corr"].shape[1])
        self.latent = threshold_latents(thresholds, self.n_thresholds, c["values"], c["u"], c["n_knots"],
                                        c["discrete"])

    def batch_values(self, X: np.ndarray, candidates: np.ndarray | None = None) -> np.ndarray:
        """Values (n, p) of every missing feature of every row of ``X`` (NaN where observed or not asked)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        mask = np.isnan(X) if candidates is None else np.ascontiguousarray(candidates, dtype=np.bool_) & np.isnan(X)
        c = self.conditional
        if self.link == LINK_GAUSSIAN:
            kernel = exact_gaussian_serial if len(X) < 64 else exact_gaussian_batch  # threads pay off on batches
        else:
            kernel = exact_values_serial if len(X) < 64 else exact_values_batch
        out, self.n_intervals_, self.quadrature_error_ = kernel(
            X, mask, *self.trees.kernel_args(), self.link, self.objective_code, self.utility,
            c["corr"], c["values"], c["u"], c["n_knots"], c["discrete"], self.node_rank, self.n_thresholds, self.latent)
        return out

    def values(self, x: np.ndarray, features: Sequence[int]) -> np.ndarray:
        """Values of the missing ``features`` of one encoded case ``x``."""
        mask = np.zeros((1, x.size), dtype=np.bool_)
        mask[0, list(features)] = True
        return self.batch_values(x[None, :], mask)[0, list(features)]


#: the method label of a continuous target's EIG: the predictive mixture's entropy ``h(Σ_k w_k N(m_k, v_k))``
#: by piecewise Gauss–Legendre over the components' supports, panels halved until two rules agree to 1e-6 relative
#: (:func:`acquire.estimators.value.eig_gaussian_mixture`); the change is the ``quadrature_error``
#: diagnostic. (It used to be the moment-matched Gaussian's entropy, an upper bound: 1.846 nats for
#: y = 3·sign(x0) + 0.5ε, where the EIG of x0 is log 2 = 0.693.)
CONTINUOUS_METHOD = "quadrature"


class ExactTreeEstimator(ValueEstimator):
    """Single tests of a tree ensemble with a copula conditional model, for a whole batch in one
    numba call (``method = "exact"``, ``se = 0``; a continuous target's EIG integrates the predictive
    mixture's entropy by quadrature, ``method = "quadrature"`` with its ``quadrature_error``)."""

    name = "exact"
    predictor_capability = "tree_ensemble"
    conditional_capability = "packed_copula"
    candidate_kinds = frozenset({"single"})

    def __init__(self, engine: ValueContext) -> None:
        super().__init__(engine)
        self.values_ = ExactTreeValue(engine.predictor, engine.conditional, engine.objective, engine.spec.utility)

    def estimate(self, X: np.ndarray, columns: Sequence[Sequence[int]], cells: np.ndarray,
                 open_: np.ndarray) -> ValueEstimate:
        out = ValueEstimate.empty(*cells.shape)
        rows = np.flatnonzero(cells.any(axis=1))
        if rows.size == 0:
            return out
        i, u = np.nonzero(cells)
        column = np.array([open_columns(open_[r], columns[int(c)])[0] for r, c in zip(i, u)], dtype=np.int64)
        mask = np.zeros(X.shape, dtype=np.bool_)  # the one missing column of each single candidate
        mask[i, column] = True
        batch = self.values_.batch_values(X[rows], mask[rows])
        at = np.full(X.shape[0], -1)
        at[rows] = np.arange(rows.size)
        out.value[i, u] = batch[at[i], column]
        if self.engine.predictor.kind_ == "continuous":  # the mixture's entropy by quadrature
            out.method[i, u] = CONTINUOUS_METHOD
            out.diagnostics["quadrature_error"] = np.full(X.shape[:1] + (len(columns),), np.nan)
            out.diagnostics["quadrature_error"][i, u] = self.values_.quadrature_error_[at[i], column]
        else:
            out.method[i, u] = "exact"
        return out
