"""Outer-alignment checks: does what the ranking optimizes match what the use case values?

:func:`check` runs each check on a spec, its data and a fitted model, and returns findings with a
severity (info, warning, high), numeric evidence (with bootstrap 95 % intervals where sampled),
the features concerned and what to do. One module per check:

- :mod:`.leakage` — features known only after the decision, or so predictive of the outcome
  (single-feature AUROC > 0.95) that they are probably consequences of it;
- :mod:`.treatment` — treatment features used to predict the outcome of a treatment choice: the
  naive risk difference against the Mantel–Haenszel difference within strata of pre-treatment
  severity (the kidney-failure trap: the sickest get the treatment that helps);
- :mod:`.proxy_target` — a target that stands in for what the use case values (Obermeyer et al.
  2019): calibration against the audit outcome by group, and who is flagged on each;
- :mod:`.sensitive` — how well each feature, and all together, predict a sensitive attribute,
  and how much of the prediction's Shapley mass rides on the strong proxies;
- :mod:`.burden` — under the greedy policy: test cost and count per group, and performance per
  group and per automatically found weak slice;
- :mod:`.objectives` — how often the test recommended for information (EIG) differs from the
  one recommended for the use case's decision (EVSI).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from acquire.checks import burden as burden_module
from acquire.checks import objectives as objectives_module
from acquire.checks import proxy_target as proxy_target_module
from acquire.checks.burden import testing_burden
from acquire.checks.leakage import leaky_features
from acquire.checks.objectives import objective_disagreement
from acquire.checks.proxy_target import proxy_target
from acquire.checks.report import SEVERITIES, CheckReport, Finding
from acquire.checks.sensitive import sensitive_proxies
from acquire.checks.treatment import treatment_confounding
from acquire.exceptions import AcquireError, AcquireWarning, DataError

__all__ = ["CHECKS", "CheckReport", "Finding", "check", "check_held_out", "split_for_check"]

#: name → check(model, frame, rng) → findings
CHECKS: dict[str, Callable[..., list[Finding]]] = {"leaky_features": leaky_features, "treatment_confounding": treatment_confounding,
          "proxy_target": proxy_target, "sensitive_proxies": sensitive_proxies,
          "testing_burden": testing_burden, "objective_disagreement": objective_disagreement}
USE_CASES = ("risk_prediction", "benchmarking", "treatment")
ON_PREDICTIONS = ("proxy_target", "testing_burden", "objective_disagreement")  # judge the model, not the data
#: the prediction checks in two parts: collect (per-row results of one model) and judge (the findings)
PREDICTION_PARTS = {"proxy_target": proxy_target_module, "testing_burden": burden_module,
                    "objective_disagreement": objectives_module}
FOLDS = 5


def check(model: Any, frame: pd.DataFrame, *, use_case: str | None = None, seed: int = 0,
          checks: list[str] | None = None, eval_frame: pd.DataFrame | None = None, folds: int = FOLDS,
          progress: Callable[[str], None] | None = None) -> CheckReport:
    """Run the alignment checks (all by default) on ``frame`` (cases with the target) with the fitted ``model``.

    The data checks use all of ``frame``. The checks that judge the model's predictions
    (:data:`ON_PREDICTIONS`) never judge it on rows it was fitted on:

    - with ``eval_frame`` (cases the model was not fitted on, as :func:`check_held_out` passes),
      they judge the model on those;
    - else, when the model's training-row fingerprint (stored at fit) finds rows of ``frame`` among
      its training rows, they are cross-fitted: ``folds`` models of the same kind, each refitted
      without the fold of rows it judges;
    - else (no overlap, or an old model without a fingerprint, which the report says) the model as given.

    The report's ``protocol`` says which, in words. ``use_case`` overrides the spec's use case for
    this check only: ``model`` and its spec are not modified.

    Examples
    --------
    >>> import acquire
    >>> from acquire import datasets
    >>> frame, spec = datasets.load("kidney_treatment")
    >>> report = check_held_out(frame.sample(1500, random_state=0), spec, seed=0,
    ...                         checks=["leaky_features", "treatment_confounding"])
    >>> [(f.id, f.severity) for f in report.findings]
    [('leaky_features.after_decision', 'high'), ('treatment_confounding', 'high')]
    """
    names = list(CHECKS) if checks is None else checks
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise AcquireError(f"unknown check(s) {unknown}; available: {', '.join(CHECKS)}")
    if use_case is not None:
        if use_case not in USE_CASES:
            raise AcquireError(f"use case must be one of {', '.join(USE_CASES)}, got {use_case!r}")
        from acquire.model import Model

        model = Model(model.spec.with_use_case(use_case), model.predictor, model.conditional, model.metrics,
                      training_rows=getattr(model, "training_rows", None))
    for data in (frame, eval_frame if eval_frame is not None else frame):
        if model.spec.target_name not in data.columns:
            raise AcquireError(f"the data has no target column {model.spec.target_name!r}; the checks need outcomes")
        if len(data) == 0:
            raise DataError("data: no rows (the file holds a header only); the checks need cases with outcomes")
    say = progress or (lambda message: None)
    fold_models, fold_of, protocol = None, None, ""
    if eval_frame is not None:
        protocol = (f"The model was fitted on other rows; its predictions are judged on {len(eval_frame)} held-out "
                    f"rows, the data on all {len(frame)}.")
    elif any(n in ON_PREDICTIONS for n in names):
        fold_models, fold_of, protocol = _cross_fit(model, frame, folds, seed, say)
    eval_frame = frame if eval_frame is None else eval_frame
    rng = np.random.default_rng(seed)
    findings = []
    for n in names:
        say(f"check {n}...")
        if n in ON_PREDICTIONS and fold_models is not None and fold_of is not None:
            findings += _cross_fitted(PREDICTION_PARTS[n], model.spec, frame, fold_models, fold_of, rng)
        else:
            findings += CHECKS[n](model, eval_frame if n in ON_PREDICTIONS else frame, rng)
    findings.sort(key=lambda f: -SEVERITIES.index(f.severity))
    return CheckReport(findings, model.spec.use_case.get("kind", "risk_prediction"), protocol,
                       dataset=model.spec.name, n_rows=len(frame), currency=model.spec.currency)


def _cross_fit(model: Any, frame: pd.DataFrame, folds: int, seed: int, say: Callable[[str], None]):
    """(fold models or None, fold of each row or None, the protocol in words) for judging ``model``'s
    predictions on ``frame``: refit per fold when ``frame`` holds rows the model was fitted on."""
    import inspect
    import warnings

    from acquire.model import fit_model
    from acquire.splits import fold_splits

    trained = model.trained_on(frame) if hasattr(model, "trained_on") else None
    if trained is None:
        warnings.warn("the model holds no training-row fingerprint (fitted by an older acquire): if these rows "
                      "trained it, the prediction checks are optimistic; refit it to let check cross-fit",
                      AcquireWarning, stacklevel=3)
        return None, None, ("The model holds no training-row fingerprint, so whether these rows trained it is "
                            "unknown; its predictions are judged as given (optimistic if they did).")
    if not trained.any():
        return None, None, f"None of the {len(frame)} rows trained the model; its predictions are judged as given."
    spec = model.spec
    y = spec.encode_target(frame[spec.target_name])
    classify = spec.target_kind != "continuous" and np.bincount(y).min() >= folds
    splits = fold_splits(len(frame), folds, seed, y=y, stratify=classify, classes=spec.classes)
    fold_of = np.empty(len(frame), dtype=np.int64)
    predictor = model.predictor
    params = {k: getattr(predictor, k) for k in inspect.signature(type(predictor).__init__).parameters
              if k not in ("self", "seed", "progressbar") and hasattr(predictor, k)}
    models = []
    for k, (train, test) in enumerate(splits):
        fold_of[test] = k
        say(f"cross-fitting: model {k + 1} of {folds} without the rows it judges...")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AcquireWarning)
            models.append(fit_model(frame.iloc[train], spec, predictor=predictor.name, seed=seed + k, holdout=0,
                                    predictor_params=params))
    protocol = (f"{int(trained.sum())} of the {len(frame)} rows trained the model, so its predictions are "
                f"cross-fitted: {folds} models of the same kind, each refitted without the fold of rows it judges "
                f"(the data checks use all rows).")
    return models, fold_of, protocol


def _cross_fitted(part: Any, spec: Any, frame: pd.DataFrame, models: list, fold_of: np.ndarray,
                  rng: np.random.Generator) -> list[Finding]:
    """One prediction check with every sampled row judged by the model that did not see it."""
    from acquire.checks._stats import sample_positions

    positions = sample_positions(len(frame), part.SAMPLE, rng)
    rows = frame.iloc[positions]
    got: dict[str, np.ndarray] = {}
    for k, fold_model in enumerate(models):
        mine = np.flatnonzero(fold_of[positions] == k)
        if not mine.size:
            continue
        for key, values in part.collect(fold_model, rows.iloc[mine], rng).items():
            if key not in got:
                got[key] = np.empty((len(rows),) + values.shape[1:], dtype=values.dtype)
            got[key][mine] = values
    return part.judge(spec, rows, got, rng)


def check_held_out(frame: pd.DataFrame, spec: Any, *, seed: int = 0, held_out: float = 0.3, use_case: str | None = None,
                   checks: list[str] | None = None, progress: Callable[[str], None] | None = None) -> CheckReport:
    """The checker's protocol for a dataset with outcomes: fit on a seeded, stratified ``1 − held_out``
    of the rows, judge the model's predictions on the rest, and the data on every row."""
    from acquire.model import fit_model

    spec = spec.with_classes_from(frame[spec.target_name])
    train, evaluate = split_for_check(frame, spec, seed, held_out)
    model = fit_model(train, spec, seed=seed, holdout=0, progress=progress)
    return check(model, frame, use_case=use_case, seed=seed, checks=checks, eval_frame=evaluate, progress=progress)


def split_for_check(frame: pd.DataFrame, spec: Any, seed: int = 0, held_out: float = 0.3):
    """(rows to fit on, rows to judge the predictions on): stratified by the target for a classifier."""
    from acquire.splits import holdout_split

    y = frame[spec.target_name]
    stratify = spec.target_kind != "continuous" and len(y) > 0 and y.value_counts().min() >= 2
    codes = pd.factorize(y, sort=True)[0] if stratify else None
    train, test = holdout_split(len(frame), held_out, seed, y=codes, stratify=stratify, option="the held-out share")
    return frame.iloc[train], frame.iloc[test]
