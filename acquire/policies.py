"""Acquisition policies: rules that choose the next test from what a case has so far.

A policy sees only the acquired values (never the case's hidden ones). Every policy honours
panels (ordered whole), shared group costs (charged once) and a hard per-case budget; the
value-of-information policies also stop softly when no test is worth its cost.

- :class:`GreedyValue` — the engine's recommendation: best value per cost with positive net value;
- :class:`LookAhead` — non-myopic: also values every pair of tests bought together;
- :class:`CostBlindGreedy` — the most informative test, whatever it costs (stops when nothing informs);
- :class:`StaticOrder` — one global order, fitted once (mean value per cost over training cases);
- :class:`RandomOrder` — a seeded random order;
- :class:`AcquireAll` — every test: the ceiling of performance, and of cost.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from acquire.engine.pricing import BUDGET_TOLERANCE, CostTable, price
from acquire.exceptions import AcquireError
from acquire.spec import Unit

__all__ = ["Policy", "GreedyValue", "LookAhead", "CostBlindGreedy", "StaticOrder", "RandomOrder", "AcquireAll", "POLICIES",
           "make_policy"]


@dataclass
class State:
    """What a policy may look at: the acquired values (NaN = not acquired), the money spent and left,
    and the tests already tried that gave no result (missing in the data)."""

    x: np.ndarray
    spent: float
    budget: float | None
    rng: np.random.Generator
    unavailable: frozenset = frozenset()


class Policy(ABC):
    """Chooses the next unit for a case, or None to stop."""

    name = "policy"

    def fit(self, model: Any, train: np.ndarray) -> "Policy":
        """Learn anything global from the encoded training rows (most policies need nothing)."""
        self.model_ = model
        self.cost_table_ = CostTable(model.spec, model.spec.units(include_groups=False))  # priced once per step
        return self

    @abstractmethod
    def choose(self, state: State) -> tuple[Unit, float] | None:
        """``(unit, value estimate)`` to acquire next, or None."""

    def choose_batch(self, states: Sequence[State]) -> list[tuple[Unit, float] | None]:
        """:meth:`choose` for several cases at once (the simulator steps every open case together);
        a policy that can value all cases in one call overrides this."""
        return [self.choose(state) for state in states]

    def stop_rate(self, spec: Any) -> float | None:
        """The exchange rate this policy's stop rule uses on ``spec``, or None when it has no stop
        rule (it stops only at the budget or when nothing is left). A spec that declares no rate
        is refused here (:meth:`acquire.Spec.exchange_rate`), before any fitting."""
        return None

    # helpers shared by the policies
    def _open_units(self, state: State) -> list[Unit]:
        spec = self.model_.spec
        missing = {spec.feature_names[j] for j in np.flatnonzero(np.isnan(state.x))} - state.unavailable
        return [u for u in spec.units(include_groups=False) if any(m in missing for m in u.members)]

    def _prices(self, state: State) -> dict[str, float]:
        """Price of every orderable unit now (shared costs once; a tried test's group is paid)."""
        tried = np.zeros(state.x.size, dtype=bool)
        tried[self.model_.spec.index_of(sorted(state.unavailable))] = True
        open_ = np.isnan(state.x) & ~tried
        costs = self.cost_table_.costs(open_[None, :], ~open_[None, :])[0]
        return {u.name: float(c) for u, c in zip(self.cost_table_.units, costs)}

    def _affordable(self, state: State, units: Sequence[Unit]) -> list[tuple[Unit, float]]:
        prices = self._prices(state)
        priced = [(u, prices[u.name]) for u in units]
        if state.budget is None:
            return priced
        return [(u, c) for u, c in priced if state.spent + c <= state.budget + BUDGET_TOLERANCE]


class GreedyValue(Policy):
    """The engine's recommendation (value per cost, positive net value, within budget)."""

    name = "greedy"

    def __init__(self, *, objective: str = "eig", exchange_rate: float | None = None, n_draws: int = 256):
        self.objective = objective
        self.exchange_rate = exchange_rate
        self.n_draws = n_draws  # Monte Carlo draws for panels (single tests are exact)

    def stop_rate(self, spec: Any) -> float:
        return spec.exchange_rate(self.objective) if self.exchange_rate is None else float(self.exchange_rate)

    def fit(self, model: Any, train: np.ndarray) -> "GreedyValue":
        super().fit(model, train)
        self.ranker_ = model.ranker(objective=self.objective, exchange_rate=self.exchange_rate, include_groups=False,
                                    n_draws=self.n_draws)
        return self

    def choose(self, state: State):
        return self.choose_batch([state])[0]

    def choose_batch(self, states: Sequence[State]) -> list[tuple[Unit, float] | None]:
        """Every case's recommendation from one :meth:`ValueOfInformation.rank_batch` call, each
        within its own remaining budget."""
        spec = self.model_.spec
        X = np.stack([s.x for s in states])
        tried = np.zeros(X.shape, dtype=bool)
        for i, s in enumerate(states):
            tried[i, spec.index_of(sorted(s.unavailable))] = True
        left = np.array([np.inf if s.budget is None else max(s.budget - s.spent, 0.0) for s in states])
        batch = self.ranker_.rank_batch(X, tried=tried, budget_left=left)
        out: list[tuple[Unit, float] | None] = []
        for i, u in enumerate(batch.decision.recommended):
            out.append(None if u < 0 else (batch.units[u], float(batch.estimate.value[i, u])))
        return out


class LookAhead(GreedyValue):
    """Two-step look-ahead: the value of every open test alone and of every pair bought together.

    Singles and pairs are valued on the same draws (:class:`acquire.shapley.ValueOfInformationGame`,
    common random numbers), priced with shared costs, and ranked by value per cost among those with
    positive net value within the budget. If a pair wins, its member with the better value per cost
    alone is bought first. A test worthless alone but decisive with another is therefore bought;
    greedy never buys it. Cost per step: ``m + m(m−1)/2`` coalition values for ``m`` open tests.
    """

    name = "lookahead"
    choose_batch = Policy.choose_batch  # pairs are valued case by case

    def choose(self, state: State):
        from acquire.engine.shapley import ValueOfInformationGame

        spec = self.model_.spec
        game = ValueOfInformationGame(self.ranker_, x=state.x)
        units = {u.name: u for u in self._open_units(state)}
        players = [p for p in game.players if p in units]
        if not players:
            return None
        index = {p: game.players.index(p) for p in players}
        observed = [spec.feature_names[j] for j in np.flatnonzero(~np.isnan(state.x))]
        rate = self.stop_rate(spec)
        left = np.inf if state.budget is None else state.budget - state.spent
        prices = self._prices(state)
        single_cost = {p: prices[p] for p in players}
        singles = game.point(np.array([1 << index[p] for p in players], dtype=np.int64))
        single_value = dict(zip(players, singles))
        options: list[tuple[tuple[str, ...], float, float]] = [((p,), v, single_cost[p]) for p, v in zip(players, singles)]
        pairs = [(a, b) for i, a in enumerate(players) for b in players[i + 1:]]
        if pairs:
            values = game.point(np.array([(1 << index[a]) | (1 << index[b]) for a, b in pairs], dtype=np.int64))
            for (a, b), v in zip(pairs, values):
                cost = single_cost[a] + price(spec, units[b], observed + list(units[a].members), tried=state.unavailable)
                options.append(((a, b), v, cost))
        worth = [(names, v, c) for names, v, c in options if c <= left + 1e-12 and v - c * rate > 0]
        if not worth:
            return None
        names, value, cost = max(worth, key=lambda o: (o[1] / max(o[2], 1e-12), o[1]))
        first = max(names, key=lambda p: single_value[p] / max(single_cost[p], 1e-12))
        return units[first], float(value)


class CostBlindGreedy(Policy):
    """The most informative affordable test, ignoring its cost; stops when none informs (EIG < min_value)."""

    name = "cost_blind"

    def __init__(self, *, min_value: float = 1e-3):
        self.min_value = min_value

    def fit(self, model: Any, train: np.ndarray) -> "CostBlindGreedy":
        super().fit(model, train)
        self.ranker_ = model.ranker(objective="eig", include_groups=False, exchange_rate=0.0, n_draws=256)
        return self

    def choose(self, state: State):
        ranking = self.ranker_.rank_encoded(state.x, unavailable=state.unavailable)
        affordable = {u.name for u, _ in self._affordable(state, self._open_units(state))}
        best = max((c for c in ranking.candidates if c.feature in affordable), key=lambda c: c.value, default=None)
        if best is None or best.value < self.min_value:
            return None
        return next(u for u in self._open_units(state) if u.name == best.feature), best.value


class StaticOrder(Policy):
    """One global order by mean value per cost over training cases that start with nothing measured.

    Stops at the budget, or (with an exchange rate) at the first test whose mean value does not
    pay for its price.
    """

    name = "static"

    def __init__(self, *, n_cases: int = 200, exchange_rate: float | None = None, seed: int = 0):
        self.n_cases = n_cases
        self.exchange_rate = exchange_rate
        self.seed = seed

    def stop_rate(self, spec: Any) -> float:
        return spec.exchange_rate("eig") if self.exchange_rate is None else float(self.exchange_rate)

    def fit(self, model: Any, train: np.ndarray) -> "StaticOrder":
        super().fit(model, train)
        spec = model.spec
        units = spec.units(include_groups=False)
        rng = np.random.default_rng(self.seed)
        rows = train[rng.choice(len(train), min(self.n_cases, len(train)), replace=False)]
        start = np.full(len(spec.features), np.nan)
        free = [j for j, f in enumerate(spec.features) if f.cost == 0 and f.group is None]
        ranker = model.ranker(include_groups=False, n_draws=256, exchange_rate=0.0)  # values only: no stop rule here
        values = np.zeros(len(units))
        for row in rows:
            x = start.copy()
            x[free] = row[free]
            for c in ranker.rank_encoded(x).candidates:
                values[[u.name for u in units].index(c.feature)] += c.value / len(rows)
        costs = self.cost_table_.costs(np.ones((1, len(spec.features)), bool), np.zeros((1, len(spec.features)), bool))[0]
        self.full_price_ = {u.name: float(c) for u, c in zip(units, costs)}
        order = np.argsort(-values / np.maximum(costs, 1e-12), kind="stable")
        self.order_ = [units[i].name for i in order]
        self.mean_value_ = {units[i].name: float(values[i]) for i in order}
        return self

    def choose(self, state: State):
        open_units = {u.name: u for u, _ in self._affordable(state, self._open_units(state))}
        rate = self.stop_rate(self.model_.spec)
        for name in self.order_:
            if name in open_units:
                unit = open_units[name]
                if rate and self.mean_value_[name] < self.full_price_[name] * rate:
                    return None
                return unit, self.mean_value_[name]
        return None


class RandomOrder(Policy):
    """A seeded random affordable test at every step (the simulation's rng)."""

    name = "random"

    def choose(self, state: State):
        options = self._affordable(state, self._open_units(state))
        if not options:
            return None
        unit, _ = options[int(state.rng.integers(len(options)))]
        return unit, float("nan")


class AcquireAll(Policy):
    """Every affordable test, in spec order."""

    name = "all"

    def choose(self, state: State):
        options = self._affordable(state, self._open_units(state))
        return (options[0][0], float("nan")) if options else None


POLICIES: dict[str, Callable[[], Policy]] = {"greedy": GreedyValue, "greedy_evsi": lambda: GreedyValue(objective="evsi"), "lookahead": LookAhead,
            "cost_blind": CostBlindGreedy,
            "static": StaticOrder, "random": RandomOrder, "all": AcquireAll}


def make_policy(name: str) -> Policy:
    """A policy by name (see :data:`POLICIES`)."""
    if name not in POLICIES:
        raise AcquireError(f"unknown policy {name!r}; available: {', '.join(POLICIES)}")
    policy = POLICIES[name]()
    policy.name = name
    return policy
