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
from scipy.special import ndtr, ndtri, softmax

from acquire.engine.draws import normals_by_count
from acquire.engine.estimator import ValueContext, ValueEstimate, ValueEstimator, open_columns
from acquire.estimators.class_gaussian import (class_score_conditionals, gauss_legendre_table, score_draws, set_values,
                                               single_test_values, weighted_class_value)
from acquire.estimators.conditioning import conditional_factors
from acquire.estimators.value import mean_and_se
from acquire.exceptions import AcquireError

__all__ = ["ClassGaussianEstimator", "ClassGaussianSetEstimator"]

#: cases valued per kernel call (bounds the conditional factors held at once: K × rows × p²)
ROWS_PER_BLOCK = 512

_U_EPS = 1e-9  # the clip of the copula's latent_point: the end knots' scores


class _ClassGaussianValues(ValueEstimator):
    """What both estimators read off the classifier: the objective's utilities, which features are
    discrete, and the end knots' scores (where each continuous score is clipped, as the copula's
    latent_point clips an observed value), warped as the classifier warps its scores."""

    predictor_capability = "class_gaussian"
    target_kinds = frozenset({"binary", "multiclass"})

    def __init__(self, engine: ValueContext) -> None:
        super().__init__(engine)
        self.predictor = engine.predictor
        self.owner = np.ascontiguousarray(self.predictor.component_class_, dtype=np.int64)  # each component's class
        self.evsi = engine.objective == "evsi"
        utility = engine.spec.utility
        self.utility = (np.zeros((1, 1)) if utility is None or not self.evsi
                        else np.ascontiguousarray(utility, dtype=np.float64))
        marginals = self.predictor.copula_.marginals_
        self.discrete = np.array([m.discrete for m in marginals], dtype=bool)
        ends = np.array([ndtri(np.clip(m.u[[0, -1]], _U_EPS, 1 - _U_EPS)) for m in marginals]).reshape(-1, 2)
        ends = self.predictor.warp_scores(ends.T).T  # the model's scores: each continuous one warped (monotone)
        self.lower, self.upper = np.ascontiguousarray(ends[:, 0]), np.ascontiguousarray(ends[:, 1])
        # a discrete feature's levels: upper ends of their latent intervals (the last +inf) and latent points
        self.n_levels = np.array([m.values.size if m.discrete else 0 for m in marginals], dtype=np.int64)
        width = max(int(self.n_levels.max(initial=0)), 1)
        self.cuts, self.points = np.full((len(marginals), width), np.inf), np.zeros((len(marginals), width))
        for j in np.flatnonzero(self.discrete):
            m = marginals[j]
            with np.errstate(divide="ignore"):
                upper = ndtri(np.clip(m.u, 0.0, 1.0))
            upper[-1] = np.inf
            self.cuts[j, :upper.size] = upper
            self.points[j, :upper.size] = m.latent_point(m.values)


class ClassGaussianEstimator(_ClassGaussianValues):
    """Single tests of a class-conditional Gaussian classifier, by quadrature or a finite sum."""

    name = "class_gaussian"
    candidate_kinds = frozenset({"single"})
    quadrature_rtol = 1e-6

    def __init__(self, engine: ValueContext) -> None:
        super().__init__(engine)
        self.nodes, self.weights, self.counts = gauss_legendre_table()
        self.log_priors = np.log(self.predictor.priors_)

    def estimate(self, X: np.ndarray, columns: Sequence[Sequence[int]], cells: np.ndarray,
                 open_: np.ndarray) -> ValueEstimate:
        out = ValueEstimate.empty(*cells.shape)
        quad_error = np.full(cells.shape, np.nan)
        for i in np.flatnonzero(cells.any(axis=1)):
            w, m, s = self.score_conditionals(X[i])
            units = np.flatnonzero(cells[i])
            cols = np.array([open_columns(open_[i], columns[int(u)])[0] for u in units], dtype=np.int64)
            for u, j in zip(units[self.discrete[cols]], cols[self.discrete[cols]]):
                out.value[i, u] = self._discrete(w, m[:, j], s[:, j], int(j))
                out.method[i, u] = "exact"
            smooth = ~self.discrete[cols]
            if smooth.any():
                u = units[smooth]
                out.value[i, u], quad_error[i, u] = single_test_values(
                    w, m, s, cols[smooth], self.lower, self.upper, self.nodes, self.weights, self.counts,
                    self.owner, self.utility, self.evsi, self.quadrature_rtol)
                out.method[i, u] = "quadrature"
        out.diagnostics = {"quadrature_error": quad_error}
        return out

    def score_conditionals(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(w (C,), m (C, p), s (C, p))``: the component probabilities of case ``x`` and, per component,
        the mean and s.d. of each feature's score given the observed ones (NaN for observed features); kernel
        :func:`~acquire.estimators.class_gaussian.class_score_conditionals`."""
        pred = self.predictor
        z = pred.scores(x[None, :])[0]  # once: the prediction and the conditioning share it
        return class_score_conditionals(z, pred.means_, pred.covariances_, self.log_priors)

    def _discrete(self, w: np.ndarray, m: np.ndarray, s: np.ndarray, j: int) -> float:
        """The finite sum over feature ``j``'s levels: ``P(level) = Σ_y w_y P(z ∈ its interval | y)``, and
        the prediction after it ``∝ w_y N(z_level; m_y, s_y²)`` at the level's latent point."""
        upper, points = self.cuts[j, :self.n_levels[j]], self.points[j, :self.n_levels[j]]
        lower = np.concatenate([[-np.inf], upper[:-1]])
        mass = (ndtr((upper[:, None] - m[None, :]) / s[None, :]) - ndtr((lower[:, None] - m[None, :]) / s[None, :])) @ w
        with np.errstate(divide="ignore"):
            logp = np.log(w)[None, :] - 0.5 * ((points[:, None] - m[None, :]) / s[None, :]) ** 2 - np.log(s)[None, :]
        return float(weighted_class_value(np.ascontiguousarray(mass), np.ascontiguousarray(softmax(logp, axis=1)),
                                          self.owner, self.utility, self.evsi))


class ClassGaussianSetEstimator(_ClassGaussianValues):
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
    candidate_kinds = frozenset({"set"})

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
        model = self.score_model(X[rows])
        position = model["position"]
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
        R = self.engine.n_replicates
        replicates, pooled = set_values(
            model["normals"], model["which"], model["m_of"], model["class_cuts"], model["log_weights"],
            model["means"], model["mu"], model["L"], np.asarray(set_case, dtype=np.int64),
            np.asarray(offsets, dtype=np.int64), np.asarray(positions, dtype=np.int64),
            np.asarray(members, dtype=np.int64), *self._score_maps(), self.owner, R, self.utility, self.evsi)
        se = mean_and_se(replicates)[1]
        for k, (i, u) in enumerate(set_cells):
            out.value[i, u], out.se[i, u], out.dof[i, u], out.method[i, u] = pooled[k], se[k], R - 1, "mc"

    def _score_maps(self) -> tuple[np.ndarray, ...]:
        """How a drawn score becomes the score the classifier reads: clipped to the end knots, or a level's point."""
        return self.discrete, self.lower, self.upper, self.cuts, self.points

    def score_model(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """What the draws of encoded cases ``X`` (n, p) need (the arguments of
        :func:`~acquire.estimators.class_gaussian.set_values`): the log class probabilities and their
        ``Φ⁻¹`` cumulative cuts, per class the conditional factors of the missing scores
        (``mu``, ``L``: (K, n, p), (K, n, p, p)), each column's position among the case's missing scores
        (−1 where known or never seen), and the engine's normals for each number of missing scores."""
        from acquire.predictors.copula_classifier import log_posterior

        engine, pred = self.engine, self.predictor
        R, per = engine.n_replicates, engine.n_draws // engine.n_replicates
        Z = pred.scores(X)  # NaN where missing, or where the classifier never saw the feature
        log_w = log_posterior(Z, pred.means_, pred.covariances_, pred.priors_)
        factors = [conditional_factors(np.ascontiguousarray(pred.covariances_[k]), Z - pred.means_[k])
                   for k in range(pred.means_.shape[0])]
        missing = factors[0][0]  # (n, p), −1 padded: the same for every class
        position = np.full(Z.shape, -1, dtype=np.int64)
        for i, j in zip(*np.nonzero(missing >= 0)):
            position[i, missing[i, j]] = j
        m_of = (missing >= 0).sum(axis=1)
        normals, which = normals_by_count(m_of, R, per, 1, engine.seed)  # the first normal picks the class
        with np.errstate(divide="ignore"):
            class_cuts = ndtri(np.clip(np.cumsum(np.exp(log_w), axis=1), 0.0, 1.0))
        return {"normals": normals, "which": which, "m_of": m_of,
                "class_cuts": np.ascontiguousarray(class_cuts), "log_weights": np.ascontiguousarray(log_w),
                "means": np.ascontiguousarray(pred.means_), "mu": np.stack([f[1] for f in factors]),
                "L": np.stack([f[2] for f in factors]), "position": position}

    def case_draws(self, x: np.ndarray, columns: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For the encoded case ``x`` and missing, scored ``columns``: the draws of their scores (R·N, q)
        that the set values use, per class their Gaussian given the known scores (means (K, q),
        covariances (K, q, q)) and ``log p(y | x_o)`` (K,): what
        :func:`~acquire.estimators.class_gaussian.coalition_values` takes for a VOI Shapley game."""
        model = self.score_model(np.asarray(x, dtype=np.float64)[None, :])
        positions = model["position"][0, list(columns)]
        if (positions < 0).any():
            raise AcquireError("case_draws takes columns that are missing and scored by the classifier")
        Z, means, covs = score_draws(model["normals"][0], model["class_cuts"][0], model["means"], model["mu"],
                                     model["L"], np.ascontiguousarray(positions), np.asarray(columns, dtype=np.int64),
                                     *self._score_maps())
        return Z, means, covs, model["log_weights"][0]
