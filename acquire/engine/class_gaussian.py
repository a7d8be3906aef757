"""Values of single tests under the copula classifier (:class:`~acquire.predictors.CopulaClassifier`).

The classifier is Gaussian in its scores within each class, so a missing test's score given the
observed ones is, per class, a 1-D Gaussian ``N(m_y, s_y²)`` (Gaussian conditioning), and the
prediction after the result is Bayes' rule on it. Nothing is sampled:

- a continuous test integrates over its score by a piecewise Gauss–Legendre rule, doubling the nodes
  until two rules agree to 1e-6 relative (method ``"quadrature"``, diagnostic ``quadrature_error``),
  kernel :func:`acquire.estimators.class_gaussian.single_test_value`;
- a discrete test sums over its levels, each with its probability under the mixture (method
  ``"exact"``); the prediction after a level uses the level's latent point, as the classifier does.

Panels and groups (sets) go to Monte Carlo, over the classifier's own conditional model.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.special import ndtr, ndtri

from acquire.engine.estimator import ValueContext, ValueEstimate, ValueEstimator, open_columns
from acquire.estimators.class_gaussian import class_score_conditionals, gauss_legendre_table, single_test_values
from acquire.estimators.value import eig_weighted, evsi_weighted

__all__ = ["ClassGaussianEstimator"]

_U_EPS = 1e-9  # the clip of the copula's latent_point: the end knots' scores


class ClassGaussianEstimator(ValueEstimator):
    """Single tests of a class-conditional Gaussian classifier, by quadrature or a finite sum."""

    name = "class_gaussian"
    predictor_capability = "class_gaussian"
    candidate_kinds = frozenset({"single"})
    target_kinds = frozenset({"binary", "multiclass"})
    quadrature_rtol = 1e-6

    def __init__(self, engine: ValueContext) -> None:
        super().__init__(engine)
        self.predictor = engine.predictor
        self.evsi = engine.objective == "evsi"
        utility = engine.spec.utility
        self.utility = (np.zeros((1, 1)) if utility is None or not self.evsi
                        else np.ascontiguousarray(utility, dtype=np.float64))
        self.nodes, self.weights, self.counts = gauss_legendre_table()
        marginals = self.predictor.copula_.marginals_
        self.discrete = np.array([m.discrete for m in marginals], dtype=bool)
        # each continuous score is clipped to its marginal's end knots (the copula's latent_point)
        ends = np.array([ndtri(np.clip(m.u[[0, -1]], _U_EPS, 1 - _U_EPS)) for m in marginals]).reshape(-1, 2)
        self.lower, self.upper = np.ascontiguousarray(ends[:, 0]), np.ascontiguousarray(ends[:, 1])
        self.log_priors = np.log(self.predictor.priors_)

    def estimate(self, X: np.ndarray, columns: Sequence[Sequence[int]], cells: np.ndarray,
                 open_: np.ndarray) -> ValueEstimate:
        out = ValueEstimate.empty(*cells.shape)
        quad_error = np.full(cells.shape, np.nan)
        marginals = self.predictor.copula_.marginals_
        for i in np.flatnonzero(cells.any(axis=1)):
            w, m, s = self.score_conditionals(X[i])
            units = np.flatnonzero(cells[i])
            cols = np.array([open_columns(open_[i], columns[int(u)])[0] for u in units], dtype=np.int64)
            for u, j in zip(units[self.discrete[cols]], cols[self.discrete[cols]]):
                out.value[i, u] = self._discrete(w, m[:, j], s[:, j], marginals[j])
                out.method[i, u] = "exact"
            smooth = ~self.discrete[cols]
            if smooth.any():
                u = units[smooth]
                out.value[i, u], quad_error[i, u] = single_test_values(
                    w, m, s, cols[smooth], self.lower, self.upper, self.nodes, self.weights, self.counts,
                    self.utility, self.evsi, self.quadrature_rtol)
                out.method[i, u] = "quadrature"
        out.diagnostics = {"quadrature_error": quad_error}
        return out

    def score_conditionals(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(w (K,), m (K, p), s (K, p))``: the class probabilities of case ``x`` and, per class, the mean
        and s.d. of each feature's score given the observed ones (NaN for observed features); kernel
        :func:`~acquire.estimators.class_gaussian.class_score_conditionals`."""
        pred = self.predictor
        z = pred.scores(x[None, :])[0]  # once: the prediction and the conditioning share it
        return class_score_conditionals(z, pred.means_, pred.covariances_, self.log_priors)

    def _discrete(self, w: np.ndarray, m: np.ndarray, s: np.ndarray, marginal) -> float:
        """The finite sum over the levels: ``P(level) = Σ_y w_y P(z ∈ its interval | y)``, and the
        prediction after it ``∝ w_y N(z_level; m_y, s_y²)`` at the level's latent point."""
        with np.errstate(divide="ignore"):
            upper = ndtri(np.clip(marginal.u, 0.0, 1.0))
        upper[-1] = np.inf
        lower = np.concatenate([[-np.inf], upper[:-1]])
        mass = (ndtr((upper[:, None] - m[None, :]) / s[None, :]) - ndtr((lower[:, None] - m[None, :]) / s[None, :])) @ w
        points = marginal.latent_point(marginal.values)
        with np.errstate(divide="ignore"):
            logp = np.log(w)[None, :] - 0.5 * ((points[:, None] - m[None, :]) / s[None, :]) ** 2 - np.log(s)[None, :]
        P = np.exp(logp - logp.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        W = np.ascontiguousarray(mass / mass.sum())
        if self.evsi:
            return float(evsi_weighted(W, np.ascontiguousarray(P), self.utility))
        return float(eig_weighted(W, np.ascontiguousarray(P)))
