"""Prices of tests given what a case already has: shared group costs are charged once."""

from __future__ import annotations

from typing import Iterable

from acquire.spec import Spec, Unit

__all__ = ["paid_groups", "price"]


def paid_groups(spec: Spec, observed: Iterable[str]) -> set[str]:
    """Groups whose shared cost is already paid: some member is observed."""
    return {spec.feature(name).group for name in observed if spec.feature(name).group is not None}


def price(spec: Spec, unit: Unit, observed: Iterable[str]) -> float:
    """Marginal price of ordering ``unit`` now.

    ``own costs + Σ shared_cost(g)`` over the unit's groups not yet paid. A panel is
    ordered whole, so all its members' own costs count; a feature or a group charges
    the members still missing.
    """
    observed = set(observed)
    members = unit.members if unit.kind == "panel" else [m for m in unit.members if m not in observed]
    own = sum(spec.feature(m).cost for m in members)
    groups = {spec.feature(m).group for m in unit.members if spec.feature(m).group is not None}
    return own + sum(spec.groups[g] for g in groups - paid_groups(spec, observed))
