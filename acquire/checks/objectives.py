"""Check 6: objective disagreement (Goodhart) between information and decision value."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from acquire.checks.report import Finding


def objective_disagreement(model: Any, frame: pd.DataFrame, rng: np.random.Generator, n_cases: int = 100,
                           warn: float = 0.3) -> list[Finding]:
    spec = model.spec
    if spec.utility is None:
        return []
    X = spec.encode(frame)
    rows = rng.choice(len(X), min(n_cases, len(X)), replace=False)
    eig, evsi = model.ranker(objective="eig", include_groups=False), model.ranker(objective="evsi", include_groups=False)
    differ = 0
    counted = 0
    for i in rows:
        x = X[i].copy()
        x[rng.uniform(size=x.size) < 0.6] = np.nan
        a, b = eig.rank_encoded(x), evsi.rank_encoded(x)
        if a.candidates and b.candidates:
            counted += 1
            differ += a.candidates[0].feature != b.candidates[0].feature
    share = differ / counted if counted else 0.0
    return [Finding("objective_disagreement", "Information and decision value recommend different tests",
                    "warning" if share >= warn else "info",
                    {"cases": counted, "share_top_test_differs": round(share, 3)}, [],
                    "Rank by EVSI (--objective evsi) when the use case's utilities are trustworthy; by EIG when the "
                    "prediction serves many decisions.")]


