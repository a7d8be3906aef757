"""Shared pieces of the checks: bootstrap intervals, the model's risk score, sensitive groups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def auroc_ci(y: np.ndarray, score: np.ndarray, rng: np.random.Generator, n_boot: int = 200) -> tuple[float, float, float]:
    """AUROC (orientation-free: max(a, 1 − a)) with a bootstrap 95 % interval."""
    from acquire.metrics import auroc_rows

    ok = ~np.isnan(score)
    y, score = y[ok], score[ok]
    if len(np.unique(y)) < 2:
        return float("nan"), float("nan"), float("nan")
    a = float(auroc_rows(y, score[None])[0])
    flip = a < 0.5
    idx = rng.integers(0, len(y), (n_boot, len(y)))
    boots = auroc_rows(y[idx], score[idx])
    if flip:
        a, boots = 1 - a, 1 - boots
    lo, hi = np.nanpercentile(boots, [2.5, 97.5])
    return round(a, 4), round(float(lo), 4), round(float(hi), 4)


def bootstrap_ci(statistic: Callable[[np.ndarray], float], n: int, rng: np.random.Generator,
                 n_boot: int = 200, out: list | None = None) -> tuple[float, float, float]:
    """``statistic(rows)`` on all rows, with the percentile 95 % interval over ``n_boot`` resamples
    (appended to ``out`` if given)."""
    value = float(statistic(np.arange(n)))
    boots = np.array([statistic(rng.integers(0, n, n)) for _ in range(n_boot)], dtype=float)
    if out is not None:
        out.extend(boots)
    lo, hi = np.nanpercentile(boots, [2.5, 97.5])
    return value, float(lo), float(hi)


def sample_positions(n_rows: int, n: int | None, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of a seeded sample of at most ``n`` of ``n_rows`` rows (all when ``n`` is None)."""
    if n is None:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, min(n, n_rows), replace=False))


def sample_rows(frame: Any, n: int | None, rng: np.random.Generator) -> Any:
    """A seeded sample of at most ``n`` rows of ``frame``, in their order (all rows when ``n`` is None)."""
    return frame if n is None else frame.iloc[sample_positions(len(frame), n, rng)]


def risk_of(kind: str, pred: np.ndarray) -> np.ndarray:
    """What a model ranks cases by, from predictive distributions (n, K): P(last class) for a
    classifier, the predicted mean for a continuous target."""
    return pred[:, 0] if kind == "continuous" else pred[:, -1]


def risk_score(model: Any, X: np.ndarray) -> np.ndarray:
    """:func:`risk_of` the model's predictions for the encoded rows ``X``."""
    return risk_of(model.spec.target_kind, model.predictor.predict_distribution(X))


def sensitive_groups(spec: Any, X: np.ndarray) -> dict[str, np.ndarray]:
    """For each sensitive feature, a label per row (its level's name; None where missing)."""
    out = {}
    for f in spec.features:
        if not f.sensitive:
            continue
        codes = X[:, spec.feature_names.index(f.name)]
        name = (lambda c: str(f.levels[int(c)])) if f.levels is not None else (lambda c: f"{c:g}")
        out[f.name] = np.array([None if np.isnan(c) else name(c) for c in codes], dtype=object)
    return out


def logistic_model():
    """A standardized, lightly regularized logistic regression (features on any scale converge)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
