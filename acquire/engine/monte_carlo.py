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

from typing import Any, Sequence

import numpy as np
from scipy.special import ndtr, ndtri

from acquire.conditional.copula import _U_EPS
from acquire.engine.draws import normals_by_count, standard_normal_draws
from acquire.engine.estimator import ValueEstimate, ValueEstimator, open_columns
from acquire.estimators.conditioning import conditional_factors, outcome_counts
from acquire.estimators.value import eig_classes, eig_gaussian, evsi_classes, mean_and_se, values_from_counts
from acquire.exceptions import AcquireError

__all__ = ["MonteCarloEstimator"]


#: rows of a chunk whose draws are made together (bounds the draws held at once: rows × R·N × columns)
ROWS_PER_BLOCK = 512
#: a set of discrete columns with at most this many joint outcomes is valued from its outcome counts
MAX_OUTCOMES = 256
#: predictor rows per call when every draw is predicted (bounds memory)
PREDICT_ROWS = 262_144


class MonteCarloEstimator(ValueEstimator):
    """Monte Carlo over joint draws of the missing features (``method = "mc"``).

    A chunk of cases is valued together: the class weights of every case in one predictor call,
    the latent conditionals of every case in one numba call
    (:func:`~acquire.estimators.conditioning.conditional_factors`), the draws of the columns that are
    valued (from the same normals a single case gets: common random numbers, and the same values
    whatever the chunking), and one predictor call for the rows of many cases. A set of discrete
    columns (a panel of exam findings) has few joint outcomes: the predictor scores each outcome
    once and the value is computed from the outcome counts of each replicate, the same number as
    scoring every draw. A conditional model that is not a packed copula (anything with
    ``sample_from_normals``) is drawn from case by case (:meth:`joint_draws`).
    """

    name = "mc"

    def estimate(self, X: np.ndarray, columns: Sequence[Sequence[int]], cells: np.ndarray,
                 open_: np.ndarray) -> ValueEstimate:
        out = ValueEstimate.empty(*cells.shape)
        rows = np.flatnonzero(cells.any(axis=1))
        for start in range(0, rows.size, ROWS_PER_BLOCK):
            block = rows[start:start + ROWS_PER_BLOCK]
            todo = [np.flatnonzero(cells[i]) for i in block]
            sets = [[open_columns(open_[i], columns[int(u)]) for u in t] for i, t in zip(block, todo)]
            for i, t, (value, se) in zip(block, todo, self.values_for_cases(X[block], sets)):
                out.value[i, t], out.se[i, t] = value, se
                out.dof[i, t] = self.engine.n_replicates - 1
                out.method[i, t] = "mc"
        return out

    def values_for_case(self, x: np.ndarray, candidates: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Value and standard error of acquiring each column set of ``candidates`` for the encoded case ``x``."""
        return self.values_for_cases(np.asarray(x, dtype=np.float64)[None, :], [candidates])[0]

    def values_for_cases(self, X: np.ndarray, candidates: Sequence[Sequence[Sequence[int]]]
                         ) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each encoded case ``X[i]``: value and standard error of each column set in ``candidates[i]``."""
        engine = self.engine
        R, per = engine.n_replicates, engine.n_draws // engine.n_replicates
        results = [(np.zeros(len(c)), np.zeros(len(c))) for c in candidates]
        if not any(cols for cands in candidates for cols in cands):
            return results
        if "packed_copula" not in getattr(engine.conditional, "capabilities", ()):
            return self._values_from_joint_draws(X, candidates, results)
        latent = self._latent(X)
        by_outcomes: dict[tuple[int, ...], list[tuple[int, int]]] = {}
        per_draw: list[list[int]] = [[] for _ in candidates]
        for i, cands in enumerate(candidates):
            for c, cols in enumerate(cands):
                if cols and self._levels(cols) is not None:
                    by_outcomes.setdefault(tuple(cols), []).append((i, c))
                elif cols:
                    per_draw[i].append(c)
        groups = [(list(cols), members, *self._outcome_counts(X, np.array([i for i, _ in members]), list(cols), latent))
                  for cols, members in by_outcomes.items()]
        for (cols, members, grid, counts), pred in zip(groups, self._predict([g[2] for g in groups])):
            reps, pooled = self._values_from_counts(pred.reshape(len(members), counts.shape[-1], -1), counts)
            se = mean_and_se(reps)[1]
            for k, (i, c) in enumerate(members):
                results[i][0][c], results[i][1][c] = pooled[k], se[k]
        batch: list[np.ndarray] = []
        jobs: list[tuple[int, int]] = []
        for i, todo in enumerate(per_draw):
            if not todo:
                continue
            needed = sorted({j for c in todo for j in candidates[i][c]})
            values = self._draws(i, needed, latent)
            for c in todo:
                cols = list(candidates[i][c])
                rows = np.broadcast_to(X[i], (R, per, X.shape[1])).copy()
                rows[..., cols] = values[..., [needed.index(j) for j in cols]]
                batch.append(rows.reshape(-1, X.shape[1]))
                jobs.append((i, c))
        for (i, c), p in zip(jobs, self._predict(batch)):
            p = p.reshape(1, R, per, p.shape[-1])
            replicates = self.kernel(p)[0]
            results[i][0][c] = self._pooled(p)[0]
            results[i][1][c] = mean_and_se(replicates[None, :])[1][0]
        return results

    def _pooled(self, pred: np.ndarray) -> np.ndarray:
        """The point value (C,) from predictions (C, R, N, K): the kernel on all R·N draws pooled (the
        plug-in bias of one replicate shrinks R-fold)."""
        return self.kernel(pred.reshape(pred.shape[0], 1, -1, pred.shape[-1]))[:, 0]

    def _values_from_joint_draws(self, X: np.ndarray, candidates: Sequence[Sequence[Sequence[int]]],
                                 results: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Any conditional model with ``sample_from_normals``: each case's joint draws, every draw scored."""
        engine = self.engine
        R, per = engine.n_replicates, engine.n_draws // engine.n_replicates
        for i, cands in enumerate(candidates):
            todo = [c for c, cols in enumerate(cands) if cols]
            if not todo:
                continue
            joint = self.joint_draws(X[i])
            rows = np.empty((len(todo), R, per, X.shape[1]))
            rows[:] = X[i]
            for k, c in enumerate(todo):
                rows[k][..., list(cands[c])] = joint[..., list(cands[c])]
            pred = engine.predictor.predict_distribution(rows.reshape(-1, X.shape[1]))
            pred = pred.reshape(len(todo), R, per, pred.shape[-1])
            replicates = self.kernel(pred)
            results[i][0][todo], results[i][1][todo] = self._pooled(pred), mean_and_se(replicates)[1]
        return results

    def _predict(self, batch: list[np.ndarray]) -> list[np.ndarray]:
        """Predictive distributions for each block of rows, in as few predictor calls as memory allows."""
        out: list[np.ndarray] = []
        start = 0
        while start < len(batch):
            stop, size = start, 0
            while stop < len(batch) and (stop == start or size + len(batch[stop]) <= PREDICT_ROWS):
                size += len(batch[stop])
                stop += 1
            pred = self.engine.predictor.predict_distribution(np.concatenate(batch[start:stop]))
            bounds = np.cumsum([0] + [len(b) for b in batch[start:stop]])
            out.extend(pred[a:b] for a, b in zip(bounds[:-1], bounds[1:]))
            start = stop
        return out

    def _levels(self, cols: Sequence[int]) -> list[int] | None:
        """Each column's number of levels when every column is a declared-level discrete feature
        and their joint outcomes are at most :data:`MAX_OUTCOMES`; else None."""
        features = self.engine.spec.features
        sizes = [len(features[j].levels or ()) for j in cols]
        if any(size == 0 for size in sizes) or int(np.prod(sizes)) > MAX_OUTCOMES:
            return None
        return sizes

    def _latent(self, X: np.ndarray) -> dict[str, Any]:
        """What the draws of every case need: per conditional component its conditional factors
        (:func:`conditional_factors`), and for a class mixture the cumulative class weights."""
        conditional = self.engine.conditional
        mixture = "class_mixture" in getattr(conditional, "capabilities", ())
        components = list(conditional.components_) if mixture else [conditional]
        factors = []
        for comp in components:
            Z = np.full(X.shape, np.nan)
            for j, marginal in enumerate(comp.marginals_):
                seen = ~np.isnan(X[:, j])
                if seen.any():
                    Z[seen, j] = marginal.latent_point(X[seen, j])
            factors.append(conditional_factors(np.ascontiguousarray(comp.correlation_), Z))
        cum = None
        if mixture:
            w = self.mixture_weights(X)
            cum = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
        return {"components": components, "factors": factors, "cum_weights": cum}

    def _draws(self, i: int, cols: Sequence[int], latent: dict[str, Any]) -> np.ndarray:
        """Case ``i``'s joint draws of ``cols`` (R, N, len(cols)) through their marginals: the draws
        :meth:`joint_draws` makes (``z_M = μ + L e``, the normals of the case's number of missing
        features, the first one choosing the class of a mixture) restricted to the rows of ``L`` of
        the columns asked for."""
        engine = self.engine
        R, per = engine.n_replicates, engine.n_draws // engine.n_replicates
        cum = latent["cum_weights"]
        extra = 0 if cum is None else 1
        missing = latent["factors"][0][0][i]  # −1 padded: the same for every component
        m = int((missing >= 0).sum())
        pos = [int(np.flatnonzero(missing == j)[0]) for j in cols]
        normals = standard_normal_draws(R, per, m + extra, engine.seed)
        e = normals[..., extra:]
        klass = None
        if cum is not None:
            klass = np.minimum(np.searchsorted(cum[i], ndtr(normals[..., 0]), side="right"), cum.shape[1] - 1)
        out = np.empty((R, per, len(cols)))
        for k, (comp, (_, mu, L)) in enumerate(zip(latent["components"], latent["factors"])):
            z = mu[i, pos] + e @ L[i][pos, :m].T
            u = np.clip(ndtr(z), _U_EPS, 1 - _U_EPS)
            drawn = np.stack([comp.marginals_[j].ppf(u[..., a]) for a, j in enumerate(cols)], axis=-1)
            if klass is None:
                return drawn
            out[klass == k] = drawn[klass == k]
        return out

    def _outcome_counts(self, X: np.ndarray, rows: np.ndarray, cols: list[int], latent: dict[str, Any]
                        ) -> tuple[np.ndarray, np.ndarray]:
        """For a discrete candidate and cases ``rows``: the predictor rows of every joint outcome
        (len(rows) · n_outcomes, p) and how often each outcome was drawn per replicate (n, R, n_outcomes),
        counted by :func:`~acquire.estimators.conditioning.outcome_counts` from the same normals,
        conditionals and marginals as :meth:`_draws`."""
        engine = self.engine
        R, per = engine.n_replicates, engine.n_draws // engine.n_replicates
        sizes = self._levels(cols)
        assert sizes is not None
        cum = latent["cum_weights"]
        extra = 0 if cum is None else 1
        missing = latent["factors"][0][0][rows]  # (n, p), −1 padded: the same for every component
        m_of = (missing >= 0).sum(axis=1)
        width = max(int(m_of.max()), 1)
        normals, which = normals_by_count(m_of, R, per, extra, engine.seed)
        pos = (missing[:, :, None] == np.asarray(cols)[None, None, :]).argmax(axis=1)  # (n, d)
        components = latent["components"]
        mu = np.stack([f[1][rows[:, None], pos] for f in latent["factors"]])  # (C, n, d)
        L = np.stack([f[2][rows[:, None], pos, :width] for f in latent["factors"]])  # (C, n, d, width)
        longest = max(comp.marginals_[j].values.size for comp in components for j in cols)
        cuts = np.full((len(components), len(cols), longest), np.inf)
        codes = np.zeros((len(components), len(cols), longest + 1), dtype=np.int64)
        for k, comp in enumerate(components):
            for a, j in enumerate(cols):
                marginal = comp.marginals_[j]
                v = marginal.values.size
                cuts[k, a, :v] = ndtri(np.clip(marginal.u, _U_EPS, 1 - _U_EPS))
                codes[k, a, :v] = np.clip(marginal.values.astype(np.int64), 0, sizes[a] - 1)  # a level's code is its value
                codes[k, a, v:] = codes[k, a, v - 1]
        class_cuts = np.zeros((len(rows), 0)) if cum is None else ndtri(np.clip(cum[rows], 0.0, 1.0))
        counts = outcome_counts(normals, which, m_of, np.ascontiguousarray(class_cuts), np.ascontiguousarray(mu),
                                np.ascontiguousarray(L), cuts, codes, np.asarray(sizes, dtype=np.int64), R)
        n_out = int(np.prod(sizes))
        outcomes = np.array(np.unravel_index(np.arange(n_out), sizes), dtype=np.float64).T  # (n_out, d)
        grid = np.repeat(X[rows], n_out, axis=0)
        grid[:, cols] = np.tile(outcomes, (len(rows), 1))
        return grid, counts

    def _values_from_counts(self, pred: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Replicate values (n, R) and pooled values (n,) from each outcome's prediction (n, n_out, K)
        and its counts (:func:`values_from_counts`)."""
        engine = self.engine
        kind = engine.predictor.kind_
        if kind == "continuous" and engine.objective == "evsi":
            raise AcquireError("objective 'evsi' needs a classification target; use 'eig' for a continuous one")
        objective = 2 if kind == "continuous" else (0 if engine.objective == "eig" else 1)
        U = np.ascontiguousarray(engine.spec.utility) if objective == 1 else np.zeros((1, 1))
        out = values_from_counts(np.ascontiguousarray(pred), counts, U, objective)
        return np.asarray(out[0]), np.asarray(out[1])

    def kernel(self, pred: np.ndarray) -> np.ndarray:
        """Values ``(..., R)`` from predictive distributions ``(..., R, N, K)``: one per replicate of N draws.

        A continuous target's value is the EIG of the draws' Gaussian mixture, its entropy by
        quadrature (:func:`~acquire.estimators.value.eig_gaussian_mixture`).
        """
        engine = self.engine
        if engine.predictor.kind_ == "continuous":
            if engine.objective == "evsi":
                raise AcquireError("objective 'evsi' needs a classification target; use 'eig' for a continuous one")
            return eig_gaussian(np.ascontiguousarray(pred[..., 0]), np.ascontiguousarray(np.maximum(pred[..., 1], 1e-300)))
        if engine.objective == "eig":
            return eig_classes(np.ascontiguousarray(pred))
        return evsi_classes(np.ascontiguousarray(pred), np.ascontiguousarray(engine.spec.utility))

    def mixture_weights(self, X: np.ndarray) -> np.ndarray:
        """The weights (n, C) of a class-mixture conditional model's components for cases ``X``: the
        predictor's ``p(y | x_o)``, or, for a predictor whose classes are themselves mixtures (the copula
        classifier with ``components > 1``), its ``mixture_weights``, ``p(component | x_o)``."""
        own = getattr(self.engine.predictor, "mixture_weights", None)
        return (own if own is not None else self.engine.predictor.predict_distribution)(X)

    def joint_draws(self, x: np.ndarray) -> np.ndarray:
        """``(R, N, p)`` rows: ``x`` with every missing feature drawn jointly (common random numbers).

        A class-mixture conditional model is weighted by the predictor's current ``p(y | x_o)`` (or, for
        a predictor whose classes are mixtures, its ``mixture_weights``: ``p(component | x_o)``).
        """
        engine = self.engine
        n_missing = int(np.isnan(x).sum())
        per = engine.n_draws // engine.n_replicates
        if "class_mixture" in getattr(engine.conditional, "capabilities", ()):
            weights = self.mixture_weights(x[None, :])[0]
            normals = standard_normal_draws(engine.n_replicates, per, n_missing + 1, engine.seed)
            return engine.conditional.sample_from_normals(x, normals, class_probs=weights / weights.sum())
        normals = standard_normal_draws(engine.n_replicates, per, n_missing, engine.seed)
        return engine.conditional.sample_from_normals(x, normals)
