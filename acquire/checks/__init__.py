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

from acquire.checks.burden import testing_burden
from acquire.checks.leakage import leaky_features
from acquire.checks.objectives import objective_disagreement
from acquire.checks.proxy_target import proxy_target
from acquire.checks.report import SEVERITIES, CheckReport, Finding
from acquire.checks.sensitive import sensitive_proxies
from acquire.checks.treatment import treatment_confounding
from acquire.exceptions import AcquireError

__all__ = ["CHECKS", "CheckReport", "Finding", "check", "check_held_out", "split_for_check"]

#: name → check(model, frame, rng) → findings
CHECKS: dict[str, Callable[..., list[Finding]]] = {"leaky_features": leaky_features, "treatment_confounding": treatment_confounding,
          "proxy_target": proxy_target, "sensitive_proxies": sensitive_proxies,
          "testing_burden": testing_burden, "objective_disagreement": objective_disagreement}
USE_CASES = ("risk_prediction", "benchmarking", "treatment")
ON_PREDICTIONS = ("proxy_target", "testing_burden", "objective_disagreement")  # judge the model, not the data


def check(model: Any, frame: pd.DataFrame, *, use_case: str | None = None, seed: int = 0,
          checks: list[str] | None = None, eval_frame: pd.DataFrame | None = None) -> CheckReport:
    """Run the alignment checks (all by default) on ``frame`` (cases with the target) with the fitted ``model``.

    The checks that judge the model's predictions use ``eval_frame`` (cases the model was not fitted
    on) when given; the data checks always use all of ``frame``. ``use_case`` overrides the spec's
    use case for this check only: ``model`` and its spec are not modified.

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

        model = Model(model.spec.with_use_case(use_case), model.predictor, model.conditional, model.metrics)
    eval_frame = frame if eval_frame is None else eval_frame
    for data in (frame, eval_frame):
        if model.spec.target_name not in data.columns:
            raise AcquireError(f"the data has no target column {model.spec.target_name!r}; the checks need outcomes")
    rng = np.random.default_rng(seed)
    findings = [f for n in names for f in CHECKS[n](model, eval_frame if n in ON_PREDICTIONS else frame, rng)]
    findings.sort(key=lambda f: -SEVERITIES.index(f.severity))
    return CheckReport(findings, model.spec.use_case.get("kind", "risk_prediction"))


def check_held_out(frame: pd.DataFrame, spec: Any, *, seed: int = 0, held_out: float = 0.3, use_case: str | None = None,
                   checks: list[str] | None = None, progress: Callable[[str], None] | None = None) -> CheckReport:
    """The checker's protocol for a dataset with outcomes: fit on a seeded, stratified ``1 − held_out``
    of the rows, judge the model's predictions on the rest, and the data on every row."""
    from acquire.model import fit_model

    spec = spec.with_classes_from(frame[spec.target_name])
    train, evaluate = split_for_check(frame, spec, seed, held_out)
    model = fit_model(train, spec, seed=seed, holdout=0, progress=progress)
    return check(model, frame, use_case=use_case, seed=seed, checks=checks, eval_frame=evaluate)


def split_for_check(frame: pd.DataFrame, spec: Any, seed: int = 0, held_out: float = 0.3):
    """(rows to fit on, rows to judge the predictions on): stratified by the target for a classifier."""
    from sklearn.model_selection import train_test_split

    y = frame[spec.target_name]
    stratify = y if spec.target_kind != "continuous" and y.value_counts().min() >= 2 else None
    return train_test_split(frame, test_size=held_out, random_state=seed, stratify=stratify)
