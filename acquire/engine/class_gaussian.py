"""Values of tests under the copula classifier (:class:`~acquire.predictors.CopulaClassifier`).

The classifier is Gaussian in its scores within each class, so a missing test's score given the
observed ones is, per class, a 1-D Gaussian ``N(m_y, s_y²)`` (Gaussian conditioning), and the
prediction after the result is Bayes' rule on it. Nothing is sampled:

- a continuous test integrates over its score by a piecewise Gauss–Legendre rule, doubling the nodes
  until two rules agree to 1e-6 relative (method ``"quadrature"``, diagnostic ``quadrature_error``),
  kernel :func:`acquire.estimators.class_gaussian.single_test_value`;
- a discrete test sums over its levels, each with its probability under the mixture (method
  ``"exact"``); the prediction after a level uses the level's latent point, as the classifier does.

Panels and groups (sets) are valued by Monte Carlo on the classifier's scores
(:class:`ClassGaussianSetEstimator`, method ``"mc"``, kernel
:func:`acquire.estimators.class_gaussian.set_values`): the draws are the conditional model's
(the classifier's own class copulas, the same normals the generic Monte Carlo estimator uses)
taken straight in score space, and each draw's prediction is Bayes' rule on the set's scores. No
draw goes back through the marginals to a feature value and no predictor row is built, which is
what made a file with panels of lab values several times slower than one without.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.special import ndtr, ndtri

from acquire.engine.draws import standard_normal_draws
from acquire.engine.estimator import ValueContext, ValueEstimate, ValueEstimator, open_columns
from acquire.estimators.class_gaussian import (class_score_conditionals, gauss_legendre_table, set_values,
                                               single_test_values)
from acquire.estimators.conditioning import conditional_factors
from acquire.estimators.value import eig_weighted, evsi_weighted, mean_and_se

__all__ = ["ClassGaussianEstimator", "ClassGaussianSetEstimator"]

#: cases valued per kernel call (bounds the conditional factors held at once: K × rows × p²)
ROWS_PER_BLOCK = 512

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


class ClassGaussianSetEstimator(ValueEstimator):
    """Sets of tests (panels, groups) of a class-conditional Gaussian classifier, by Monte Carlo on its scores.

    A block of cases is valued in one numba call (:func:`~acquire.estimators.class_gaussian.set_values`):
    per case and class the Gaussian of the missing scores given the known ones
    (:func:`~acquire.estimators.conditioning.conditional_factors`, one call per class for the block),
    the engine's scrambled Sobol normals shared by every set of the case and by every case with as
    many missing scores (common random numbers), and per set and class one factor of the set's block.
    The standard error comes from the ``n_replicates`` independent scrambles (``n_replicates − 1``
    degrees of freedom); the point value pools every draw, as :class:`~acquire.engine.monte_carlo.MonteCarloEstimator` does.
    """

    name = "class_gaussian_sets"
    predictor_capability = "class_gaussian"
    candidate_kinds = frozenset({"set"})
    target_kinds = frozenset({"binary", "multiclass"})

    def __init__(self, engine: ValueContext) -> None:
        super().__init__(engine)
        self.predictor = engine.predictor
        self.evsi = engine.objective == "evsi"
        utility = engine.spec.utility
        self.utility = (np.zeros((1, 1)) if utility is None or not self.evsi
                        else np.ascontiguousarray(utility, dtype=np.float64))
        marginals = self.predictor.copula_.marginals_
        p = len(marginals)
        self.discrete = np.array([m.discrete for m in marginals], dtype=bool)
        ends = np.array([ndtri(np.clip(m.u[[0, -1]], _U_EPS, 1 - _U_EPS)) for m in marginals]).reshape(-1, 2)
        self.lower, self.upper = np.ascontiguousarray(ends[:, 0]), np.ascontiguousarray(ends[:, 1])
        # a discrete feature's levels: upper ends of their latent intervals (the last +inf) and latent points
        width = max([m.values.size for m in marginals if m.discrete] + [1])
        self.cuts, self.points = np.full((p, width), np.inf), np.zeros((p, width))
        for j in np.flatnonzero(self.discrete):
            m = marginals[j]
            with np.errstate(divide="ignore"):
                upper = ndtri(np.clip(m.u, 0.0, 1.0))
            upper[-1] = np.inf
            self.cuts[j, :upper.size] = upper
            self.points[j, :upper.size] = m.latent_point(m.values)

    def estimate(self, X: np.ndarray, columns: Sequence[Sequence[int]], cells: np.ndarray,
                 open_: np.ndarray) -> ValueEstimate:
        out = ValueEstimate.empty(*cells.shape)
        rows = np.flatnonzero(cells.any(axis=1))
        for start in range(0, rows.size, ROWS_PER_BLOCK):
            self._block(X, columns, cells, open_, rows[start:start + ROWS_PER_BLOCK], out)
        return out

    def _block(self, X: np.ndarray, columns: Sequence[Sequence[int]], cells: np.ndarray, open_: np.ndarray,
               rows: np.ndarray, out: ValueEstimate) -> None:
        """Value the cells of ``rows`` into ``out``."""
        from acquire.predictors.copula_classifier import log_posterior

        engine, pred = self.engine, self.predictor
        R, per = engine.n_replicates, engine.n_draws // engine.n_replicates
        Z = pred.scores(X[rows])  # NaN where missing, or where the classifier never saw the feature
        log_w = log_posterior(Z, pred.means_, pred.covariances_, pred.priors_)
        factors = [conditional_factors(np.ascontiguousarray(pred.covariances_[k]), Z - pred.means_[k])
                   for k in range(pred.means_.shape[0])]
        missing = factors[0][0]  # (n, p), −1 padded: the same for every class
        position = np.full(Z.shape, -1, dtype=np.int64)
        for i, j in zip(*np.nonzero(missing >= 0)):
            position[i, missing[i, j]] = j
        set_case, set_cells, offsets, positions, members = [], [], [0], [], []
        for r, i in enumerate(rows):
            for u in np.flatnonzero(cells[i]):
                scored = [j for j in open_columns(open_[i], columns[int(u)]) if position[r, j] >= 0]
                if not scored:  # nothing the classifier can score: the prediction cannot move
                    out.value[i, u], out.method[i, u] = 0.0, "exact"
                    continue
                set_case.append(r)
                set_cells.append((i, u))
                positions += [int(position[r, j]) for j in scored]
                members += scored
                offsets.append(len(members))
        if not set_cells:
            return
        m_of = (missing >= 0).sum(axis=1)
        distinct = np.unique(m_of)
        normals = np.zeros((distinct.size, R * per, int(distinct.max()) + 1))
        for g, m in enumerate(distinct):
            normals[g, :, : int(m) + 1] = standard_normal_draws(R, per, int(m) + 1, engine.seed).reshape(R * per, -1)
        with np.errstate(divide="ignore"):
            class_cuts = ndtri(np.clip(np.cumsum(np.exp(log_w), axis=1), 0.0, 1.0))
        replicates, pooled = set_values(
            normals, np.searchsorted(distinct, m_of), m_of, np.ascontiguousarray(class_cuts), np.ascontiguousarray(log_w),
            np.ascontiguousarray(pred.means_), np.stack([f[1] for f in factors]), np.stack([f[2] for f in factors]),
            np.asarray(set_case, dtype=np.int64), np.asarray(offsets, dtype=np.int64), np.asarray(positions, dtype=np.int64),
            np.asarray(members, dtype=np.int64), self.lower, self.upper, self.discrete, self.cuts, self.points, R,
            self.utility, self.evsi)
        se = mean_and_se(replicates)[1]
        for k, (i, u) in enumerate(set_cells):
            out.value[i, u], out.se[i, u], out.dof[i, u], out.method[i, u] = pooled[k], se[k], R - 1, "mc"
