"""The value-of-information engine: rank a case's missing tests by value per cost, and say when to stop.

For observed ``x_o`` and a candidate set ``S`` (a feature, a panel or a group),

    V(S | x_o) = E_{x_S ~ p(x_S | x_o)} [ u(p(y | x_o, x_S)) ] − u(E_{x_S}[p(y | x_o, x_S)])

with ``u = −H`` (EIG, nats) or ``u(p) = max_a Σ_y U[a, y] p(y)`` (EVSI, utility units).
:class:`ValueOfInformation` values every candidate through the registry of value estimators
(:data:`ESTIMATORS`, most preferred first: exact for single tests of a tree ensemble,
quadrature for single tests of the copula classifier and Monte Carlo on its scores for its panels
and groups, the posterior for a Bayesian classifier, Monte Carlo for everything else), then prices, orders and
applies the stop rule with :mod:`acquire.engine.pricing`. One case (:meth:`~ValueOfInformation.rank`)
and a whole batch (:meth:`~ValueOfInformation.rank_batch`, used by :func:`acquire.pipeline.rank_frame`)
take the same path.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from acquire.engine.estimator import CANDIDATE_KINDS, ValueEstimate, ValueEstimator
from acquire.engine.class_gaussian import ClassGaussianEstimator, ClassGaussianSetEstimator
from acquire.engine.exact_tree import ExactTreeEstimator
from acquire.engine.monte_carlo import MonteCarloEstimator
from acquire.engine.posterior import PosteriorEstimator, current_split
from acquire.engine.pricing import CostTable, Decision, decide
from acquire.estimators.value import entropy
from acquire.exceptions import AcquireError, AfterDecisionWarning, NotFittedError
from acquire.spec import Spec, Unit

__all__ = ["BatchRanking", "CandidateValue", "ESTIMATORS", "Ranking", "ValueOfInformation"]

#: value estimators in order of preference; the engine gives each the cells no earlier one took
ESTIMATORS: list[type[ValueEstimator]] = [ExactTreeEstimator, ClassGaussianEstimator, ClassGaussianSetEstimator,
                                          PosteriorEstimator, MonteCarloEstimator]
#: ``method=`` → the estimators it may use
METHODS: dict[str, list[type[ValueEstimator]]] = {"auto": ESTIMATORS, "exact": ESTIMATORS, "mc": [MonteCarloEstimator]}
#: confidence level of the intervals the engine reports
CI_LEVEL = 0.95


@dataclass
class CandidateValue:
    """One candidate test's value, its uncertainty, its price and derived ratios.

    ``se`` rests on ``dof`` degrees of freedom (0: nothing was sampled); ``ci_lower``/``ci_upper``
    is the 95 % interval ``value ∓ t_dof · se``. For a Bayesian predictor under EIG,
    ``aleatoric_change + epistemic_change = value`` (the BALD split of the expected change).
    """

    feature: str
    kind: str
    members: tuple[str, ...]
    cost: float
    value: float
    se: float
    net_value: float
    value_per_cost: float | None  # None when the test is free
    within_budget: bool = True
    method: str = "mc"  # "exact", "quadrature" or "mc"
    dof: int = 0
    ci_lower: float = 0.0
    ci_upper: float = 0.0
    aleatoric_change: float | None = None
    epistemic_change: float | None = None

    @property
    def aleatoric(self) -> float | None:
        """Deprecated alias of :attr:`aleatoric_change` (removed in the next release)."""
        warnings.warn("CandidateValue.aleatoric is deprecated; use aleatoric_change", DeprecationWarning, stacklevel=2)
        return self.aleatoric_change

    @property
    def epistemic(self) -> float | None:
        """Deprecated alias of :attr:`epistemic_change` (removed in the next release)."""
        warnings.warn("CandidateValue.epistemic is deprecated; use epistemic_change", DeprecationWarning, stacklevel=2)
        return self.epistemic_change

    def to_dict(self) -> dict:
        d = asdict(self)
        d["members"] = list(self.members)
        if self.kind == "feature":
            del d["members"]
        if self.aleatoric_change is None:
            del d["aleatoric_change"], d["epistemic_change"]
        else:  # deprecated aliases, kept for one release
            d["aleatoric"], d["epistemic"] = self.aleatoric_change, self.epistemic_change
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
    stop_reason : str or None
        One of :data:`acquire.engine.pricing.STOP_REASONS` when stopping.
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
        return pd.DataFrame(rows, columns=["feature", "kind", "members", "cost", "value", "se", "dof", "ci_lower",
                                           "ci_upper", "net_value", "value_per_cost", "within_budget", "method"])

    @property
    def summary(self) -> pd.DataFrame:
        """lifelines-style: one row per candidate test (the index), best first, with the interval's
        level in its column names (``ci_lower_95``/``ci_upper_95``: ``value ∓ t_dof · se``)."""
        frame = self.to_frame().set_index("feature")
        return frame.rename(columns={"ci_lower": "ci_lower_95", "ci_upper": "ci_upper_95"})[
            ["kind", "cost", "value", "se", "dof", "ci_lower_95", "ci_upper_95", "net_value", "value_per_cost",
             "within_budget", "method"]]

    def __repr__(self) -> str:
        what = f"recommend {self.recommendation}" if not self.stop else f"stop ({self.stop_reason})"
        return f"<Ranking of {len(self.candidates)} candidate tests by {self.objective.upper()}: {what}>"

    def _repr_html_(self) -> str:
        """Notebooks: the decision, then the candidates (95 % intervals from t with each SE's dof)."""
        import html

        return (f"<p><b>{html.escape(repr(self)[1:-1])}</b></p>"
                + self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}"))


@dataclass
class BatchRanking:
    """Values, prices and decisions for a batch of cases; arrays are ``(n_cases, n_candidates)``.

    Attributes
    ----------
    units : list of Unit
        The candidates (columns of every array).
    open_ : ndarray of bool, shape (n, p)
        Columns each case may still order.
    candidate : ndarray of bool
        Whether candidate ``u`` can be ordered for case ``i`` (some member open).
    cost : ndarray of float
    estimate : ValueEstimate
    decision : Decision
    exchange_rate : float
    """

    units: list[Unit]
    feature_names: list[str]
    open_: np.ndarray
    candidate: np.ndarray
    cost: np.ndarray
    estimate: ValueEstimate
    decision: Decision
    exchange_rate: float

    def members(self, i: int, u: int) -> tuple[str, ...]:
        """The open members of candidate ``u`` for case ``i``."""
        return tuple(m for m in self.units[u].members if self.open_[i, self.feature_names.index(m)])

    def candidates(self, i: int) -> list[CandidateValue]:
        """Case ``i``'s candidates, best first."""
        est, dec = self.estimate, self.decision
        lo, hi = est.interval(CI_LEVEL)
        alea, epi = est.diagnostics.get("aleatoric_change"), est.diagnostics.get("epistemic_change")
        out = []
        for u in dec.order[i]:
            if not self.candidate[i, u]:
                continue
            unit, vpc = self.units[u], dec.value_per_cost[i, u]
            out.append(CandidateValue(
                feature=unit.name, kind=unit.kind, members=self.members(i, u), cost=float(self.cost[i, u]),
                value=float(est.value[i, u]), se=float(est.se[i, u]), net_value=float(dec.net_value[i, u]),
                value_per_cost=None if np.isnan(vpc) else float(vpc), within_budget=bool(dec.within_budget[i, u]),
                method=str(est.method[i, u]), dof=int(est.dof[i, u]), ci_lower=float(lo[i, u]), ci_upper=float(hi[i, u]),
                aleatoric_change=None if alea is None or np.isnan(alea[i, u]) else float(alea[i, u]),
                epistemic_change=None if epi is None or np.isnan(epi[i, u]) else float(epi[i, u]),
            ))
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
        "auto" walks :data:`ESTIMATORS` in order; "exact" does the same but requires the exact
        estimator for single tests; "mc" uses Monte Carlo for everything.
    allow_after_decision : bool, default=False
        Use values of features declared ``available: after_decision`` (a treatment given after the
        decision, say). By default they are left out of the prediction and the values, with an
        :class:`~acquire.exceptions.AfterDecisionWarning`: the decision cannot depend on them.

    Examples
    --------
    >>> from acquire import fit_model, datasets
    >>> frame, spec = datasets.load("pima")
    >>> model = fit_model(frame, spec, seed=0)
    >>> ranking = model.ranker(objective="eig").rank({"age": 50, "bmi": 35.0, "npreg": 2})
    >>> ranking.candidates[0].feature in [u.name for u in spec.units()]
    True
    """

    _objectives = ("eig", "evsi")

    def __init__(self, *, predictor: Any, conditional: Any, spec: Spec, objective: str = "eig",
                 n_draws: int = 1024, n_replicates: int = 8, seed: int = 0, budget: float | None = None,
                 exchange_rate: float | None = None, include_groups: bool = True, method: str = "auto",
                 allow_after_decision: bool = False):
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
        self.allow_after_decision = allow_after_decision

    # ---- checks -----------------------------------------------------------------------
    def check_params(self) -> None:
        """Raise :class:`AcquireError` naming the first parameter that is out of range."""
        if self.method not in METHODS:
            raise AcquireError(f"method must be one of {list(METHODS)}, got {self.method!r}")
        if not hasattr(self.predictor, "kind_"):
            raise NotFittedError("the predictor is not fitted; call its 'fit' first")
        if self.objective not in self._objectives:
            raise AcquireError(f"objective must be one of {list(self._objectives)}, got {self.objective!r}")
        if self.method == "exact" and not ExactTreeEstimator.supports(self.predictor, self.conditional,
                                                                      objective=self.objective, candidate="single"):
            raise AcquireError("method 'exact' needs a tree-ensemble predictor (xgboost) and a copula conditional model")
        if self.objective == "evsi":
            if self.spec.utility is None:
                raise AcquireError("objective 'evsi' needs use_case.actions and use_case.utility in the spec")
            if self.predictor.kind_ == "continuous":
                raise AcquireError("objective 'evsi' needs a classification target; use 'eig' for a continuous one")
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

    @property
    def rate(self) -> float:
        """The exchange rate in use: the given one, else the spec's for the objective."""
        return self.spec.exchange_rate(self.objective) if self.exchange_rate is None else float(self.exchange_rate)

    # ---- value estimators ------------------------------------------------------------------
    def estimator(self, cls: type[ValueEstimator]) -> ValueEstimator:
        """The engine's instance of estimator ``cls`` (built once per predictor, objective and draws)."""
        key = (cls, id(self.predictor), id(self.conditional), self.objective, self.n_draws, self.n_replicates, self.seed)
        cache = self.__dict__.setdefault("_estimators", {})
        if key not in cache:
            cache[key] = cls(self)
        return cache[key]

    def monte_carlo(self) -> MonteCarloEstimator:
        """The Monte Carlo estimator (joint draws and value kernel shared with the Shapley games)."""
        est = self.estimator(MonteCarloEstimator)
        assert isinstance(est, MonteCarloEstimator)
        return est

    def estimate(self, X: np.ndarray, columns: Sequence[Sequence[int]], cells: np.ndarray,
                 open_: np.ndarray | None = None) -> ValueEstimate:
        """Value candidate ``u`` of case ``i`` wherever ``cells[i, u]``; each estimator of the registry,
        in order, takes the cells of the candidate kinds it supports.

        ``open_`` (n, p) marks the columns that may be acquired (default: the missing ones); a
        candidate's open columns are valued together.
        """
        self.check_params()
        open_ = np.isnan(X) if open_ is None else open_
        n_open = _open_counts(open_, columns)
        kind = {"single": n_open == 1, "set": n_open > 1}
        out = ValueEstimate.empty(*cells.shape)
        left = cells & (n_open > 0)
        for cls in METHODS[self.method]:
            for candidate in CANDIDATE_KINDS:
                take = left & kind[candidate]
                if take.any() and cls.supports(self.predictor, self.conditional, objective=self.objective,
                                               candidate=candidate):
                    out.fill(take, self.estimator(cls).estimate(X, columns, take, open_))
                    left &= ~take
        if left.any():  # MonteCarloEstimator supports everything, so this is a registry bug
            raise AcquireError("no value estimator supports some candidates; check acquire.engine.ESTIMATORS")
        return out

    def values(self, x: np.ndarray, candidates: list[list[int]]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Value, standard error and method of acquiring each candidate column set for the encoded row ``x``."""
        est = self.estimate(x[None, :], candidates, np.ones((1, len(candidates)), dtype=bool))
        return est.value[0], est.se[0], list(est.method[0])

    def monte_carlo_values(self, x: np.ndarray, candidates: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Monte Carlo value and standard error of each candidate column set (common random numbers)."""
        self.check_params()
        return self.monte_carlo().values_for_case(x, candidates)

    # ---- ranking -----------------------------------------------------------------------
    def rank_batch(self, X: np.ndarray, *, tried: np.ndarray | None = None, rows: np.ndarray | None = None,
                   budget_left: np.ndarray | None = None) -> BatchRanking:
        """Value, price and decide for every encoded row of ``X`` at once.

        ``tried`` (n, p) marks tests ordered without a result (not offered again; their group is
        paid); ``rows`` (n,) limits the work to these rows (the others get no candidates);
        ``budget_left`` (n,) is each row's own money left (inf: none), instead of :attr:`budget`.
        """
        self.check_params()
        X = self.before_decision(np.ascontiguousarray(X, dtype=np.float64))
        n = X.shape[0]
        tried = np.zeros(X.shape, dtype=bool) if tried is None else np.asarray(tried, dtype=bool)
        active = np.ones(n, dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
        units, table = self.cost_table()
        open_ = np.isnan(X) & ~tried
        candidate = (_open_counts(open_, table.columns) > 0) & active[:, None]
        estimate = self.estimate(X, table.columns, candidate, open_)
        cost = table.costs(open_, ~np.isnan(X) | tried)
        budget = self.budget if budget_left is None else np.asarray(budget_left, dtype=np.float64)[:, None]
        decision = decide(np.where(candidate, estimate.value, np.nan), cost, candidate, exchange_rate=self.rate,
                          budget=budget)
        return BatchRanking(units=units, feature_names=self.spec.feature_names, open_=open_, candidate=candidate,
                            cost=cost, estimate=estimate, decision=decision, exchange_rate=self.rate)

    def cost_table(self) -> tuple[list[Unit], CostTable]:
        """The candidates and their :class:`CostTable` (built once per spec and ``include_groups``)."""
        key = (id(self.spec), self.include_groups)
        cache = self.__dict__.setdefault("_cost_tables", {})
        if key not in cache or cache[key][0] is not self.spec:
            units = self.spec.units(include_groups=self.include_groups)
            cache[key] = (self.spec, units, CostTable(self.spec, units))
        return cache[key][1], cache[key][2]

    def before_decision(self, X: np.ndarray) -> np.ndarray:
        """``X`` without values of after-decision features (unless allowed), warning once if any were set."""
        late = [j for j, f in enumerate(self.spec.features) if f.available == "after_decision"]
        if self.allow_after_decision or not late:
            return X
        given = [self.spec.features[j].name for j in late if (~np.isnan(X[..., j])).any()]
        if not given:
            return X
        warnings.warn(f"left out {', '.join(given)}: known only after the decision (available: after_decision), so "
                      "the ranking cannot use them; pass allow_after_decision=True (--allow-after-decision) to use "
                      "them anyway", AfterDecisionWarning, stacklevel=3)
        X = X.copy()
        X[..., late] = np.nan
        return X

    def rank(self, case: Mapping[str, Any], *, case_id: Any = None) -> Ranking:
        """Rank the missing tests of ``case`` (feature → value; absent or NaN = not measured)."""
        self.check_params()
        return self.rank_encoded(self.spec.encode_case(case), case_id=case_id, case=case)

    def rank_encoded(self, x: np.ndarray, *, case_id: Any = None, case: Mapping[str, Any] | None = None,
                     unavailable: Sequence[str] = ()) -> Ranking:
        """:meth:`rank` for a row already encoded by the spec (NaN = not measured); tests named in
        ``unavailable`` (tried, no result) are not offered again and their groups count as paid."""
        names = self.spec.feature_names
        x = self.before_decision(x)
        tried = np.zeros((1, x.size), dtype=bool)
        tried[0, self.spec.index_of(list(unavailable))] = True
        batch = self.rank_batch(x[None, :], tried=tried)
        observed = [names[j] for j in np.flatnonzero(~np.isnan(x))]
        if case is None:
            case = {n: float(x[j]) for j, n in enumerate(names) if not np.isnan(x[j])}
        u = int(batch.decision.recommended[0])
        return Ranking(
            case={"id": case_id, "observed": {n: _plain(case[n]) for n in observed if n in case}},
            objective=self.objective, current=self.current(x), candidates=batch.candidates(0),
            stop=u < 0, recommendation=None if u < 0 else batch.units[u].name,
            stop_reason=batch.decision.stop_reason[0], exchange_rate=batch.exchange_rate, budget=self.budget,
            currency=self.spec.currency, n_draws=self.n_draws,
        )

    def current(self, x: np.ndarray) -> dict:
        """The prediction from what is observed now."""
        p = self.predictor.predict_distribution(x[None, :])[0]
        out: dict[str, Any]
        if self.predictor.kind_ == "continuous":
            out = {"mean": float(p[0]), "sd": float(np.sqrt(max(p[1], 0.0)))}
        else:
            classes = self.spec.classes or list(range(p.size))
            out = {
                "target": self.spec.target_name,
                "probabilities": {str(c): float(v) for c, v in zip(classes, p)},
                "entropy": float(entropy(p[None, :].astype(np.float64))[0]),
            }
            U = self.spec.utility
            if U is not None:
                eu = U @ p
                out["expected_utility"] = {a: float(v) for a, v in zip(self.spec.actions or [], eu)}
                out["best_action"] = (self.spec.actions or [])[int(np.argmax(eu))]
        if "posterior_draws" in getattr(self.predictor, "capabilities", ()):
            out |= current_split(self.predictor, x)  # BALD: entropy = aleatoric + epistemic
        return out


def _open_counts(open_: np.ndarray, columns: Sequence[Sequence[int]]) -> np.ndarray:
    """``(n, U)``: how many of each candidate's columns each case may still acquire."""
    membership = np.zeros((len(columns), open_.shape[1]), dtype=np.int64)
    for u, cols in enumerate(columns):
        membership[u, list(cols)] = 1
    return open_.astype(np.int64) @ membership.T


def _plain(v: Any) -> Any:
    """A JSON-ready scalar."""
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v
