"""Metrics in one place: vectorised AUROC, the simulation's metric per target kind, and a predictor's
held-out quality at several levels of missingness."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from acquire.predictors.base import Predictor

__all__ = ["auroc_rows", "metric_for", "missingness_report", "scores_for"]


def auroc_rows(y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """AUROC of every row of ``scores`` (…, n) against labels ``y`` (…, n) or (n,): the Mann–Whitney
    statistic with average ranks for ties, ``(Σ ranks of positives − n₁(n₁+1)/2) / (n₁ n₀)``."""
    from scipy.stats import rankdata

    y = np.broadcast_to(y, scores.shape).astype(bool)
    ranks = rankdata(scores, axis=-1)
    n1 = y.sum(axis=-1)
    n0 = y.shape[-1] - n1
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((ranks * y).sum(axis=-1) - n1 * (n1 + 1) / 2) / (n1 * n0)


def metric_for(kind: str, n_classes: int) -> tuple[str, Callable]:
    """The metric's name and a function of (labels, scores (…, n)) → values (…), vectorized."""
    if kind == "continuous":
        return "rmse", lambda y, p: np.sqrt(np.mean((np.broadcast_to(y, p.shape) - p) ** 2, axis=-1))
    if n_classes == 2:
        return "auroc", auroc_rows
    return "accuracy", lambda y, p: np.mean(np.broadcast_to(y, p.shape) == p, axis=-1)


def scores_for(name: str, pred: np.ndarray) -> np.ndarray:
    """What the metric scores from predictive distributions (n, K): P(positive), the class, or the mean."""
    if name == "auroc":
        return pred[:, 1]
    return pred.argmax(axis=1) if name == "accuracy" else pred[:, 0]


def missingness_report(predictor: Predictor, X: np.ndarray, y: np.ndarray, units: Sequence[Sequence[int]], *,
                       levels: Sequence[float] = (0.0, 0.25, 0.5, 0.75), seed: int = 0) -> list[dict]:
    """Held-out metrics with each test unit hidden at random with probability ``level``.

    Classification: log loss, AUROC (one-vs-rest, macro, for multiclass), accuracy, Brier score.
    Continuous: RMSE and the mean Gaussian negative log-likelihood.
    """
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    rng = np.random.default_rng(seed)
    rows = []
    for level in levels:
        Xm = X.copy()
        hide = rng.uniform(size=(len(X), len(units))) < level
        for u, members in enumerate(units):
            Xm[np.ix_(hide[:, u], np.asarray(members, dtype=np.int64))] = np.nan
        pred = predictor.predict_distribution(Xm)
        row = {"missing_fraction": float(level), "n": int(len(X))}
        if predictor.kind_ == "continuous":
            mean, var = pred[:, 0], np.maximum(pred[:, 1], 1e-12)
            row["rmse"] = float(np.sqrt(np.mean((y - mean) ** 2)))
            row["nll"] = float(np.mean(0.5 * np.log(2 * np.pi * var) + 0.5 * (y - mean) ** 2 / var))
        else:
            labels = np.arange(pred.shape[1])
            p = np.clip(pred, 1e-15, 1.0)
            p /= p.sum(axis=1, keepdims=True)
            row["log_loss"] = float(log_loss(y, p, labels=labels))
            if len(np.unique(y)) > 1:
                row["auroc"] = float(roc_auc_score(y, p[:, 1]) if p.shape[1] == 2 else
                                     roc_auc_score(y, p, multi_class="ovr", labels=labels))
            row["accuracy"] = float(accuracy_score(y, p.argmax(axis=1)))
            onehot = np.eye(p.shape[1])[y]
            row["brier"] = float(np.mean(np.sum((p - onehot) ** 2, axis=1)))
        rows.append(row)
    return rows
