"""pandas in, pandas out: rank the next test for every row of a frame, and a scikit-learn transformer.

Missing values in the spec's feature columns are the candidates; every other column is carried
through untouched. The whole frame goes through the engine's batch path
(:meth:`acquire.engine.ValueOfInformation.rank_batch`): single tests of a tree model are valued
for all rows in one parallel numba call, panels and groups by seeded Monte Carlo per row, and
prices, order and the stop rule are the same code as for one case. A row's result does not depend
on how the frame is chunked or partitioned.
"""

from __future__ import annotations

from typing import Any, Sequence

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from acquire.engine.pricing import NOT_WORTH
from acquire.engine.ranking import BatchRanking
from acquire.exceptions import AcquireError, AcquireWarning, DataError

__all__ = ["rank_frame", "NextTestTransformer", "NEXT_COLUMNS", "NEXT_TYPES", "LONG_COLUMNS", "LONG_TYPES"]

#: the columns the "next" view adds to the input frame, and their types (fixed: never inferred from data)
NEXT_TYPES = {"next_test": "string", "next_cost": "float64", "next_value": "float64", "next_value_per_cost": "float64",
              "n_candidates": "int64", "stop": "bool", "stop_reason": "string", "error": "string"}
NEXT_COLUMNS = list(NEXT_TYPES)
#: the columns of the "long" view after ``row`` (the input's row label), and their types
LONG_TYPES = {"rank": "int64", "feature": "string", "kind": "string", "members": "string", "cost": "float64",
              "value": "float64", "se": "float64", "dof": "int64", "net_value": "float64", "value_per_cost": "float64",
              "within_budget": "bool", "method": "string", "recommended": "bool"}
LONG_COLUMNS = list(LONG_TYPES)


def rank_frame(model: Any, frame: pd.DataFrame, *, observed: Sequence[str] | None = None, objective: str = "eig",
               budget: float | None = None, exchange_rate: float | None = None, view: str = "long",
               method: str = "auto", include_groups: bool = False, n_draws: int = 1024, n_replicates: int = 8,
               seed: int = 0, errors: str = "raise", allow_after_decision: bool = False) -> pd.DataFrame:
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
    allow_after_decision : bool, default=False
        Use values of features known only after the decision (see :class:`acquire.engine.ValueOfInformation`).
    errors : {"raise", "report"}
        "report": a bad row (wrong type, out of range, unknown level) does not stop the others;
        the long view lists them in ``result.attrs["errors"]`` (records of row and reason), the
        next view in its ``error`` column (use the next view on a Dask DataFrame: its partitions'
        attrs are not combined).

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> import acquire
    >>> from acquire import datasets
    >>> from acquire.pipeline import rank_frame
    >>> frame, spec = datasets.load("pima")
    >>> model = acquire.fit_model(frame, spec, seed=0)
    >>> cases = frame.drop(columns="type").head(3).assign(glu=float("nan"), ins=float("nan"))
    >>> nxt = rank_frame(model, cases, view="next")
    >>> nxt[["next_test", "stop"]].shape
    (3, 2)
    """
    if view not in ("long", "next"):
        raise AcquireError(f"view must be 'long' or 'next', got {view!r}")
    if errors not in ("raise", "report"):
        raise AcquireError(f"errors must be 'raise' or 'report', got {errors!r}")
    spec = model.spec
    ranker = model.ranker(objective=objective, budget=budget, exchange_rate=exchange_rate, method=method,
                          include_groups=include_groups, n_draws=n_draws, n_replicates=n_replicates, seed=seed,
                          allow_after_decision=allow_after_decision)
    ranker.check_params()
    X, problems = spec.encode_rows(frame, what="data", level_hints=False)  # a row's reason is its own
    if problems and errors == "raise":
        raise DataError(problems[min(problems)])
    if observed is not None:
        hide = np.ones(X.shape[1], dtype=bool)
        hide[spec.index_of(list(observed))] = False
        X[:, hide] = np.nan
    good = np.array([i not in problems for i in range(len(frame))], dtype=bool)
    batch = ranker.rank_batch(X, rows=good)
    warn_if_stop_rule_degenerate(batch, good, ranker.rate, spec.exchange_rate_key(objective))
    if view == "next":
        return _next_view(frame, batch, problems)
    long = _long_view(batch)
    index = frame.index.to_numpy()
    long.insert(0, "row", index[long.pop("position").to_numpy()] if len(long) else long.pop("position"))
    long.attrs["errors"] = [{"row": index[i], "reason": r} for i, r in problems.items()]
    return long


def warn_if_stop_rule_degenerate(batch: BatchRanking, rows: np.ndarray, rate: float, key: str) -> None:
    """Warn when the exchange rate, not the cases, decides every stop: at rate 0 the stop rule can
    never fire; and when no row with a test left has one worth its cost, it fired for all of them."""
    open_rows = rows & batch.candidate.any(axis=1)
    if not open_rows.any():
        return
    if rate == 0:
        warnings.warn(f"exchange rate 0 (use_case.{key}): the stop rule never fires; every test with any value "
                      f"is worth buying", AcquireWarning, stacklevel=3)
    elif open_rows.sum() >= 2 and (batch.decision.stop_reason[open_rows] == NOT_WORTH).all():
        best = np.nanmax(np.where(batch.candidate, batch.estimate.value / np.maximum(batch.cost, 1e-300), np.nan)[open_rows])
        warnings.warn(f"at exchange rate {rate:g} (use_case.{key}) no test is worth its cost for any of the "
                      f"{int(open_rows.sum())} rows (the stop rule always fires); the best test of any row breaks "
                      f"even at {best:.3g}", AcquireWarning, stacklevel=3)


def _long_view(batch: BatchRanking) -> pd.DataFrame:
    """One row per (case, candidate), each case's candidates best first, from the engine's batch answer."""
    dec, est = batch.decision, batch.estimate
    in_order = np.take_along_axis(batch.candidate, dec.order, axis=1)  # candidates, each row in ranking order
    pos, slot = np.nonzero(in_order)  # row-major: rows ascending, best candidate first within a row
    if pos.size == 0:
        return pd.DataFrame(columns=["position", *LONG_COLUMNS])
    uid = dec.order[pos, slot]
    unit_names = np.array([u.name for u in batch.units], dtype=object)
    members = unit_names[uid].copy()  # a single test is its own member
    for k in np.flatnonzero([len(batch.units[u].members) > 1 for u in uid]):
        members[k] = ",".join(batch.members(pos[k], uid[k]))
    return pd.DataFrame({
        "position": pos, "rank": np.cumsum(in_order, axis=1)[pos, slot], "feature": unit_names[uid],
        "kind": np.array([u.kind for u in batch.units], dtype=object)[uid], "members": members,
        "cost": batch.cost[pos, uid], "value": est.value[pos, uid], "se": est.se[pos, uid], "dof": est.dof[pos, uid],
        "net_value": dec.net_value[pos, uid], "value_per_cost": dec.value_per_cost[pos, uid],
        "within_budget": dec.within_budget[pos, uid], "method": est.method[pos, uid],
        "recommended": dec.recommended[pos] == uid,
    })


def _next_view(frame: pd.DataFrame, batch: BatchRanking, problems: dict[int, str]) -> pd.DataFrame:
    """The input frame with the recommended next test (or why to stop) added: :data:`NEXT_COLUMNS`."""
    out = frame.drop(columns=[c for c in NEXT_COLUMNS if c in frame.columns])  # ours go last, whatever the input held
    n, dec = len(frame), batch.decision
    bad = np.zeros(n, dtype=bool)
    bad[list(problems)] = True
    rec = dec.recommended
    has = rec >= 0
    at, pick = np.flatnonzero(has), rec[has]

    def spread(values: np.ndarray, dtype: Any = float) -> np.ndarray:
        full = np.full(n, np.nan, dtype=dtype)
        full[at] = values
        return full

    out["next_test"] = spread(np.array([u.name for u in batch.units], dtype=object)[pick], object)
    out["next_cost"] = spread(batch.cost[at, pick])
    out["next_value"] = spread(batch.estimate.value[at, pick])
    out["next_value_per_cost"] = spread(dec.value_per_cost[at, pick])
    out["n_candidates"] = pd.array([None if b else int(c) for b, c in zip(bad, batch.candidate.sum(axis=1))], dtype="Int64")
    out["stop"] = pd.array([None if b else not h for b, h in zip(bad, has)], dtype="boolean")
    reason = dec.stop_reason.copy()
    reason[has | bad] = np.nan
    out["stop_reason"] = reason
    error = np.full(n, np.nan, dtype=object)
    for i, r in problems.items():
        error[i] = r
    out["error"] = error
    return out


class NextTestTransformer(TransformerMixin, BaseEstimator):
    """scikit-learn transformer: adds the recommended next test to every row (``view="next"``).

    Parameters
    ----------
    model : acquire.Model or None
    model_dir : str or None
        Loaded in ``fit`` when ``model`` is None.
    spec : acquire.Spec, mapping, path or None
        With neither ``model`` nor ``model_dir``, ``fit(X, y)`` fits a model on ``X`` and ``y``
        (:class:`acquire.classifier.AcquireClassifier` with this spec, None: built from ``X``,
        ``predictor`` and ``predictor_params``).
    predictor : {"auto", "copula", "xgboost", "bayes"}, default="auto"
        The predictor ``fit(X, y)`` fits, as ``acquire fit --predictor``.
    objective, budget, exchange_rate, observed, include_groups, seed : see :func:`rank_frame`.
    errors : {"report", "raise"}, default="report"

    Attributes
    ----------
    model_ : acquire.Model
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When ``fit`` saw a DataFrame.

    Input: a DataFrame with the spec's feature columns (others are carried through), or an array
    with exactly the spec's features in the spec's order (e.g. a ``ColumnTransformer``'s numpy output).
    Output: a DataFrame, the input's columns then :data:`NEXT_COLUMNS` (``get_feature_names_out``).
    """

    def __init__(self, *, model: Any = None, model_dir: str | None = None, spec: Any = None,
                 predictor: str = "auto", predictor_params: dict | None = None, objective: str = "eig",
                 budget: float | None = None, exchange_rate: float | None = None, observed: Sequence[str] | None = None,
                 include_groups: bool = False, seed: int = 0, errors: str = "report"):
        self.model = model
        self.model_dir = model_dir
        self.spec = spec
        self.predictor = predictor
        self.predictor_params = predictor_params
        self.objective = objective
        self.budget = budget
        self.exchange_rate = exchange_rate
        self.observed = observed
        self.include_groups = include_groups
        self.seed = seed
        self.errors = errors

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN: a test not done
        tags.transformer_tags.preserves_dtype = []  # the output adds text columns (next_test, stop_reason, error)
        return tags

    def fit(self, X: Any, y: Any = None) -> "NextTestTransformer":
        from acquire.model import load_model

        if self.model is not None:
            self.model_ = self.model
        elif self.model_dir is not None:
            self.model_ = load_model(str(self.model_dir))
        elif y is not None:
            from acquire.classifier import AcquireClassifier

            fitted = AcquireClassifier(self.spec, predictor=self.predictor, predictor_params=self.predictor_params,
                                       seed=self.seed).fit(X, y)
            self.model_ = fitted.model_
        else:
            raise AcquireError("NextTestTransformer needs model=, model_dir=, or labels y to fit a model on X")
        self._remember_input(X)
        return self

    def _remember_input(self, X: Any) -> None:
        if not isinstance(X, pd.DataFrame):
            X = check_array(X, dtype=None, ensure_all_finite="allow-nan")
            names = self.model_.spec.feature_names
            if X.shape[1] != len(names):
                raise AcquireError(f"X has {X.shape[1]} columns; an array must hold exactly the spec's {len(names)} "
                                   f"features in order ({', '.join(names)}); pass a DataFrame to carry other columns")
        validate_data(self, X, reset=True, skip_check_array=True)  # n_features_in_, feature_names_in_

    def _as_frame(self, X: Any) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            X = check_array(X, dtype=None, ensure_all_finite="allow-nan")
        validate_data(self, X, reset=False, skip_check_array=True)  # the width and names seen by fit
        return X if isinstance(X, pd.DataFrame) else pd.DataFrame(X, columns=self.model_.spec.feature_names)

    def transform(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "model_")
        return rank_frame(self.model_, self._as_frame(X), observed=self.observed, objective=self.objective,
                          budget=self.budget, exchange_rate=self.exchange_rate, include_groups=self.include_groups,
                          seed=self.seed, view="next", errors=self.errors)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The input's columns, then :data:`NEXT_COLUMNS` (an input column of the same name is replaced)."""
        check_is_fitted(self, "model_")
        if input_features is None:
            input_features = getattr(self, "feature_names_in_", self.model_.spec.feature_names)
        kept = [str(c) for c in input_features if c not in NEXT_TYPES]
        return np.asarray(kept + NEXT_COLUMNS, dtype=object)
