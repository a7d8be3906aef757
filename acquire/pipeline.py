"""pandas in, pandas out: rank the next test for every row of a frame, and a scikit-learn transformer.

Missing values in the spec's feature columns are the candidates; every other column is carried
through untouched. Single tests of a tree model are valued for all rows in one parallel numba
call (:mod:`acquire.exact`); panels and groups by the engine's seeded Monte Carlo, row by row,
so a row's result does not depend on how the frame is chunked or partitioned.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from acquire.exact import ExactTreeValue, supports_exact
from acquire.exceptions import AcquireError, DataError

__all__ = ["rank_frame", "NextTestTransformer", "NEXT_COLUMNS"]

#: columns the "next" view adds to the input frame
NEXT_COLUMNS = ["next_test", "next_cost", "next_value", "next_value_per_cost", "n_candidates", "stop", "stop_reason",
                "error"]


def rank_frame(model: Any, frame: pd.DataFrame, *, observed: Sequence[str] | None = None, objective: str = "eig",
               budget: float | None = None, exchange_rate: float | None = None, view: str = "long",
               method: str = "auto", include_groups: bool = False, n_draws: int = 1024, n_replicates: int = 8,
               seed: int = 0, errors: str = "raise") -> pd.DataFrame:
    """Rank the missing tests of every row of ``frame``.

    Parameters
    ----------
    model : acquire.Model
    frame : DataFrame
        One case per row; NaN in a feature column means the test is not done yet.
    observed : list of str, optional
        Only these features count as measured (the others are hidden, as if not ordered).
    view : {"long", "next"}
        "long": one row per (case, candidate), best first, with the input's index in ``row``.
        "next": the input frame with :data:`NEXT_COLUMNS` added (the recommended next test).
    include_groups : bool, default=False
        Also offer whole shared-cost groups (valued by Monte Carlo: much slower on big frames).
    errors : {"raise", "report"}
        "report": a bad row (wrong type, out of range, unknown level) does not stop the others;
        the long view lists them in ``result.attrs["errors"]`` (records of row and reason), the
        next view in its ``error`` column (use the next view on a Dask DataFrame: its partitions'
        attrs are not combined).

    Returns
    -------
    DataFrame
    """
    if type(frame).__module__.startswith("dask"):
        from acquire.distributed import rank_dask_frame

        return rank_dask_frame(model, frame, observed=observed, objective=objective, budget=budget,
                               exchange_rate=exchange_rate, view=view, method=method, include_groups=include_groups,
                               n_draws=n_draws, n_replicates=n_replicates, seed=seed, errors=errors)
    if view not in ("long", "next"):
        raise AcquireError(f"view must be 'long' or 'next', got {view!r}")
    if errors not in ("raise", "report"):
        raise AcquireError(f"errors must be 'raise' or 'report', got {errors!r}")
    spec = model.spec
    ranker = model.ranker(objective=objective, budget=budget, exchange_rate=exchange_rate, method=method,
                          include_groups=include_groups, n_draws=n_draws, n_replicates=n_replicates, seed=seed)
    ranker._validate_params()
    X, problems = spec.encode_rows(frame, what="data")
    if problems and errors == "raise":
        raise DataError(problems[min(problems)])
    if observed is not None:
        keep = spec.index_of(list(observed))
        hide = np.ones(X.shape[1], dtype=bool)
        hide[keep] = False
        X[:, hide] = np.nan
    good = np.array([i not in problems for i in range(len(frame))], dtype=bool)
    values = _values(ranker, X, good, method)
    long = _assemble(spec, ranker, X, good, values)
    index = frame.index.to_numpy()
    if view == "long":
        long.insert(0, "row", index[long.pop("position").to_numpy()] if len(long) else long.pop("position"))
        long.attrs["errors"] = [{"row": index[i], "reason": r} for i, r in problems.items()]
        return long
    return _next_view(frame, long, problems)


def _values(ranker, X: np.ndarray, good: np.ndarray, method: str) -> dict:
    """Values and SEs per (row, unit): exact for single tests of a tree model, Monte Carlo otherwise."""
    spec = ranker.spec
    units = spec.units(include_groups=ranker.include_groups)
    names = spec.feature_names
    cols = [[names.index(m) for m in u.members] for u in units]
    n, U = X.shape[0], len(units)
    value = np.full((n, U), np.nan)
    se = np.zeros((n, U))
    how = np.full((n, U), "mc", dtype=object)
    exact_ok = method != "mc" and supports_exact(ranker.predictor, ranker.conditional)
    singles = [u for u in range(U) if len(cols[u]) == 1 and exact_ok]
    if singles and good.any():
        engine = ExactTreeValue(ranker.predictor, ranker.conditional, ranker.objective,
                                None if spec.utility is None else spec.utility)
        mask = np.zeros_like(X, dtype=bool)
        mask[:, [cols[u][0] for u in singles]] = True
        rows = np.flatnonzero(good)
        batch = engine.batch_values(X[rows], mask[rows])
        for u in singles:
            value[rows, u] = batch[:, cols[u][0]]
            how[rows, u] = "exact"
    others = [u for u in range(U) if u not in singles]
    if others:
        for i in np.flatnonzero(good):
            x = X[i]
            todo = [u for u in others if np.isnan(x[cols[u]]).any()]
            if todo:
                v, s, m = ranker.values(x, [[c for c in cols[u] if np.isnan(x[c])] for u in todo])
                value[i, todo], se[i, todo] = v, s
                how[i, todo] = m
    return {"units": units, "cols": cols, "value": value, "se": se, "method": how}


def _assemble(spec, ranker, X: np.ndarray, good: np.ndarray, values: dict) -> pd.DataFrame:
    """Prices, net values and the order of candidates per row: the same rules as ``ValueOfInformation.rank``."""
    units, cols = values["units"], values["cols"]
    n, U = X.shape[0], len(units)
    missing = np.isnan(X)
    own = np.array([f.cost for f in spec.features])
    groups = list(spec.groups)
    member_of = np.array([[f.group == g for g in groups] for f in spec.features], dtype=bool).reshape(len(spec.features),
                                                                                                      len(groups))
    paid = (~missing).astype(np.int64) @ member_of.astype(np.int64) > 0  # (n, G): a member observed
    shared = np.array([spec.groups[g] for g in groups])
    cost = np.zeros((n, U))
    candidate = np.zeros((n, U), dtype=bool)
    for u, unit in enumerate(units):
        c = cols[u]
        candidate[:, u] = missing[:, c].any(axis=1) & good
        own_cost = own[c].sum() if unit.kind == "panel" else (missing[:, c] * own[c]).sum(axis=1)
        unit_groups = member_of[c].any(axis=0)
        cost[:, u] = own_cost + ((~paid[:, unit_groups]) * shared[unit_groups]).sum(axis=1)
    cost = np.round(cost, 10)
    rate = ranker.spec.exchange_rate(ranker.objective) if ranker.exchange_rate is None else float(ranker.exchange_rate)
    value = values["value"]
    net = value - cost * rate
    with np.errstate(divide="ignore", invalid="ignore"):
        vpc = np.where(cost == 0, np.nan, value / cost)
    within = np.ones((n, U), dtype=bool) if ranker.budget is None else cost <= ranker.budget + 1e-12
    # order: free tests first, then by value per cost, ties by value (as Ranking does)
    key_free = np.where(cost == 0, 0, 1)
    order = np.lexsort((-np.nan_to_num(value), -np.nan_to_num(vpc, nan=0.0), key_free), axis=-1) if U else np.zeros((n, 0), int)
    in_order = np.take_along_axis(candidate, order, axis=1)  # candidates, each row in ranking order
    pos, slot = np.nonzero(in_order)  # row-major: rows ascending, best candidate first within a row
    if pos.size == 0:
        return pd.DataFrame(columns=["position", "rank", "feature", "kind", "members", "cost", "value", "se",
                                     "net_value", "value_per_cost", "within_budget", "method", "recommended"])
    uid = order[pos, slot]
    ranks = np.cumsum(in_order, axis=1)[pos, slot]
    names = spec.feature_names
    unit_names = np.array([u.name for u in units], dtype=object)
    unit_kinds = np.array([u.kind for u in units], dtype=object)
    members = unit_names[uid].copy()  # a single test is its own member
    for u in range(U):
        if len(cols[u]) > 1:
            at = np.flatnonzero(uid == u)
            members[at] = [",".join(names[c] for c in cols[u] if missing[i, c]) for i in pos[at]]
    long = pd.DataFrame({
        "position": pos, "rank": ranks, "feature": unit_names[uid], "kind": unit_kinds[uid], "members": members,
        "cost": cost[pos, uid], "value": value[pos, uid], "se": values["se"][pos, uid], "net_value": net[pos, uid],
        "value_per_cost": vpc[pos, uid], "within_budget": within[pos, uid], "method": values["method"][pos, uid],
    })
    worth = long["within_budget"] & (long["net_value"] > 0)
    first = worth & ~worth.groupby(long["position"]).cumsum().gt(1)
    long["recommended"] = first.to_numpy()
    return long


def _next_view(frame: pd.DataFrame, long: pd.DataFrame, problems: dict[int, str]) -> pd.DataFrame:
    out = frame.copy()
    n = len(frame)
    pos = long["position"].to_numpy(dtype=np.int64)
    counts = np.bincount(pos, minlength=n)
    affordable = np.bincount(pos, weights=long["within_budget"].to_numpy(dtype=float), minlength=n) > 0
    pick = long[long["recommended"].to_numpy(dtype=bool)]
    at = pick["position"].to_numpy(dtype=np.int64)
    has = np.zeros(n, dtype=bool)
    has[at] = True
    bad = np.zeros(n, dtype=bool)
    bad[list(problems)] = True

    def spread(column, dtype=object):
        full = np.full(n, np.nan, dtype=dtype)
        full[at] = pick[column].to_numpy()
        return full

    out["next_test"] = spread("feature")
    out["next_cost"] = spread("cost", float)
    out["next_value"] = spread("value", float)
    out["next_value_per_cost"] = spread("value_per_cost", float)
    out["n_candidates"] = pd.array(np.where(bad, None, counts), dtype="Int64")
    out["stop"] = pd.array(np.where(bad, None, ~has), dtype="boolean")
    reason = np.where(counts == 0, "nothing left to measure",
                      np.where(~affordable, "budget spent: no candidate fits the remaining budget",
                               "no affordable candidate has positive net value")).astype(object)
    reason[has | bad] = np.nan
    out["stop_reason"] = reason
    error = np.full(n, np.nan, dtype=object)
    for i, r in problems.items():
        error[i] = r
    out["error"] = error
    return out


class NextTestTransformer:
    """scikit-learn transformer: adds the recommended next test to every row (``view="next"``).

    Parameters
    ----------
    model : acquire.Model or None
    model_dir : str or None
        Loaded in ``fit`` when ``model`` is None.
    objective, budget, exchange_rate, observed, include_groups, seed : see :func:`rank_frame`.
    errors : {"report", "raise"}, default="report"

    Attributes
    ----------
    model_ : acquire.Model
    """

    def __init__(self, *, model: Any = None, model_dir: str | None = None, objective: str = "eig",
                 budget: float | None = None, exchange_rate: float | None = None, observed: Sequence[str] | None = None,
                 include_groups: bool = False, seed: int = 0, errors: str = "report"):
        self.model = model
        self.model_dir = model_dir
        self.objective = objective
        self.budget = budget
        self.exchange_rate = exchange_rate
        self.observed = observed
        self.include_groups = include_groups
        self.seed = seed
        self.errors = errors

    def get_params(self, deep: bool = True) -> dict:
        return {k: getattr(self, k) for k in ("model", "model_dir", "objective", "budget", "exchange_rate", "observed",
                                               "include_groups", "seed", "errors")}

    def set_params(self, **params) -> "NextTestTransformer":
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def fit(self, X: pd.DataFrame | None = None, y: Any = None) -> "NextTestTransformer":
        from acquire.model import load_model

        if self.model is None and self.model_dir is None:
            raise AcquireError("NextTestTransformer needs model= or model_dir=")
        self.model_ = self.model if self.model is not None else load_model(self.model_dir)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "model_"):
            from acquire.exceptions import NotFittedError

            raise NotFittedError("This NextTestTransformer instance is not fitted yet. Call 'fit' first.")
        return rank_frame(self.model_, X, observed=self.observed, objective=self.objective, budget=self.budget,
                          exchange_rate=self.exchange_rate, include_groups=self.include_groups, seed=self.seed,
                          view="next", errors=self.errors)

    def fit_transform(self, X: pd.DataFrame, y: Any = None) -> pd.DataFrame:
        return self.fit(X, y).transform(X)
