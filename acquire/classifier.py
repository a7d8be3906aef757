"""A scikit-learn classifier over acquire's models: ``fit(X, y)``, ``predict_proba(X)`` with NaN as "not measured".

:class:`AcquireClassifier` fits the same model ``acquire fit`` does (a predictor valid under any
missingness pattern plus the class-conditional model of the features), so anything scikit-learn
accepts a classifier for works with it (``clone``, ``Pipeline``, ``cross_val_score``,
``CalibratedClassifierCV``), and the fitted ``model_`` ranks the next test for a case.

The spec is optional: without one, every column is a continuous test of cost 1 (a pandas
``category`` column a categorical one, with its categories as levels), the classes are the
sorted labels of ``y``, and no exchange rate is set (ranking then needs ``exchange_rate=``).
With one, ``X`` must hold the spec's feature columns.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from acquire.exceptions import AcquireWarning

__all__ = ["AcquireClassifier"]


class AcquireClassifier(ClassifierMixin, BaseEstimator):
    """Classifier of acquire's predictor; missing values (NaN) are tests not done.

    Parameters
    ----------
    spec : acquire.Spec, mapping, path or None
        The features (types, costs, levels) and target; None: built from ``X`` and ``y`` (see module).
    predictor : {"auto", "copula", "xgboost", "bayes"}, default="auto"
        As ``acquire fit --predictor``: "auto" chooses among the copula classifier and masked XGBoost
        by cross-validated log loss over the states a greedy acquisition policy creates
        (:mod:`acquire.selection`).
    predictor_params : dict or None
        Passed to the predictor (e.g. ``{"n_estimators": 100}``); a setting only XGBoost takes keeps
        "auto" to XGBoost.
    seed : int, default=0

    Attributes
    ----------
    model_ : acquire.Model
        The fitted model: ``clf.model_.rank(case)`` ranks the next test.
    classes_ : ndarray
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.

    Examples
    --------
    >>> from sklearn.model_selection import cross_val_score
    >>> from acquire import datasets
    >>> from acquire.classifier import AcquireClassifier
    >>> frame, spec = datasets.load("pima")
    >>> X, y = frame[spec.feature_names], frame["type"]
    >>> scores = cross_val_score(AcquireClassifier(spec=spec, predictor_params={"n_estimators": 50}), X, y,
    ...                          cv=3, scoring="roc_auc")
    >>> bool(scores.mean() > 0.75)
    True
    """

    def __init__(self, spec: Any = None, *, predictor: str = "auto", predictor_params: dict | None = None,
                 seed: int = 0) -> None:
        self.spec = spec
        self.predictor = predictor
        self.predictor_params = predictor_params
        self.seed = seed

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN: a test not done
        return tags

    def _frame(self, X: Any, reset: bool) -> pd.DataFrame:
        """``X`` checked by scikit-learn and named as the spec's features."""
        categorical = isinstance(X, pd.DataFrame) and not all(is_numeric_dtype(X[c]) for c in X.columns)
        checked = validate_data(self, X, reset=reset, ensure_all_finite="allow-nan",
                                dtype=None if categorical else "numeric")
        if categorical:
            return pd.DataFrame(X).reset_index(drop=True)
        names = (list(self.feature_names_in_) if hasattr(self, "feature_names_in_")
                 else [f"x{i}" for i in range(checked.shape[1])])
        return pd.DataFrame(np.asarray(checked, dtype=np.float64), columns=names)

    def fit(self, X: Any, y: Any) -> "AcquireClassifier":
        from acquire.model import fit_model
        from acquire.spec import Spec, load_spec

        frame = self._frame(X, reset=True)
        if "__target__" in frame.columns:
            raise ValueError("X has a column named '__target__', the name the classifier gives y; rename it")
        y = column_or_1d(y, warn=True)  # a column vector: scikit-learn's DataConversionWarning, then used
        check_classification_targets(y)
        if len(y) != len(frame):
            raise ValueError(f"y must be one label per row of X: {len(frame)} rows, y has shape {y.shape}")
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise ValueError(f"y holds one class only ({self.classes_[0]!r}); a classifier needs at least 2")
        if self.spec is None:
            spec = self._default_spec(frame)
        else:
            spec = self.spec if isinstance(self.spec, Spec) else load_spec(self.spec)
            missing = [n for n in spec.feature_names if n not in frame.columns]
            if missing:
                raise ValueError(f"X lacks the spec's feature column(s) {missing}")
        labels = [str(c) for c in self.classes_]
        if len(set(labels)) != len(labels):
            raise ValueError(f"the labels of y are distinct but their text is not: {labels}")
        spec = self._with_classes(spec, labels)
        self._order = np.array([spec.classes.index(label) for label in labels])  # model column of each of classes_
        labelled = frame[spec.feature_names].assign(**{spec.target_name: [str(v) for v in y]})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AcquireWarning)
            self.model_ = fit_model(labelled, spec, predictor=self.predictor, seed=self.seed, holdout=0,
                                    predictor_params=self.predictor_params)
        return self

    @staticmethod
    def _with_classes(spec: Any, labels: list[str]) -> Any:
        """``spec`` whose target holds exactly ``labels`` (its declared order kept; else sorted)."""
        from acquire.spec import load_spec

        data = spec.to_dict()
        target = dict(data["target"])
        declared = target.get("classes")
        if declared is None:
            target["classes"] = labels
            target["kind"] = "binary" if len(labels) == 2 else "multiclass"
        elif sorted(map(str, declared)) != sorted(labels):
            raise ValueError(f"y's classes {labels} are not the spec's target.classes {list(declared)}")
        else:
            target["classes"] = [str(c) for c in declared]
        data["target"] = target
        return load_spec(data)

    def _default_spec(self, frame: pd.DataFrame) -> Any:
        from acquire.spec import load_spec

        features = []
        for name in frame.columns:
            column = frame[name]
            if not is_numeric_dtype(column):  # category, object or pandas' str
                levels = (list(column.cat.categories) if isinstance(column.dtype, pd.CategoricalDtype)
                          else sorted(column.dropna().unique().tolist(), key=str))
                features.append({"name": str(name), "type": "categorical", "cost": 1.0, "levels": levels})
            else:
                features.append({"name": str(name), "type": "continuous", "cost": 1.0})
        return load_spec({"target": {"name": "__target__", "kind": "binary"}, "features": features,
                          "use_case": {"kind": "risk_prediction"}})  # no exchange rate: ranking asks for one

    def predict_proba(self, X: Any) -> np.ndarray:
        """``P(class | the values present)`` for every row: (n, n_classes), columns in ``classes_`` order."""
        check_is_fitted(self, "model_")
        frame = self._frame(X, reset=False)
        spec = self.model_.spec
        encoded = spec.encode(frame[spec.feature_names]) if len(frame) else np.zeros((0, len(spec.features)))
        proba = np.asarray(self.model_.predictor.predict_distribution(encoded), dtype=np.float64)
        return proba[:, self._order]

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
