"""Gradient-boosted predictor (XGBoost) trained with random masking; saved as UBJSON, never pickle."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from acquire.exceptions import DataError, ModelError
from acquire.predictors.base import Predictor, random_masks

__all__ = ["XGBoostPredictor"]


class XGBoostPredictor(Predictor):
    """XGBoost with native missing values, trained on randomly masked copies of the data.

    Parameters
    ----------
    n_estimators : int, default=200
    max_depth : int, default=4
    learning_rate : float, default=0.05
    subsample : float, default=0.8
    mask_copies : int, default=8
        Copies of the training set; copy 0 is complete, the others randomly masked.
    seed : int, default=0
    n_jobs : int or None, default=None
        Threads for XGBoost (None: all cores).

    Attributes
    ----------
    booster_ : xgboost.Booster
        The mean / class-probability model.
    variance_booster_ : xgboost.Booster or None
        Continuous targets only: a gamma regression of the cross-fitted squared residual,
        so the predictive variance depends on which features are observed.
    """

    capabilities = frozenset({"tree_ensemble"})

    name = "xgboost"
    files_required: ClassVar[tuple[str, ...]] = ("predictor.ubj",)  # read at load: the manifest must list them with checksums

    def __init__(self, *, n_estimators: int = 200, max_depth: int = 4, learning_rate: float = 0.05,
                 subsample: float = 0.8, mask_copies: int = 8, seed: int = 0, n_jobs: int | None = None,
                 monotone: str | None = None):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.mask_copies = mask_copies
        self.seed = seed
        self.n_jobs = n_jobs
        self.monotone = monotone  # XGBoost's monotone_constraints, e.g. "(0,1,0)"; set from the spec by fit_model

    def _params(self, objective: str, n_classes: int = 0) -> dict:
        params = {
            "objective": objective, "max_depth": self.max_depth, "eta": self.learning_rate,
            "subsample": self.subsample, "seed": self.seed, "tree_method": "hist",
            "nthread": self.n_jobs or 0, "verbosity": 0,
        }
        if objective == "multi:softprob":
            params["num_class"] = n_classes
        elif self.monotone and objective in ("binary:logistic", "reg:squarederror"):
            params["monotone_constraints"] = self.monotone
        return params

    def fit(self, X: np.ndarray, y: np.ndarray, *, kind: str, n_classes: int = 0,
            mask_units: Sequence[Sequence[int]] | None = None,
            discrete: Sequence[bool] | None = None) -> "XGBoostPredictor":
        import xgboost as xgb

        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) != len(y):
            raise DataError(f"X has shape {X.shape} and y has {len(y)} entries; expected (n, p) and n")
        if kind not in ("binary", "multiclass", "continuous"):
            raise DataError(f"kind must be 'binary', 'multiclass' or 'continuous', got {kind!r}")
        rng = np.random.default_rng(self.seed)
        units = mask_units if mask_units is not None else [[j] for j in range(X.shape[1])]
        masks = random_masks(len(X), units, X.shape[1], self.mask_copies, rng)
        X_aug = np.tile(X, (self.mask_copies, 1))
        X_aug[masks] = np.nan
        y_aug = np.tile(np.asarray(y), self.mask_copies)
        if kind == "binary":
            params = self._params("binary:logistic")
        elif kind == "multiclass":
            params = self._params("multi:softprob", n_classes)
        else:
            params = self._params("reg:squarederror")
        self.booster_ = xgb.train(params, xgb.DMatrix(X_aug, label=y_aug, missing=np.nan), self.n_estimators)
        self.variance_booster_ = None
        if kind == "continuous":
            self.variance_booster_ = self._fit_variance(X_aug, y_aug, len(X), rng)
        self.kind_ = kind
        self.n_classes_ = 2 if kind == "binary" else (n_classes if kind == "multiclass" else 0)
        self.n_features_in_ = X.shape[1]
        return self

    def _fit_variance(self, X_aug: np.ndarray, y_aug: np.ndarray, n_rows: int, rng: np.random.Generator):
        """Gamma regression of out-of-fold squared residuals (folds by original row)."""
        import xgboost as xgb

        fold = np.tile(rng.integers(0, 3, size=n_rows), self.mask_copies)
        resid2 = np.empty_like(y_aug, dtype=np.float64)
        for k in range(3):
            train, test = fold != k, fold == k
            b = xgb.train(self._params("reg:squarederror"), xgb.DMatrix(X_aug[train], label=y_aug[train]), self.n_estimators)
            resid2[test] = (y_aug[test] - b.inplace_predict(X_aug[test])) ** 2
        floor = max(1e-12, 1e-6 * float(np.var(y_aug)))
        return xgb.train(self._params("reg:gamma"), xgb.DMatrix(X_aug, label=resid2 + floor), self.n_estimators)

    def tree_arrays(self):
        """The fitted trees as flat arrays for the exact estimators (parsed once, then cached)."""
        from acquire.predictors.tree_arrays import tree_arrays_from_boosters

        self._check_fitted()
        if getattr(self, "_tree_arrays", None) is None:
            boosters = [self.booster_] + ([self.variance_booster_] if self.variance_booster_ is not None else [])
            groups = [self.n_classes_ if self.kind_ == "multiclass" else 1] + ([1] if self.variance_booster_ is not None else [])
            self._tree_arrays = tree_arrays_from_boosters(boosters, self.n_features_in_, groups)
        return self._tree_arrays

    def distribution_from_margins(self, margins: np.ndarray) -> np.ndarray:
        """Apply the objective's link to raw margins (n, G): sigmoid, softmax, or (mean, exp(log-variance))."""
        if self.kind_ == "binary":
            p = 1.0 / (1.0 + np.exp(-margins[:, 0]))
            return np.column_stack([1.0 - p, p])
        if self.kind_ == "multiclass":
            z = np.exp(margins - margins.max(axis=1, keepdims=True))
            return z / z.sum(axis=1, keepdims=True)
        return np.column_stack([margins[:, 0], np.exp(margins[:, 1])])

    def predict_distribution(self, X: np.ndarray) -> np.ndarray:
        self._check_fitted()
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise DataError(f"X has shape {X.shape}; expected (n, {self.n_features_in_})")
        raw = self.booster_.inplace_predict(X, missing=np.nan)
        if self.kind_ == "binary":
            p = np.asarray(raw, dtype=np.float64)
            return np.column_stack([1.0 - p, p])
        if self.kind_ == "multiclass":
            return np.asarray(raw, dtype=np.float64).reshape(len(X), self.n_classes_)
        assert self.variance_booster_ is not None  # fitted for every continuous target
        var = self.variance_booster_.inplace_predict(X, missing=np.nan)
        return np.column_stack([np.asarray(raw, dtype=np.float64), np.asarray(var, dtype=np.float64)])

    # ---- persistence: XGBoost's own UBJSON ------------------------------------------
    def save(self, directory: Path) -> dict:
        self._check_fitted()
        files = ["predictor.ubj"]
        self.booster_.save_model(str(directory / "predictor.ubj"))
        if self.variance_booster_ is not None:
            self.variance_booster_.save_model(str(directory / "predictor_variance.ubj"))
            files.append("predictor_variance.ubj")
        return {
            "name": self.name, "kind": self.kind_, "n_classes": self.n_classes_, "n_features": self.n_features_in_,
            "files": files,
            "params": {k: getattr(self, k) for k in ("n_estimators", "max_depth", "learning_rate", "subsample", "mask_copies",
                                                     "seed", "monotone")},
        }

    @classmethod
    def load(cls, directory: Path, meta: dict) -> "XGBoostPredictor":
        import xgboost as xgb

        obj = cls(**meta.get("params", {}))
        try:
            obj.booster_ = _read_booster(directory / "predictor.ubj")
            obj.variance_booster_ = None
            if "predictor_variance.ubj" in meta.get("files", []):
                obj.variance_booster_ = _read_booster(directory / "predictor_variance.ubj")
        except (xgb.core.XGBoostError, ValueError, OSError) as exc:  # garbage bytes, a truncated file
            first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
            raise ModelError(f"{directory}: cannot load the XGBoost model: {first}") from None
        obj.kind_ = meta["kind"]
        obj.n_classes_ = int(meta["n_classes"])
        obj.n_features_in_ = int(meta["n_features"])
        if obj.booster_.num_features() != obj.n_features_in_:
            raise ModelError(f"{directory}: the XGBoost model has {obj.booster_.num_features()} features; the manifest says {obj.n_features_in_}")
        try:  # validate the trees now, before any kernel walks them
            obj.tree_arrays()
        except (ValueError, KeyError, TypeError, IndexError, OverflowError) as exc:
            raise ModelError(f"{directory}: predictor.ubj holds trees the engine cannot use: {exc}") from None
        return obj


def _read_booster(path: Path) -> Any:
    """An XGBoost booster from a model file a user handed us: the bytes are decoded strictly and the
    trees checked (:func:`acquire.predictors.tree_arrays.check_model_document`) before XGBoost's
    own loader, which trusts lengths in the file and can crash the process on a corrupt one, sees
    a canonical re-encoding of them. Raises ``ValueError`` (or ``XGBoostError``)."""
    import xgboost as xgb

    from acquire.predictors.tree_arrays import check_model_document
    from acquire.predictors.ubjson import decode, encode

    doc = decode(path.read_bytes())
    check_model_document(doc)
    booster = xgb.Booster()
    booster.load_model(bytearray(encode(doc)))
    return booster
