"""Shared pieces of the checks: bootstrap intervals, the model's risk score, sensitive groups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def auroc_ci(y: np.ndarray, score: np.ndarray, rng: np.random.Generator, n_boot: int = 200) -> tuple[float, float, float]:
    """AUROC (orientation-free: max(a, 1 − a)) with a bootstrap 95 % percentile interval over cases
    (``scipy.stats.bootstrap``, via :func:`acquire.metrics.case_bootstrap`)."""
    from acquire.metrics import auroc_rows, case_bootstrap

    ok = ~np.isnan(score)
    y, score = y[ok], score[ok]
    if len(np.unique(y)) < 2:
        return float("nan"), float("nan"), float("nan")
    a = float(auroc_rows(y, score[None])[0])
    lo, hi, _ = case_bootstrap(lambda rows, axis=-1: auroc_rows(y[rows], score[rows]), len(y), rng, n_boot=n_boot,
                               vectorized=True)
    if a < 0.5:  # orientation-free: the interval flips with the value
        a, lo, hi = 1 - a, 1 - hi, 1 - lo
    return round(a, 4), round(float(lo), 4), round(float(hi), 4)


def bootstrap_ci(statistic: Callable[[np.ndarray], float], n: int, rng: np.random.Generator,
                 n_boot: int = 200, out: list | None = None) -> tuple[float, float, float]:
    """``statistic(rows)`` on all rows, with the bootstrap 95 % percentile interval over cases
    (``scipy.stats.bootstrap`` of the row positions; the resampled values are appended to ``out`` if given)."""
    from acquire.metrics import case_bootstrap

    value = float(statistic(np.arange(n)))
    lo, hi, boots = case_bootstrap(statistic, n, rng, n_boot=n_boot)
    if out is not None:
        out.extend(boots.tolist())
    return value, float(lo), float(hi)


def metric_frame(metrics: dict[str, Callable[[np.ndarray], float]], labels: np.ndarray, rng: np.random.Generator, *,
                 differences: tuple[str, ...] = (), n_boot: int = 200, min_rows: int = 10) -> pd.DataFrame:
    """Metrics per group, in the manner of fairlearn's ``MetricFrame.by_group``, with intervals.

    ``metrics`` maps a name to a function of row positions (the rows it is computed on). For each
    group (a distinct non-None value of ``labels``) with at least ``min_rows`` rows inside and
    outside: each metric on the group's rows and, for the names in ``differences``, the group's
    value minus everyone else's (``<name>_difference_vs_rest``). Each comes with a bootstrap 95 %
    percentile interval (``<column>_ci_lower_95``/``_ci_upper_95``) from one ``scipy.stats.bootstrap``
    over all cases, so the group's size varies across resamples as it would across samples.
    Index: ``attribute=level``-style group labels as given; a ``rows`` column.
    """
    from acquire.metrics import case_bootstrap

    names = [*metrics, *(f"{d}_difference_vs_rest" for d in differences)]
    out = []
    for level in sorted({v for v in labels if v is not None}, key=str):
        member = np.asarray(labels == level, dtype=bool)
        if member.sum() < min_rows or (~member).sum() < min_rows:
            continue

        def statistic(rows: np.ndarray, member: np.ndarray = member) -> tuple[float, ...]:
            inside, outside = rows[member[rows]], rows[~member[rows]]
            return (*(float(fn(inside)) for fn in metrics.values()),
                    *(float(metrics[d](inside)) - float(metrics[d](outside)) for d in differences))

        point = statistic(np.arange(len(labels)))
        lo, hi, _ = case_bootstrap(statistic, len(labels), rng, n_boot=n_boot)
        row: dict[str, Any] = {"group": level, "rows": int(member.sum())}
        for k, name in enumerate(names):
            row |= {name: point[k], f"{name}_ci_lower_95": float(np.atleast_1d(lo)[k]),
                    f"{name}_ci_upper_95": float(np.atleast_1d(hi)[k])}
        out.append(row)
    columns = ["group", "rows"] + [c for n in names for c in (n, f"{n}_ci_lower_95", f"{n}_ci_upper_95")]
    return pd.DataFrame(out, columns=columns).set_index("group")


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
