"""The value-of-information engine: rank a case's missing tests by value per cost, and say when to stop.

For observed ``x_o`` and a candidate set ``S`` (a feature, a panel or a group),

    V(S | x_o) = E_{x_S ~ p(x_S | x_o)} [ u(p(y | x_o, x_S)) ] − u(E_{x_S}[p(y | x_o, x_S)])

with ``u = −H`` (EIG, nats) or ``u(p) = max_a Σ_y U[a, y] p(y)`` (EVSI, utility units).
Draws of ``x_S`` come from the conditional model through scrambled Sobol normals shared
by every candidate (common random numbers); ``R`` independent scrambles give the standard
error. Single tests of a tree ensemble are valued exactly instead (:mod:`acquire.exact`,
``se = 0``). ``net_value = value − price × λ``; the engine recommends the best affordable test by
``value_per_cost`` among those with positive net value, and recommends stopping when none has.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.special import ndtri
from scipy.stats import qmc

from acquire.costs import price
from acquire.estimators.value import eig_classes, eig_gaussian, entropy, evsi_classes, mean_and_se
from acquire.exact import ExactTreeValue, supports_exact
from acquire.posterior_value import PosteriorValue, current_split, supports_posterior
from acquire.exceptions import AcquireError, NotFittedError
from acquire.predictors.base import Predictor
from acquire.spec import Spec

__all__ = ["CandidateValue", "Ranking", "ValueOfInformation", "standard_normal_draws"]


@dataclass
class CandidateValue:
    """One candidate test's value, price and derived ratios."""

    feature: str
    kind: str
    members: tuple[str, ...]
    cost: float
    value: float
    se: float
    net_value: float
    value_per_cost: float | None  # None when the test is free
    within_budget: bool = True
    method: str = "mc"  # "exact" or "quadrature" (no Monte Carlo error, se = 0) or "mc"
    aleatoric: float | None = None  # Bayesian predictors, EIG: value = aleatoric + epistemic
    epistemic: float | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["members"] = list(self.members)
        if self.kind == "feature":
            del d["members"]
        if self.aleatoric is None:
            del d["aleatoric"], d["epistemic"]
        return d


@dataclass
class Ranking:
    """The engine's answer for one case (see DESIGN.md, ``rank --format json``).

    Attributes
    ----------
    candidates : list of CandidateValue
        Sorted best first: free tests, then by ``value_per_cost``.
    stop : bool
        True when no affordable candidate has positive net value.
    recommendation : str or None
        The test to order next, or None when stopping.
    """

    case: dict
    objective: str
    current: dict
    candidates: list[CandidateValue]
    stop: bool
    recommendation: str | None
    stop_reason: str | None = None
    exchange_rate: float = 0.0
    budget: float | None = None
    currency: str | None = None
    n_draws: int = 0
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {
            "case": self.case,
            "objective": self.objective,
            "current": self.current,
            "candidates": [c.to_dict() for c in self.candidates],
            "stop": self.stop,
            "recommendation": self.recommendation,
            "stop_reason": self.stop_reason,
            "exchange_rate": self.exchange_rate,
            "budget": self.budget,
            "currency": self.currency,
            "n_draws": self.n_draws,
        }
        out.update(self.extra)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per candidate, best first."""
        rows = [c.to_dict() | {"members": ",".join(c.members)} for c in self.candidates]
        return pd.DataFrame(rows, columns=["feature", "kind", "members", "cost", "value", "se", "net_value",
                                           "value_per_cost", "within_budget", "method"])

    def __repr__(self) -> str:
        what = f"recommend {self.recommendation}" if not self.stop else f"stop ({self.stop_reason})"
        return f"<Ranking of {len(self.candidates)} candidate tests by {self.objective.upper()}: {what}>"


@lru_cache(maxsize=64)
def standard_normal_draws(n_replicates: int, n_per_replicate: int, dim: int, seed: int) -> np.ndarray:
    """``(R, N, dim)`` standard normals from R independently scrambled Sobol sets (randomized QMC).

    Cached and read-only: the same seed gives the same draws for every case (common random numbers).
    """
    if dim == 0:
        return np.zeros((n_replicates, n_per_replicate, 0))
    rng = np.random.default_rng(seed)
    out = np.empty((n_replicates, n_per_replicate, dim))
    for r in range(n_replicates):
        u = qmc.Sobol(d=dim, scramble=True, seed=rng).random_base2(int(math.log2(n_per_replicate)))
        out[r] = ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    out.flags.writeable = False
    return out


class ValueOfInformation:
    """Rank the missing tests of a case by their value of information per unit cost.

    Parameters
    ----------
    predictor : Predictor
        A fitted model of ``p(y | x)`` that accepts NaN.
    conditional : object with ``sample_from_normals(x, normals)``
        A fitted conditional model ``p(x_M | x_o)`` (e.g. :class:`~acquire.conditional.GaussianCopula`).
    spec : Spec
    objective : {"eig", "evsi"}, default="eig"
    n_draws : int, default=1024
        Draws of the missing features per candidate, over all replicates.
    n_replicates : int, default=8
        Independent scrambles; ``n_draws / n_replicates`` must be a power of two.
    seed : int, default=0
    budget : float or None, default=None
        Money left for this case; dearer tests are not recommended.
    exchange_rate : float or None, default=None
        λ in ``net_value = value − cost × λ``; None takes the spec's
        (``use_case.nats_per_cost`` for EIG, ``use_case.cost_per_utility`` for EVSI; 0 if absent).
    include_groups : bool, default=True
        Also offer each shared-cost group's missing members as one candidate.
    method : {"auto", "exact", "mc"}, default="auto"
        "auto" values single-feature candidates exactly when the predictor is a tree ensemble
        (:mod:`acquire.exact`), by quadrature over the posterior draws of a Bayesian classifier
        (:mod:`acquire.posterior_value`, which also splits EIG into aleatoric and epistemic
        parts), and uses Monte Carlo for panels, groups and other predictors;
        "exact" requires the exact path for single features; "mc" never uses it.

    Examples
    --------
    >>> from acquire import fit_model, datasets
    >>> frame, spec = datasets.load("pima")
    >>> model = fit_model(frame, spec, seed=0)
    >>> ranking = model.ranker(objective="eig").rank({"age": 50, "bmi": 35.0, "npreg": 2})
    >>> ranking.candidates[0].feature in spec.feature_names
    True
    """

    _objectives = ("eig", "evsi")

    def __init__(self, *, predictor: Predictor, conditional: Any, spec: Spec, objective: str = "eig",
                 n_draws: int = 1024, n_replicates: int = 8, seed: int = 0, budget: float | None = None,
                 exchange_rate: float | None = None, include_groups: bool = True, method: str = "auto"):
        self.predictor = predictor
        self.conditional = conditional
        self.spec = spec
        self.objective = objective
        self.n_draws = n_draws
        self.n_replicates = n_replicates
        self.seed = seed
        self.budget = budget
        self.exchange_rate = exchange_rate
        self.include_groups = include_groups
        self.method = method

    # ---- checks -----------------------------------------------------------------------
    def _validate_params(self) -> None:
        if self.method not in ("auto", "exact", "mc"):
            raise AcquireError(f"method must be one of ['auto', 'exact', 'mc'], got {self.method!r}")
        if self.method == "exact" and not supports_exact(self.predictor, self.conditional):
            raise AcquireError("method 'exact' needs a tree-ensemble predictor (xgboost) and a copula conditional model")
        if self.objective not in self._objectives:
            raise AcquireError(f"objective must be one of {list(self._objectives)}, got {self.objective!r}")
        if self.objective == "evsi":
            if self.spec.utility is None:
                raise AcquireError("objective 'evsi' needs use_case.actions and use_case.utility in the spec")
        for name in ("n_draws", "n_replicates"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 2:
                raise AcquireError(f"{name} == {v!r}, must be an integer >= 2")
        per = self.n_draws // self.n_replicates
        if per * self.n_replicates != self.n_draws or per < 2 or per & (per - 1):
            raise AcquireError(
                f"n_draws / n_replicates must be a power of two >= 2 (scrambled Sobol sets); got {self.n_draws} / {self.n_replicates}"
            )
        for name in ("budget", "exchange_rate"):
            v = getattr(self, name)
            if v is not None and (not np.isfinite(v) or v < 0):
                raise AcquireError(f"{name} == {v!r}, must be a finite number >= 0")
        if not hasattr(self.predictor, "kind_"):
            raise NotFittedError("the predictor is not fitted; call its 'fit' first")

    # ---- the main call ------------------------------------------------------------------
    def rank(self, case: Mapping[str, Any], *, case_id: Any = None) -> Ranking:
        """Rank the missing tests of ``case`` (feature → value; absent or NaN = not measured)."""
        self._validate_params()
        return self.rank_encoded(self.spec.encode_case(case), case_id=case_id, case=case)

    def rank_encoded(self, x: np.ndarray, *, case_id: Any = None, case: Mapping[str, Any] | None = None,
                     unavailable: Sequence[str] = ()) -> Ranking:
        """:meth:`rank` for a row already encoded by the spec (NaN = not measured); tests named in
        ``unavailable`` (tried, no result) are not offered again."""
        self._validate_params()
        names = self.spec.feature_names
        if case is None:
            case = {names[j]: float(x[j]) for j in np.flatnonzero(~np.isnan(x))}
        observed = [names[j] for j in np.flatnonzero(~np.isnan(x))]
        done = set(observed) | set(unavailable)
        rate = self.spec.exchange_rate(self.objective) if self.exchange_rate is None else float(self.exchange_rate)

        units = [u for u in self.spec.units(include_groups=self.include_groups) if any(m not in done for m in u.members)]
        columns = [[names.index(m) for m in u.members if m not in done] for u in units]
        values, ses, methods, aleatoric, epistemic = self.value_parts(x, columns)

        candidates = []
        for i, (u, v, s, how) in enumerate(zip(units, values, ses, methods)):
            cost = price(self.spec, u, observed)
            candidates.append(CandidateValue(
                feature=u.name, kind=u.kind, members=tuple(m for m in u.members if m not in done),
                cost=round(cost, 10), value=float(v), se=float(s), net_value=float(v - cost * rate),
                value_per_cost=None if cost == 0 else float(v / cost),
                within_budget=self.budget is None or cost <= self.budget + 1e-12, method=how,
                aleatoric=None if aleatoric is None or np.isnan(aleatoric[i]) else float(aleatoric[i]),
                epistemic=None if epistemic is None or np.isnan(epistemic[i]) else float(epistemic[i]),
            ))
        candidates.sort(key=lambda c: (c.value_per_cost is not None, -(c.value_per_cost or 0.0), -c.value))
        worth = [c for c in candidates if c.within_budget and c.net_value > 0]
        if not candidates:
            reason = "nothing left to measure"
        elif not any(c.within_budget for c in candidates):
            reason = "budget spent: no candidate fits the remaining budget"
        elif not worth:
            reason = "no affordable candidate has positive net value"
        else:
            reason = None
        return Ranking(
            case={"id": case_id, "observed": {n: _plain(case[n]) for n in observed if n in case}},
            objective=self.objective, current=self.current(x), candidates=candidates,
            stop=reason is not None, recommendation=None if reason else worth[0].feature, stop_reason=reason,
            exchange_rate=rate, budget=self.budget, currency=self.spec.currency, n_draws=self.n_draws,
        )

    def value_parts(self, x: np.ndarray, candidates: list[list[int]]):
        """:meth:`values` plus the aleatoric and epistemic parts of each value (None unless the
        predictor is Bayesian; see :mod:`acquire.posterior_value`)."""
        if self.method != "mc" and supports_posterior(self.predictor):
            return self._posterior().values(x, candidates)
        return (*self._exact_or_monte_carlo_values(x, candidates), None, None)

    def _posterior(self) -> PosteriorValue:
        key = (id(self.predictor), self.objective, self.n_draws, self.seed)
        if getattr(self, "_posterior_cache", (None,))[0] != key:
            self._posterior_cache = (key, PosteriorValue(
                self.predictor, self.objective, self.spec.utility, n_draws=self.n_draws,
                n_replicates=self.n_replicates, seed=self.seed))
        return self._posterior_cache[1]

    def values(self, x: np.ndarray, candidates: list[list[int]]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Value, standard error and method ("exact"/"quadrature"/"mc") of acquiring each candidate
        column set for the encoded row ``x``."""
        return self.value_parts(x, candidates)[:3]

    def _exact_or_monte_carlo_values(self, x: np.ndarray, candidates: list[list[int]]):
        """Single tests of a tree ensemble exactly, everything else by Monte Carlo."""
        values, ses = np.zeros(len(candidates)), np.zeros(len(candidates))
        exact = self.method != "mc" and supports_exact(self.predictor, self.conditional)
        single = [c for c, cols in enumerate(candidates) if exact and len(cols) == 1]
        if single:
            values[single] = self._exact().values(x, [candidates[c][0] for c in single])
        rest = [c for c in range(len(candidates)) if c not in set(single)]
        if rest:
            values[rest], ses[rest] = self.monte_carlo_values(x, [candidates[c] for c in rest])
        return values, ses, ["exact" if c in set(single) else "mc" for c in range(len(candidates))]

    def _exact(self) -> ExactTreeValue:
        key = (id(self.predictor), self.objective)
        if getattr(self, "_exact_cache", (None,))[0] != key:
            self._exact_cache = (key, ExactTreeValue(self.predictor, self.conditional, self.objective,
                                                     None if self.spec.utility is None else np.ascontiguousarray(self.spec.utility)))
        return self._exact_cache[1]

    def _class_weights(self, x: np.ndarray) -> np.ndarray | None:
        """The current class probabilities that weight a class-mixture conditional model."""
        if not hasattr(self.conditional, "components_"):
            return None
        weights = self.predictor.predict_distribution(x[None, :])[0]
        return weights / weights.sum()

    def monte_carlo_values(self, x: np.ndarray, candidates: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Monte Carlo value and standard error of each candidate column set (common random numbers)."""
        if not candidates:
            return np.zeros(0), np.zeros(0)
        missing = np.flatnonzero(np.isnan(x))
        per = self.n_draws // self.n_replicates
        joint = self._joint_draws(x, missing.size, per)  # (R, N, p): every missing feature drawn
        rows = np.empty((len(candidates), self.n_replicates, per, x.size))
        rows[:] = x
        for c, cols in enumerate(candidates):
            rows[c][..., cols] = joint[..., cols]
        pred = self.predictor.predict_distribution(rows.reshape(-1, x.size))
        pred = pred.reshape(len(candidates), self.n_replicates, per, pred.shape[-1])
        if self.predictor.kind_ == "continuous" and self.objective == "evsi":
            raise AcquireError("objective 'evsi' needs a classification target; use 'eig' for a continuous one")
        replicates = self._kernel(pred)
        pooled = self._kernel(pred.reshape(len(candidates), 1, -1, pred.shape[-1]))[:, 0]
        # the point estimate pools all R·N draws (the plug-in H(p̄) is biased by about −V/N, so
        # pooling shrinks the bias R-fold); the replicates' spread gives its standard error
        return pooled, mean_and_se(replicates)[1]

    def _kernel(self, pred: np.ndarray) -> np.ndarray:
        if self.predictor.kind_ == "continuous":
            return eig_gaussian(np.ascontiguousarray(pred[..., 0]), np.ascontiguousarray(np.maximum(pred[..., 1], 1e-300)))
        if self.objective == "eig":
            return eig_classes(np.ascontiguousarray(pred))
        return evsi_classes(np.ascontiguousarray(pred), np.ascontiguousarray(self.spec.utility))

    def _joint_draws(self, x: np.ndarray, n_missing: int, per: int) -> np.ndarray:
        """Joint draws of all missing features; a class mixture is weighted by the current prediction."""
        weights = self._class_weights(x)
        if weights is not None:
            normals = standard_normal_draws(self.n_replicates, per, n_missing + 1, self.seed)
            return self.conditional.sample_from_normals(x, normals, class_probs=weights)
        normals = standard_normal_draws(self.n_replicates, per, n_missing, self.seed)
        return self.conditional.sample_from_normals(x, normals)

    def current(self, x: np.ndarray) -> dict:
        """The prediction from what is observed now."""
        p = self.predictor.predict_distribution(x[None, :])[0]
        out: dict[str, Any]
        if self.predictor.kind_ == "continuous":
            out = {"mean": float(p[0]), "sd": float(np.sqrt(max(p[1], 0.0)))}
        else:
            classes = self.spec.classes or list(range(p.size))
            out = {
                "probabilities": {str(c): float(v) for c, v in zip(classes, p)},
                "entropy": float(entropy(p[None, :].astype(np.float64))[0]),
            }
            U = self.spec.utility
            if U is not None:
                eu = U @ p
                out["expected_utility"] = {a: float(v) for a, v in zip(self.spec.actions, eu)}
                out["best_action"] = self.spec.actions[int(np.argmax(eu))]
        if hasattr(self.predictor, "predict_draws"):
            out |= current_split(self.predictor, x)  # BALD: entropy = aleatoric + epistemic
        return out


def _plain(v: Any) -> Any:
    """A JSON-ready scalar."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v
