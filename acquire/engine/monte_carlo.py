"""Monte Carlo values with common random numbers: any predictor, any candidate, any objective.

For a case ``x`` every missing feature is drawn jointly from the conditional model through
``R`` independently scrambled Sobol sets of ``N`` normals (:func:`~acquire.engine.draws.standard_normal_draws`),
shared by every candidate. A candidate's rows take its columns from the draws, the predictor
scores them, and the value kernel (:mod:`acquire.estimators.value`) turns the ``R × N``
predictions into a value. The point estimate pools all ``R·N`` draws (the plug-in ``H(p̄)`` is
biased by about ``−V/N``, so pooling shrinks the bias R-fold); the spread of the R replicate
values gives its standard error, with ``R − 1`` degrees of freedom.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from acquire.engine.draws import standard_normal_draws
from acquire.engine.estimator import ValueEstimate, ValueEstimator, open_columns
from acquire.estimators.value import eig_classes, eig_gaussian, evsi_classes, mean_and_se
from acquire.exceptions import AcquireError

__all__ = ["MonteCarloEstimator"]


class MonteCarloEstimator(ValueEstimator):
    """Monte Carlo over joint draws of the missing features (``method = "mc"``)."""

    name = "mc"

    def estimate(self, X: np.ndarray, columns: Sequence[Sequence[int]], cells: np.ndarray,
                 open_: np.ndarray) -> ValueEstimate:
        out = ValueEstimate.empty(*cells.shape)
        for i in np.flatnonzero(cells.any(axis=1)):
            todo = np.flatnonzero(cells[i])
            value, se = self.values_for_case(X[i], [open_columns(open_[i], columns[int(u)]) for u in todo])
            out.value[i, todo], out.se[i, todo] = value, se
            out.dof[i, todo] = self.engine.n_replicates - 1
            out.method[i, todo] = "mc_gaussian_bound" if self.engine.predictor.kind_ == "continuous" else "mc"
        return out

    def values_for_case(self, x: np.ndarray, candidates: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Value and standard error of acquiring each column set of ``candidates`` for the encoded case ``x``."""
        engine = self.engine
        if not candidates:
            return np.zeros(0), np.zeros(0)
        per = engine.n_draws // engine.n_replicates
        joint = self.joint_draws(x)  # (R, N, p): every missing feature drawn
        rows = np.empty((len(candidates), engine.n_replicates, per, x.size))
        rows[:] = x
        for c, cols in enumerate(candidates):
            rows[c][..., list(cols)] = joint[..., list(cols)]
        pred = engine.predictor.predict_distribution(rows.reshape(-1, x.size))
        pred = pred.reshape(len(candidates), engine.n_replicates, per, pred.shape[-1])
        replicates = self.kernel(pred)
        pooled = self.kernel(pred.reshape(len(candidates), 1, -1, pred.shape[-1]))[:, 0]
        return pooled, mean_and_se(replicates)[1]

    def kernel(self, pred: np.ndarray) -> np.ndarray:
        """Values ``(..., R)`` from predictive distributions ``(..., R, N, K)``: one per replicate of N draws."""
        engine = self.engine
        if engine.predictor.kind_ == "continuous":
            if engine.objective == "evsi":
                raise AcquireError("objective 'evsi' needs a classification target; use 'eig' for a continuous one")
            return eig_gaussian(np.ascontiguousarray(pred[..., 0]), np.ascontiguousarray(np.maximum(pred[..., 1], 1e-300)))
        if engine.objective == "eig":
            return eig_classes(np.ascontiguousarray(pred))
        return evsi_classes(np.ascontiguousarray(pred), np.ascontiguousarray(engine.spec.utility))

    def joint_draws(self, x: np.ndarray) -> np.ndarray:
        """``(R, N, p)`` rows: ``x`` with every missing feature drawn jointly (common random numbers).

        A class-mixture conditional model is weighted by the predictor's current ``p(y | x_o)``.
        """
        engine = self.engine
        n_missing = int(np.isnan(x).sum())
        per = engine.n_draws // engine.n_replicates
        if "class_mixture" in getattr(engine.conditional, "capabilities", ()):
            weights = engine.predictor.predict_distribution(x[None, :])[0]
            normals = standard_normal_draws(engine.n_replicates, per, n_missing + 1, engine.seed)
            return engine.conditional.sample_from_normals(x, normals, class_probs=weights / weights.sum())
        normals = standard_normal_draws(engine.n_replicates, per, n_missing, engine.seed)
        return engine.conditional.sample_from_normals(x, normals)
