"""Value of a test under a Bayesian predictor, split into aleatoric and epistemic parts (BALD).

With posterior draws ``θ_t`` and the test's possible results ``x_S`` (weights ``w_n``) from the
predictor's own copula, ``P[t, n] = p(y | x_o, x_S^(n), θ_t)`` (the other missing features
integrated out exactly by :meth:`BayesianPredictor.predict_draws`). Then

    EIG = H(p̄) − Σ_n w_n H(p̄_n)                       (p̄_n = mean_t P[t, n]: the predictive)
    aleatoric = mean_t [H(p̄_t) − Σ_n w_n H(P[t, n])]   (what the test tells if θ were known)
    epistemic = EIG − aleatoric = I(y; θ | x_o) − E_{x_S} I(y; θ | x_o, x_S)

The aleatoric part is ≥ 0. The epistemic part is ≤ 0 whenever the features' model does not depend
on θ (as here): measuring more makes the outcome depend on more coefficients, so the parameters'
share of the uncertainty grows; it shrinks towards 0 as the training set grows.

Results: a single continuous test integrates over its latent normal piece by piece between the
marginal's knots (Gauss–Legendre, smooth on each piece; the end atoms exactly), doubling the nodes
per piece until two successive rules agree to 1e-6 relative (method "quadrature", ``se = 0``,
diagnostic ``quadrature_error``: the last change, an estimate of the coarser rule's error); a single discrete test sums over its levels with their exact probabilities
(method "exact", given the stored posterior draws); panels and groups use scrambled-Sobol replicates
(method "mc", ``se`` from the replicates).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from scipy.special import ndtr, ndtri, roots_legendre

from acquire.engine.draws import standard_normal_draws
from acquire.engine.estimator import ValueContext, ValueEstimate, ValueEstimator, open_columns
from acquire.estimators.value import eig_bald_weighted, evsi_weighted

__all__ = ["PosteriorEstimator", "current_split"]


class PosteriorEstimator(ValueEstimator):
    """Values under a Bayesian classifier's posterior draws, with the BALD split of EIG
    (diagnostics ``aleatoric_change`` and ``epistemic_change``; they sum to the value)."""

    name = "posterior"
    predictor_capability = "posterior_draws"
    target_kinds = frozenset({"binary", "multiclass"})
    n_nodes = 2  # Gauss–Legendre nodes per piece of the first rule; doubled until two rules agree
    quadrature_rtol = 1e-6
    max_nodes = 64

    def __init__(self, engine: ValueContext) -> None:
        super().__init__(engine)
        self.predictor = engine.predictor
        self.copula = engine.predictor.copula_
        self.objective = engine.objective
        utility = engine.spec.utility
        self.utility = None if utility is None else np.ascontiguousarray(utility, dtype=np.float64)
        self.n_draws, self.n_replicates, self.seed = engine.n_draws, engine.n_replicates, engine.seed
        self._rules: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def estimate(self, X: np.ndarray, columns: Sequence[Sequence[int]], cells: np.ndarray,
                 open_: np.ndarray) -> ValueEstimate:
        out = ValueEstimate.empty(*cells.shape)
        alea = np.full(cells.shape, np.nan)
        quad_error = np.full(cells.shape, np.nan)
        for i, u in zip(*np.nonzero(cells)):
            cols = open_columns(open_[i], columns[u])
            if len(cols) == 1 and not self.copula.marginals_[cols[0]].discrete:
                (out.value[i, u], alea[i, u]), quad_error[i, u] = self._adaptive(X[i], cols[0])
                out.method[i, u] = "quadrature"
                continue
            parts = np.array([self._one(rows, w) for rows, w in self._results(X[i], cols)])
            out.value[i, u], alea[i, u] = parts.mean(axis=0)
            if len(parts) > 1:
                out.se[i, u] = parts[:, 0].std(ddof=1) / np.sqrt(len(parts))
                out.dof[i, u] = len(parts) - 1
            out.method[i, u] = "exact" if len(parts) == 1 else "mc"
        out.diagnostics = {"aleatoric_change": alea, "epistemic_change": out.value - alea,
                           "quadrature_error": quad_error}
        return out

    def _adaptive(self, x: np.ndarray, j: int) -> tuple[tuple[float, float], float]:
        """((value, aleatoric), error estimate): the piecewise Gauss–Legendre rule of :meth:`_rule`
        with 2, 4, 8, ... nodes per piece until two successive values differ by at most
        ``quadrature_rtol`` relative (or ``max_nodes`` per piece)."""
        n = self.n_nodes
        previous = self._one(*self._rule(x, j, n))
        while True:
            n *= 2
            current = self._one(*self._rule(x, j, n))
            change = abs(current[0] - previous[0])
            if change <= self.quadrature_rtol * abs(current[0]) + 1e-15 or n >= self.max_nodes:
                return current, change
            previous = current

    def _rule(self, x: np.ndarray, j: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and weights integrating over test ``j``'s result given ``x``, in its standardized
        latent ``s ~ N(0, 1)`` (``x_j = F⁻¹(Φ(μ + σ s))``).

        ``F⁻¹`` is linear between the marginal's knots and constant beyond its end knots (atoms), so
        the integrand is smooth between the knots' images ``s_i`` and constant outside them: each
        end atom gets its exact probability, and each piece between knots ``n`` Gauss–Legendre
        nodes (weighted by ``φ``), which converge geometrically on a smooth piece. Pieces holding
        less than 1e-16 of the probability are left out.
        """
        marginal = self.copula.marginals_[j]
        missing, mu, cov = self.copula.latent_conditional(x)
        k = int(np.flatnonzero(missing == j)[0])
        centre, scale = mu[k], np.sqrt(cov[k, k])
        knots = (ndtri(np.clip(marginal.u, 1e-300, 1 - 1e-16)) - centre) / scale
        mass = ndtr(knots)
        if n not in self._rules:
            self._rules[n] = roots_legendre(n)
        t, wt = self._rules[n]
        a, b = knots[:-1], knots[1:]
        live = np.diff(mass) > 1e-16
        a, b = a[live], b[live]
        nodes = ((a + b) / 2)[:, None] + ((b - a) / 2)[:, None] * t[None, :]
        weights = ((b - a) / 2)[:, None] * wt[None, :] * np.exp(-0.5 * nodes ** 2) / np.sqrt(2 * np.pi)
        values = np.concatenate([[marginal.values[0], marginal.values[-1]],
                                 marginal.ppf(ndtr(centre + scale * nodes.ravel()))])
        w = np.concatenate([[mass[0], 1.0 - mass[-1]], weights.ravel()])
        rows = np.repeat(x[None, :], values.size, axis=0)
        rows[:, j] = values
        return rows, w / w.sum()

    def _results(self, x: np.ndarray, cols: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
        """The possible results of a discrete single test or of a set, as replicate sets of (rows (N, p),
        weights (N,)); a continuous single test goes through :meth:`_adaptive`."""
        if len(cols) == 1:
            j = cols[0]
            levels = self.copula.marginals_[j].values
            w = self.copula.interval_probabilities(x, j, levels[1:])  # interval k = [level_k, level_k+1)
            rows = np.repeat(x[None, :], levels.size, axis=0)
            rows[:, j] = levels
            return [(rows, w)]
        per = self.n_draws // self.n_replicates
        normals = standard_normal_draws(self.n_replicates, per, int(np.isnan(x).sum()), self.seed)
        out = []
        for r in range(self.n_replicates):
            full = self.copula.sample_from_normals(x, normals[r])
            rows = np.repeat(x[None, :], per, axis=0)
            rows[:, cols] = full[:, cols]
            out.append((rows, np.full(per, 1.0 / per)))
        return out

    def _one(self, rows: np.ndarray, w: np.ndarray) -> tuple[float, float]:
        P = np.ascontiguousarray(self.predictor.predict_draws(rows))  # (T, N, K)
        if self.objective == "evsi":
            return float(evsi_weighted(w, P.mean(axis=0), self.utility)), float("nan")
        return eig_bald_weighted(np.ascontiguousarray(w, dtype=np.float64), P)


def current_split(predictor: Any, x: np.ndarray) -> dict:
    """The BALD split of the current predictive uncertainty about y: ``H = aleatoric + epistemic``,
    ``aleatoric = E_θ H(y | x_o, θ)`` and ``epistemic = I(y; θ | x_o)`` (nats).

    Classes: exact entropies. Gaussian: ``epistemic = ½ log(Var_pred / E_θ σ²_θ)`` with the
    predictive moment-matched, which is exact for a Gaussian posterior of a linear model
    (``½ log(1 + x*ᵀ Σ_n x* / σ²)``, the information a new measurement of y gives about θ).
    """
    D = predictor.predict_draws(x[None, :])[:, 0, :]  # (T, K) or (T, 2)
    if predictor.kind_ == "continuous":
        mean, var = D[:, 0], D[:, 1]
        aleatoric = float(np.mean(0.5 * np.log(2 * np.pi * math.e * var)))
        total = 0.5 * np.log(2 * np.pi * math.e * (var.mean() + mean.var()))
        return {"aleatoric": aleatoric, "epistemic": float(total - aleatoric)}
    h = lambda p: float(-np.sum(np.where(p > 0, p * np.log(np.clip(p, 1e-300, None)), 0.0), axis=-1).mean())
    aleatoric = h(D)
    return {"aleatoric": aleatoric, "epistemic": h(D.mean(axis=0)[None, :]) - aleatoric}
