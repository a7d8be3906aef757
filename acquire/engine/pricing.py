"""Prices, order, budget and the stop rule: one vectorised implementation for one case or a frame.

- **Price** of ordering candidate ``u`` for case ``i``: its own costs (a panel's whole, a feature's
  or group's members still open) plus each shared group cost its members need that the case has
  not paid yet. A group is paid once any member has been acquired (observed, or ordered and come
  back without a result): a shared cost is charged once per case.
- **Net value** ``value − price × λ`` (λ the exchange rate); **value per cost** ``value / price``
  (undefined for a free test).
- **Order**: free tests first, then by value per cost, ties by value (a stable sort: the spec's
  order breaks what is left).
- **Stop rule**: recommend the first candidate in that order that fits the budget
  (``price ≤ budget``) and has positive net value; otherwise stop, for one of
  :data:`STOP_REASONS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from acquire.spec import Spec, Unit

__all__ = ["BUDGET_SPENT", "NOTHING_LEFT", "NOT_WORTH", "STOP_REASONS", "CostTable", "Decision", "decide", "price"]

NOTHING_LEFT = "nothing left to measure"
BUDGET_SPENT = "budget spent: no candidate fits the remaining budget"
NOT_WORTH = "no affordable candidate has positive net value"
#: every reason the engine may give for stopping
STOP_REASONS = (NOTHING_LEFT, BUDGET_SPENT, NOT_WORTH)
#: slack in the budget comparison, so that a price equal to the budget up to rounding fits
BUDGET_TOLERANCE = 1e-12


class CostTable:
    """The spec's costs as arrays, for pricing ``units`` for many cases at once.

    Parameters
    ----------
    spec : Spec
    units : list of Unit
        The candidates, e.g. ``spec.units()``.

    Examples
    --------
    >>> from acquire import datasets
    >>> _, spec = datasets.load("pima")
    >>> units = spec.units()
    >>> table = CostTable(spec, units)
    >>> names = spec.feature_names
    >>> open_ = np.ones((1, len(names)), dtype=bool)            # nothing measured yet
    >>> round(float(table.costs(open_, ~open_)[0, [u.name for u in units].index("glu")]), 2)
    17.61
    """

    def __init__(self, spec: Spec, units: Sequence[Unit]) -> None:
        self.units = list(units)
        self.columns = [spec.index_of(list(u.members)) for u in self.units]
        self.own, self.member_of, self.shared = spec.cost_arrays  # computed once per spec
        self.is_panel = np.array([u.kind == "panel" for u in self.units], dtype=bool)
        self.membership = np.zeros((len(self.units), len(self.own)), dtype=bool)  # (U, p): unit u orders column j
        for u, cols in enumerate(self.columns):
            self.membership[u, cols] = True
        self.needs = (self.membership.astype(np.int64) @ self.member_of.astype(np.int64)) > 0  # (U, G) groups needed
        self.panel_own = self.membership @ self.own  # (U,) a panel is paid in full

    def costs(self, open_: np.ndarray, acquired: np.ndarray) -> np.ndarray:
        """``(n, U)`` prices.

        Parameters
        ----------
        open_ : ndarray of bool, shape (n, p)
            Columns that may still be ordered (not measured, not tried).
        acquired : ndarray of bool, shape (n, p)
            Columns already acquired (measured, or ordered without a result): their groups are paid.
        """
        paid = acquired.astype(np.int64) @ self.member_of.astype(np.int64) > 0  # (n, G)
        own = np.where(self.is_panel, self.panel_own, (open_ * self.own) @ self.membership.T)  # open members only
        shared = ((~paid) * self.shared) @ self.needs.T  # every unpaid group the unit's procedure needs
        return np.round(own + shared, 10)


def price(spec: Spec, unit: Unit, observed: Iterable[str], tried: Iterable[str] = ()) -> float:
    """Price of ordering ``unit`` now, for a case that has ``observed`` (and ``tried`` without a result).

    One case of :meth:`CostTable.costs`.

    Examples
    --------
    >>> from acquire import load_spec
    >>> spec = load_spec({"target": {"name": "y", "kind": "binary"}, "groups": {"blood": {"shared_cost": 2.10}},
    ...                   "features": [{"name": "glu", "type": "continuous", "cost": 15.51, "group": "blood"},
    ...                                {"name": "ins", "type": "continuous", "cost": 20.68, "group": "blood"}]})
    >>> glu = spec.units()[0]
    >>> price(spec, glu, []), price(spec, glu, ["ins"]), price(spec, glu, [], tried=["ins"])  # one blood draw
    (17.61, 15.51, 15.51)
    """
    names = spec.feature_names
    acquired = np.zeros((1, len(names)), dtype=bool)
    acquired[0, spec.index_of(list(observed) + list(tried))] = True
    return float(CostTable(spec, [unit]).costs(~acquired, acquired)[0, 0])


@dataclass
class Decision:
    """The priced, ordered candidates of a batch of cases and what to do next; arrays are ``(n, U)``.

    Attributes
    ----------
    net_value, value_per_cost : ndarray of float
        ``value − cost·λ`` and ``value / cost`` (NaN for a free test).
    within_budget : ndarray of bool
    order : ndarray of int
        Per case, candidate indices best first (non-candidates included; filter with ``candidate``).
    recommended : ndarray of int, shape (n,)
        The candidate to order next, or -1 to stop.
    stop_reason : ndarray of object, shape (n,)
        One of :data:`STOP_REASONS`, or None where a test is recommended.
    """

    net_value: np.ndarray
    value_per_cost: np.ndarray
    within_budget: np.ndarray
    order: np.ndarray
    recommended: np.ndarray
    stop_reason: np.ndarray


def decide(value: np.ndarray, cost: np.ndarray, candidate: np.ndarray, *, exchange_rate: float,
           budget: float | np.ndarray | None) -> Decision:
    """Net values, order and the stop rule for ``(n, U)`` values and prices.

    ``candidate[i, u]`` says whether candidate ``u`` can be ordered for case ``i`` at all;
    ``budget`` is the money left, one number for every case or ``(n, 1)``, one per case.

    Examples
    --------
    >>> d = decide(np.array([[0.2, 0.5, 0.01]]), np.array([[1.0, 10.0, 1.0]]), np.ones((1, 3), bool),
    ...            exchange_rate=0.05, budget=5.0)
    >>> d.order[0].tolist(), int(d.recommended[0])     # 0.5 costs 10 > budget 5: the first is ordered
    ([0, 1, 2], 0)
    """
    net = value - cost * exchange_rate
    with np.errstate(divide="ignore", invalid="ignore"):
        per_cost = np.where(cost == 0, np.nan, value / cost)
    within = np.ones(cost.shape, dtype=bool) if budget is None else cost <= budget + BUDGET_TOLERANCE
    n, U = cost.shape
    if U:  # lexsort: the last key is the primary one; it is stable
        order = np.lexsort((-np.nan_to_num(value), -np.nan_to_num(per_cost, nan=0.0), np.where(cost == 0, 0, 1)), axis=-1)
    else:
        order = np.zeros((n, 0), dtype=np.int64)
    worth = np.take_along_axis(candidate & within & (net > 0), order, axis=1)
    first = np.argmax(worth, axis=1) if U else np.zeros(n, dtype=np.int64)
    has = worth.any(axis=1) if U else np.zeros(n, dtype=bool)
    recommended = np.where(has, order[np.arange(n), first] if U else -1, -1)
    reason = np.where(~candidate.any(axis=1), NOTHING_LEFT,
                      np.where(~(candidate & within).any(axis=1), BUDGET_SPENT, NOT_WORTH)).astype(object)
    reason[has] = None
    return Decision(net_value=net, value_per_cost=per_cost, within_budget=within, order=order,
                    recommended=recommended, stop_reason=reason)
