"""Check 1: post-decision (leaky) features.

- A feature declared ``available: after_decision`` is a leak by timing: **high**.
- A feature that predicts the outcome strongly on its own (single-feature AUROC above
  ``threshold``) is evidence to look at, not proof of a leak: real markers can be that strong.
  Its severity depends on what the spec says of its timing:

  - declared ``available: before_decision``: **info** (the user vouched for its timing);
  - timing not declared: **warning**, with the advice to confirm and declare it;
  - timing not declared *and* near-perfect (the AUROC's lower 95 % bound ≥ ``near_perfect``):
    **high**, because an outcome-determined value is the likelier explanation than a marker.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from acquire.checks._stats import auroc_ci
from acquire.checks.report import Finding


def leaky_features(model: Any, frame: pd.DataFrame, rng: np.random.Generator, threshold: float = 0.95,
                   near_perfect: float = 0.99) -> list[Finding]:
    spec = model.spec
    declared = {f.get("name"): f.get("available") for f in spec.to_dict().get("features", [])}
    y = spec.encode_target(frame[spec.target_name])
    out = []
    late = [f.name for f in spec.features if f.available == "after_decision"]
    if late:
        out.append(Finding("leaky_features.after_decision", "Features known only after the decision", "high",
                           {"features": late, "excluded_from_ranking": True}, late,
                           "They are never offered as tests; drop them from the predictor too, or retrain without them."))
    if spec.target_kind == "binary":
        X = spec.encode(frame)
        for j, f in enumerate(spec.features):
            if f.available == "after_decision":
                continue
            auc, lo, hi = auroc_ci(y, X[:, j], rng)
            if auc <= threshold:
                continue
            timing = declared.get(f.name)
            evidence = {"single_feature_auroc": auc, "ci95": [lo, hi], "threshold": threshold,
                        "timing_declared": timing}
            if timing == "before_decision":
                severity, why = "info", ("its timing is declared before the decision, so it is taken as a strong "
                                         "marker; nothing to do unless that declaration is wrong.")
            elif lo >= near_perfect:
                severity, why = "high", (f"near-perfect (AUROC ≥ {near_perfect} with 95 % confidence) and its timing is "
                                         "not declared: a value set by the outcome is likelier than a marker this "
                                         "good. Check when it is measured, then declare available: before_decision "
                                         "or after_decision in the spec.")
            else:
                severity, why = "warning", ("a strong single predictor is evidence to look at, not proof of a leak. "
                                            "Confirm it is measured before the decision and declare "
                                            "available: before_decision in the spec (or after_decision if not).")
            out.append(Finding("leaky_features.too_predictive", f"{f.name} alone predicts the outcome strongly",
                               severity, evidence, [f.name], why))
    return out


