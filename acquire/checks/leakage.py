"""Check 1: post-decision (leaky) features."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from acquire.checks._stats import auroc_ci
from acquire.checks.report import Finding


def leaky_features(model: Any, frame: pd.DataFrame, rng: np.random.Generator, threshold: float = 0.95) -> list[Finding]:
    spec = model.spec
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
            if auc > threshold:
                out.append(Finding("leaky_features.too_predictive", f"{f.name} predicts the outcome almost perfectly",
                                   "high", {"single_feature_auroc": auc, "ci95": [lo, hi], "threshold": threshold},
                                   [f.name], "Check whether it is measured after, or because of, the outcome."))
    return out


