"""A fitted model bundle (spec + predictor + conditional model) and its portable model directory.

A model directory holds ``manifest.json`` (format, versions, SHA-256 of every file),
``spec.json``, ``conditional.json``, the predictor in its own data format (XGBoost UBJSON)
and ``metrics.json``. Loading checks every checksum first and never executes code.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

import acquire._json as strict_json
from acquire._io import atomic_directory, sha256_file
from acquire._typing import PathLike
from acquire._version import __version__
from acquire.conditional import conditional_for, conditional_from_dict
from acquire.metrics import baseline_models, baseline_warnings, missingness_report
from acquire.exceptions import AcquireError, AcquireWarning, DataError, ModelError
from acquire.predictors import PREDICTORS, Predictor
from acquire.spec import Spec, load_spec
from acquire.engine import ValueOfInformation

__all__ = ["Model", "fit_model", "load_model"]

FORMAT = "acquire-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
REQUIRED_FILES = ("spec.json", "conditional.json", "metrics.json")
MAX_MODEL_FILE = 1 << 30  # bytes; bounds what a crafted manifest can make us read
TRAINING_ROWS = "training_rows.json"  # fingerprints of the rows the model was fitted on (optional)
FINGERPRINT = "sha256-64 of float64 features + target"


class Model:
    """Everything the engine needs for one problem.

    Attributes
    ----------
    spec : Spec
    predictor : Predictor
    conditional : ClassConditionalCopula or GaussianCopula
        Class-conditional copulas for classification targets, one copula for continuous ones.
    metrics : dict
        Held-out calibration at several missingness levels (see :func:`fit_model`).
    """

    def __init__(self, spec: Spec, predictor: Predictor, conditional, metrics: dict | None = None,
                 training_rows: np.ndarray | None = None):
        self.spec = spec
        self.predictor = predictor
        self.conditional = conditional
        self.metrics = metrics or {}
        self.training_rows = training_rows

    def trained_on(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Which rows of ``frame`` (features and target, as encoded) the model was fitted on: a boolean
        per row, from the fingerprint stored at fit; None when the model holds no fingerprint."""
        if self.training_rows is None:
            return None
        X = self.spec.encode_rows(frame, what="data")[0]
        y = self.spec.encode_target(frame[self.spec.target_name]) if self.spec.target_name in frame.columns else None
        return np.isin(row_fingerprints(X, y), self.training_rows)

    def ranker(self, **params: Any) -> ValueOfInformation:
        """A :class:`ValueOfInformation` engine over this model; ``params`` go to its constructor."""
        return ValueOfInformation(predictor=self.predictor, conditional=self.conditional, spec=self.spec, **params)

    def rank(self, case, *, case_id: Any = None, **params: Any):
        """Shortcut for ``self.ranker(**params).rank(case, case_id=case_id)``."""
        return self.ranker(**params).rank(case, case_id=case_id)

    def save(self, directory: PathLike) -> Path:
        """Write the model directory atomically (a failure leaves any previous one intact)."""
        directory = Path(directory)
        with atomic_directory(directory, marker=MANIFEST) as tmp:
            (tmp / "spec.json").write_text(strict_json.dumps(self.spec.to_dict(), indent=2), "utf-8")
            (tmp / "conditional.json").write_text(strict_json.dumps(self.conditional.to_dict()), "utf-8")
            (tmp / "metrics.json").write_text(strict_json.dumps(self.metrics, indent=2), "utf-8")
            if self.training_rows is not None:
                (tmp / TRAINING_ROWS).write_text(strict_json.dumps(
                    {"hash": FINGERPRINT, "rows": [f"{v:016x}" for v in self.training_rows]}), "utf-8")
            predictor_meta = self.predictor.save(tmp)
            files = sorted(p.name for p in tmp.iterdir())
            manifest = {
                "format": FORMAT, "format_version": FORMAT_VERSION, "acquire_version": __version__,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "predictor": predictor_meta, "feature_names": self.spec.feature_names,
                "versions": _versions(), "files": {f: sha256_file(tmp / f) for f in files},
            }
            (tmp / MANIFEST).write_text(strict_json.dumps(manifest, indent=2), "utf-8")
        return directory

    def __repr__(self) -> str:
        return (f"<acquire.Model {self.spec.name or ''}: {self.predictor.name} predictor of {self.spec.target_name!r} "
                f"({self.spec.target_kind}) over {len(self.spec.features)} features>")


def row_fingerprints(X: np.ndarray, y: np.ndarray | None) -> np.ndarray:
    """A 64-bit fingerprint per row: the first 8 bytes of SHA-256 over the row's encoded features
    (float64, NaN canonical) and target. Only these hashes are stored, never the rows."""
    X = np.where(np.isnan(X), np.nan, X).astype("<f8")  # one NaN bit pattern
    target = np.zeros(len(X), "<f8") if y is None else np.asarray(y, dtype="<f8")
    return np.array([int.from_bytes(hashlib.sha256(row.tobytes() + t.tobytes()).digest()[:8], "little")
                     for row, t in zip(X, target)], dtype=np.uint64)


def _versions() -> dict:
    import numba
    import xgboost

    return {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
            "numba": numba.__version__, "xgboost": xgboost.__version__}


def _mask_units(spec: Spec) -> list[list[int]]:
    return [spec.index_of(u.members) for u in spec.units(include_groups=False)]


def fit_model(frame: pd.DataFrame, spec: Spec, *, predictor: str = "auto", seed: int = 0, holdout: float = 0.2,
              predictor_params: dict | None = None, progress: Callable[[str], None] | None = None,
              strict: bool = False) -> Model:
    """Fit the conditional model and the predictor on ``frame``; report held-out calibration.

    ``predictor="auto"`` chooses among the candidates of :mod:`acquire.selection` by cross-validated
    log loss over the states acquisition creates (each held-out case at every step of a greedy policy's
    order; the table, with random missingness levels too, is kept in ``Model.metrics["selection"]``). When the
    chosen model is no better than predicting the prevalence, an :class:`AcquireWarning` says so;
    with ``strict=True`` it is an :class:`AcquireError` instead and nothing is fitted further.

    The predictor is first fitted on a seeded, stratified ``1 − holdout`` split and scored on
    the rest at missingness levels 0, 25, 50 and 75 % (``Model.metrics``); then both models
    are refitted on every row. ``holdout=0`` skips the report.

    A classification spec without ``target.classes`` gets the sorted values of ``frame``'s target
    as its class order (with an :class:`~acquire.exceptions.AcquireWarning`); the model stores it,
    so later data, even a slice holding one class, is encoded in the same order.
    """
    if predictor != "auto" and predictor not in PREDICTORS:
        raise AcquireError(f"unknown predictor {predictor!r}; available: auto, {', '.join(PREDICTORS)}")
    if spec.target_name not in frame.columns:
        raise AcquireError(f"data: the target column {spec.target_name!r} is missing")
    if not 0 <= holdout < 1:
        raise AcquireError(f"holdout == {holdout}, must be in [0, 1)")
    if spec.target_kind != "continuous" and spec.classes is None:
        spec = spec.with_classes_from(frame[spec.target_name])
        warnings.warn(f"the spec declares no target.classes; the class order {spec.classes} (sorted values; the last "
                      f"is the positive class) is fixed now and stored with the model", AcquireWarning, stacklevel=2)
    X = spec.encode(frame, what="data")
    empty = [f.name for f, seen in zip(spec.features, (~np.isnan(X)).any(axis=0)) if not seen]
    if empty:
        raise DataError(f"data: column(s) {', '.join(map(repr, empty))} hold no value in any row, so nothing can be "
                        f"learnt about them; fill them in, or remove them from the spec's features")
    y = spec.encode_target(frame[spec.target_name], what="data")
    kind = spec.target_kind
    n_classes = 0 if kind == "continuous" else len(spec.classes or ())
    if kind != "continuous" and len(np.unique(y)) < 2:
        raise AcquireError("data: the target has a single class; nothing to predict")
    units = _mask_units(spec)
    params = dict(predictor_params or {})
    signs = [f.monotone_sign for f in spec.features]
    monotone = "(" + ",".join(map(str, signs)) + ")" if any(signs) else None
    discrete = [f.is_discrete for f in spec.features]
    metrics: dict = {"holdout": holdout, "seed": seed, "n_rows": int(len(frame))}
    if predictor == "auto":
        from acquire.selection import select_predictor

        selection = select_predictor(X, y, kind=kind, n_classes=n_classes, units=units, discrete=discrete, seed=seed,
                                     monotone=monotone, fixed=params, progress=progress, spec=spec)
        metrics["selection"] = selection.to_dict()
        predictor, params = selection.chosen.predictor, dict(selection.chosen.params)
        if not selection.beats_prevalence:
            means = selection.mean_scores()
            message = (f"no candidate predictor beats predicting the prevalence: cross-validated {selection.score} "
                       f"{means[selection.chosen.label]:.4g} ({selection.chosen.label}) vs {means['prevalence (baseline)']:.4g}; "
                       f"the values of information rest on a model that has learnt nothing useful")
            if strict:
                raise AcquireError(message + " (refused: --strict)")
            warnings.warn(message, AcquireWarning, stacklevel=2)
    if progress is not None:
        progress(f"fitting {predictor} and the conditional model on {len(frame)} rows (seed {seed})...")
    params.setdefault("seed", seed)
    if monotone is not None:
        if predictor != "xgboost":
            raise AcquireError(f"features[].monotone is a constraint of the xgboost predictor; the {predictor} "
                               f"predictor cannot apply it: remove monotone from the spec or use --predictor xgboost")
        params.setdefault("monotone", monotone)
    make = PREDICTORS[predictor]
    if holdout > 0:
        from acquire.splits import holdout_split

        train, test = holdout_split(len(frame), holdout, seed, y=y, stratify=kind != "continuous", option="--holdout",
                                    classes=spec.classes)
        unseen = [j for j in range(X.shape[1]) if np.isnan(X[train, j]).all()]
        if unseen:  # a column with a value or two, all of them held out: the report's model cannot learn it
            names = ", ".join(repr(spec.feature_names[j]) for j in unseen)
            warnings.warn(f"no held-out report: {names} has no value in the training part of the --holdout split "
                          f"({int((~np.isnan(X[:, unseen])).sum())} value(s) in the whole file); the model itself is "
                          f"fitted on every row; add rows or use --holdout 0", AcquireWarning, stacklevel=2)
            metrics["holdout"] = 0.0
        else:
            held = make(**params).fit(X[train], y[train], kind=kind, n_classes=n_classes, mask_units=units,
                                      discrete=discrete)
            baselines = baseline_models(X[train], y[train], kind, n_classes)
            metrics["by_missingness"] = missingness_report(held, X[test], y[test], units, seed=seed,
                                                           baselines=baselines)
            metrics["baselines"] = {"prevalence": "the training split's class shares (mean and variance for a "
                                                  "continuous target) for every case",
                                    "logistic": "scikit-learn LogisticRegression on standardized, mean-imputed "
                                                "features with missing-value indicators, fitted on the same rows",
                                    "linear": "scikit-learn LinearRegression on the same inputs (a continuous "
                                              "target), predicting a Gaussian with the residual variance"}
            for message in baseline_warnings(metrics["by_missingness"]):
                warnings.warn(message, AcquireWarning, stacklevel=2)
            if strict:
                _refuse_below_prevalence(metrics["by_missingness"], predictor)
    fitted = make(**params).fit(X, y, kind=kind, n_classes=n_classes, mask_units=units, discrete=discrete)
    conditional = conditional_for(fitted, X, y, discrete)  # its own when it has one: values stay coherent
    return Model(spec, fitted, conditional, metrics, training_rows=np.unique(row_fingerprints(X, y)))


def _refuse_below_prevalence(report: list[dict], predictor: str) -> None:
    """``strict``: an :class:`AcquireError` when the held-out score, averaged over the missingness
    levels, is no better than the prevalence baseline's on the same rows."""
    metric = "log_loss" if "log_loss" in report[0] else "nll"
    mine = float(np.mean([r[metric] for r in report]))
    base = float(np.mean([r[f"prevalence_{metric}"] for r in report]))
    if mine >= base:
        raise AcquireError(f"the {predictor} model's held-out {metric} {mine:.4g} (mean over missingness levels) is no "
                           f"better than predicting the prevalence ({base:.4g}); refused (--strict)")


def _check_predictor_entry(directory: Path, meta: Any, spec: Spec) -> Any:
    """The predictor class the manifest names, once its entry agrees with the spec: a known name, the
    spec's target kind and class count, the spec's feature count, a list of files and plain params."""
    import inspect

    def bad(what: str) -> ModelError:
        return ModelError(f"{directory}/{MANIFEST}: the predictor entry's {what}; the folder is damaged or edited")

    if not isinstance(meta, dict):
        raise bad("is not an object")
    name = meta.get("name")
    if not isinstance(name, str) or name not in PREDICTORS:
        raise ModelError(f"{directory}: unknown predictor {str(name)[:40]!r}; this acquire knows {', '.join(PREDICTORS)}")
    if meta.get("kind") != spec.target_kind:
        raise bad(f"kind {str(meta.get('kind'))[:40]!r} is not the spec's target kind {spec.target_kind!r}")
    n_classes, n_features = meta.get("n_classes"), meta.get("n_features")
    expected = len(spec.classes) if spec.classes is not None else None
    if (not isinstance(n_classes, int) or isinstance(n_classes, bool) or n_classes < 0
            or (expected is not None and spec.target_kind != "continuous" and n_classes != expected)):
        raise bad(f"n_classes {str(n_classes)[:40]} disagrees with the spec's classes")
    if not isinstance(n_features, int) or isinstance(n_features, bool) or n_features != len(spec.features):
        raise bad(f"n_features {str(n_features)[:40]} is not the spec's {len(spec.features)} features")
    if not isinstance(meta.get("files", []), list) or not all(isinstance(f, str) for f in meta.get("files", [])):
        raise bad("files is not a list of file names")
    params = meta.get("params", {})
    accepted = set(inspect.signature(PREDICTORS[name].__init__).parameters) - {"self"}
    if (not isinstance(params, dict) or not set(params) <= accepted
            or not all(v is None or isinstance(v, (int, float, str)) for v in params.values())
            or any(isinstance(v, float) and not math.isfinite(v) for v in params.values())):
        raise bad("params are not the predictor's own finite settings")
    return PREDICTORS[name]


def load_model(directory: PathLike) -> Model:
    """Load a model directory, checking its format and every file's SHA-256 first.

    Raises
    ------
    ModelError
        One line naming the folder and the problem (missing, tampered, truncated, wrong kind).
    """
    directory = Path(directory)
    try:
        found = directory.is_dir()
    except (OSError, ValueError) as exc:  # e.g. a NUL byte in the path
        raise ModelError(f"{str(directory)!r}: not a usable path ({exc})") from None
    if not found:
        raise ModelError(f"{directory}: no such model folder")
    try:
        manifest = json.loads((directory / MANIFEST).read_text("utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{directory}: not an acquire model (no {MANIFEST})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{directory}/{MANIFEST}: unreadable: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelError(f"{directory}/{MANIFEST}: not an acquire model manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{directory}: model format version {manifest.get('format_version')!r}; this acquire reads {FORMAT_VERSION}")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ModelError(f"{directory}/{MANIFEST}: lists no files")
    unlisted = [f for f in REQUIRED_FILES if f not in files]
    if unlisted:  # an unlisted file would be read unchecked
        raise ModelError(f"{directory}/{MANIFEST}: does not list {', '.join(unlisted)}; the folder is incomplete or edited")
    for name, digest in files.items():
        path = directory / name
        if not isinstance(name, str) or "/" in name or name.startswith(".") or not path.is_file():
            raise ModelError(f"{directory}: file {name!r} listed in the manifest is missing")
        if path.stat().st_size > MAX_MODEL_FILE:
            raise ModelError(f"{directory}: {name} is {path.stat().st_size:,} bytes, more than a model file can be "
                             f"({MAX_MODEL_FILE:,})")
        if sha256_file(path) != digest:
            raise ModelError(f"{directory}: {name} does not match its checksum in the manifest (modified or truncated)")
    try:
        spec = load_spec(json.loads((directory / "spec.json").read_text("utf-8")))
        conditional = conditional_from_dict(json.loads((directory / "conditional.json").read_text("utf-8")))
        metrics = json.loads((directory / "metrics.json").read_text("utf-8"))
        meta = manifest["predictor"]
    except (KeyError, TypeError, AttributeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{directory}: malformed model: {str(exc)[:300]}") from None
    predictor_cls = _check_predictor_entry(directory, meta, spec)
    if any(f not in files for f in meta.get("files", [])) or any(f not in files for f in predictor_cls.files_required):
        raise ModelError(f"{directory}/{MANIFEST}: the predictor's files are not all listed with checksums")
    try:
        predictor = predictor_cls.load(directory, meta)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # ModelError (a ValueError) passes through
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"{directory}/{MANIFEST}: malformed predictor entry: {type(exc).__name__}: {exc}") from None
    training_rows = None
    if TRAINING_ROWS in files:
        try:
            stored = json.loads((directory / TRAINING_ROWS).read_text("utf-8"))
            if stored.get("hash") != FINGERPRINT or any(len(h) != 16 for h in stored["rows"]):
                raise ValueError("unknown fingerprint")
            training_rows = np.array([int(h, 16) for h in stored["rows"]], dtype=np.uint64)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # incl. JSON and UTF-8 errors
            raise ModelError(f"{directory}/{TRAINING_ROWS}: malformed training-row fingerprint ({exc})") from None
    if manifest.get("feature_names") != spec.feature_names:  # e.g. spec.json edited: features reordered or renamed
        raise ModelError(f"{directory}: spec.json's features differ from those the model was fitted on (manifest)")
    if predictor.n_features_in_ != len(spec.features) or conditional.n_features_ != len(spec.features):
        raise ModelError(f"{directory}: the predictor, conditional model and spec disagree on the number of features")
    mixture_of = getattr(predictor, "component_class_", None)  # the copula classifier: its own class copulas
    if mixture_of is not None and not np.array_equal(getattr(conditional, "component_class_", np.empty(0)), mixture_of):
        raise ModelError(f"{directory}: conditional.json's components are not the copula predictor's; "
                         f"the folder is damaged or edited: refit it")
    return Model(spec, predictor, conditional, metrics, training_rows=training_rows)
