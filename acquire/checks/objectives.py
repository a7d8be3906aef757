"""Check 6: objective disagreement (Goodhart) between information and decision value."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from acquire.checks._stats import sample_rows
from acquire.checks.report import Finding


#: rows judged: a seeded sample of the data
SAMPLE = 100


def collect(model: Any, frame: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per row of ``frame`` with 60 % of its values hidden at random: whether both objectives have a
    test to recommend, and whether their first choices differ (all rows ranked in one batch each)."""
    spec = model.spec
    if spec.utility is None:  # no decision to compare with
        return {"counted": np.zeros(len(frame), bool), "differ": np.zeros(len(frame), bool)}
    X = spec.encode(frame)
    X[rng.uniform(size=X.shape) < 0.6] = np.nan
    X[:, [j for j, f in enumerate(spec.features) if f.available == "after_decision"]] = np.nan  # not known yet
    tops = []
    for objective in ("eig", "evsi"):
        batch = model.ranker(objective=objective, include_groups=False, exchange_rate=0.0).rank_batch(X)
        first = np.take_along_axis(batch.candidate, batch.decision.order, axis=1).argmax(axis=1)
        tops.append(np.where(batch.candidate.any(axis=1), batch.decision.order[np.arange(len(X)), first], -1))
    counted = (tops[0] >= 0) & (tops[1] >= 0)
    return {"counted": counted, "differ": counted & (tops[0] != tops[1])}


def objective_disagreement(model: Any, frame: pd.DataFrame, rng: np.random.Generator, n_cases: int = SAMPLE,
                           **thresholds: Any) -> list[Finding]:
    """The check on a seeded sample of ``n_cases`` rows of ``frame``, judged with ``model``."""
    if model.spec.utility is None:
        return []
    frame = sample_rows(frame, n_cases, rng)
    return judge(model.spec, frame, collect(model, frame, rng), rng, **thresholds)


def judge(spec: Any, frame: pd.DataFrame, got: dict[str, np.ndarray], rng: np.random.Generator,
          warn: float = 0.3) -> list[Finding]:
    if spec.utility is None:
        return []
    counted = int(got["counted"].sum())
    share = float(got["differ"].sum()) / counted if counted else 0.0
    return [Finding("objective_disagreement", "Information and decision value recommend different tests",
                    "warning" if share >= warn else "info",
                    {"cases": counted, "share_top_test_differs": round(share, 3)}, [],
                    "Rank by EVSI (--objective evsi) when the use case's utilities are trustworthy; by EIG when the "
                    "prediction serves many decisions.")]
