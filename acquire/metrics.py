"""Metrics in one place: vectorised AUROC, the simulation's metric per target kind, and a predictor's
held-out quality at several levels of missingness."""

from __future__ import annotations

from typing import Any, Callable, Sequence

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


def higher_is_better(name: str) -> bool:
    """Whether a larger value of the metric :func:`metric_for` names is better (AUROC, accuracy: yes; RMSE: no)."""
    return name != "rmse"


def scores_for(name: str, pred: np.ndarray) -> np.ndarray:
    """What the metric scores from predictive distributions (n, K): P(positive), the class, or the mean."""
    if name == "auroc":
        return pred[:, 1]
    return pred.argmax(axis=1) if name == "accuracy" else pred[:, 0]


def baseline_models(X_train: np.ndarray, y_train: np.ndarray, kind: str, n_classes: int) -> dict[str, Any]:
    """The simplest models to beat, fitted on the same training rows as the predictor.

    ``prevalence``: the training class shares (classification) or mean and variance (continuous),
    whatever a case holds. ``logistic`` (classification): scikit-learn's logistic regression on
    standardized, mean-imputed features with missing-value indicators. ``linear`` (continuous): its
    counterpart, a least-squares linear regression on the same inputs, predicting a Gaussian with its
    mean and the residual variance ``RSS / (n − k)`` (k coefficients with the intercept; the training
    variance when ``n <= k``). Each maps X → the predictor's output shape.
    """
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    keep = ~np.isnan(X_train).all(axis=0)  # a column with no training value says nothing
    if kind == "continuous":
        mean, var = float(np.mean(y_train)), float(np.var(y_train))
        out: dict[str, Any] = {"prevalence": lambda X: np.tile([mean, var], (len(X), 1))}
        linear = make_pipeline(SimpleImputer(strategy="mean", add_indicator=True), StandardScaler(), LinearRegression())
        linear.fit(X_train[:, keep], y_train)
        k = linear[-1].coef_.size + 1
        rss = float(np.sum((y_train - linear.predict(X_train[:, keep])) ** 2))
        noise = rss / (len(y_train) - k) if len(y_train) > k else var
        out["linear"] = lambda X: np.column_stack([linear.predict(X[:, keep]), np.full(len(X), max(noise, 1e-12))])
        return out
    shares = np.bincount(y_train, minlength=n_classes) / len(y_train)
    out = {"prevalence": lambda X: np.tile(shares, (len(X), 1))}
    if len(np.unique(y_train)) >= 2:
        logistic = make_pipeline(SimpleImputer(strategy="mean", add_indicator=True), StandardScaler(),
                                 LogisticRegression(max_iter=2000))
        logistic.fit(X_train[:, keep], y_train)
        seen = logistic.classes_

        def predict(X: np.ndarray) -> np.ndarray:
            full = np.zeros((len(X), n_classes))
            full[:, seen] = logistic.predict_proba(X[:, keep])
            return full

        out["logistic"] = predict
    return out


def _scores(pred: np.ndarray, y: np.ndarray, kind: str) -> dict[str, float]:
    """Held-out scores, named as scikit-learn names them. ``brier`` is the usual binary Brier score
    (mean squared error of P(positive class)); a multiclass target gets ``brier_multiclass`` instead,
    the sum over classes (Brier's original, in [0, 2])."""
    from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, roc_auc_score

    if kind == "continuous":
        mean, var = pred[:, 0], np.maximum(pred[:, 1], 1e-12)
        return {"rmse": float(np.sqrt(np.mean((y - mean) ** 2))),
                "nll": float(np.mean(0.5 * np.log(2 * np.pi * var) + 0.5 * (y - mean) ** 2 / var))}
    labels = np.arange(pred.shape[1])
    p = np.clip(pred, 1e-15, 1.0)
    p /= p.sum(axis=1, keepdims=True)
    row = {"log_loss": float(log_loss(y, p, labels=labels))}
    if len(np.unique(y)) > 1:
        row["auroc"] = float(roc_auc_score(y, p[:, 1]) if p.shape[1] == 2 else
                             roc_auc_score(y, p, multi_class="ovr", labels=labels))
    row["accuracy"] = float(accuracy_score(y, p.argmax(axis=1)))
    if p.shape[1] == 2:
        row["brier"] = float(brier_score_loss(y, p[:, 1], pos_label=1))
    else:
        row["brier_multiclass"] = float(np.mean(np.sum((p - np.eye(p.shape[1])[y]) ** 2, axis=1)))
    return row


def missingness_report(predictor: Predictor, X: np.ndarray, y: np.ndarray, units: Sequence[Sequence[int]], *,
                       levels: Sequence[float] = (0.0, 0.25, 0.5, 0.75), seed: int = 0,
                       baselines: dict[str, Any] | None = None) -> list[dict]:
    """Held-out metrics with each test unit hidden at random with probability ``level``.

    Classification: log loss, AUROC (one-vs-rest, macro, for multiclass), accuracy, Brier score
    (see :func:`_scores`). Continuous: RMSE and the mean Gaussian negative log-likelihood.
    ``baselines`` (name → X ↦ prediction, e.g. :func:`baseline_models`) are scored on the same
    rows with the same tests hidden, as ``{name}_{metric}``.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for level in levels:
        Xm = X.copy()
        hide = rng.uniform(size=(len(X), len(units))) < level
        for u, members in enumerate(units):
            Xm[np.ix_(hide[:, u], np.asarray(members, dtype=np.int64))] = np.nan
        row: dict[str, Any] = {"missing_fraction": float(level), "n": int(len(X))}
        row |= _scores(predictor.predict_distribution(Xm), y, predictor.kind_)
        for name, predict in (baselines or {}).items():
            row |= {f"{name}_{k}": v for k, v in _scores(predict(Xm), y, predictor.kind_).items()}
        rows.append(row)
    return rows


def baseline_warnings(report: list[dict]) -> list[str]:
    """What the held-out report says against the model: for each baseline, the missingness levels
    at which it has the lower log loss (RMSE for a continuous target) on the same rows."""
    if not report:
        return []
    metric = "log_loss" if "log_loss" in report[0] else "rmse"
    what = {"prevalence": "predicting the training prevalence for every case" if metric == "log_loss"
            else "predicting the training mean for every case",
            "logistic": "a logistic regression (mean-imputed, with missing-value indicators)",
            "linear": "a linear regression (mean-imputed, with missing-value indicators)"}
    said = []
    for name in ("prevalence", "logistic", "linear"):
        lost = [r for r in report if r.get(f"{name}_{metric}") is not None and r[metric] > r[f"{name}_{metric}"]]
        if lost:
            where = ", ".join(f"{r['missing_fraction']:.0%} hidden: {r[metric]:.4g} vs {r[f'{name}_{metric}']:.4g}"
                              for r in lost)
            said.append(f"the model's held-out {metric} is worse than {what[name]} on the same {report[0]['n']} rows "
                        f"({where}); its values of information rest on a model weaker than that baseline there")
    return said


def case_bootstrap(statistic: Callable[..., Any], n: int, seed: int | np.random.Generator, *, n_boot: int = 200,
                   vectorized: bool = False, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``scipy.stats.bootstrap`` over cases: ``statistic`` of resampled row positions ``0..n-1``.

    Returns (lower, upper, bootstrap distribution) for the percentile interval at ``level``; the
    distribution's last axis is the resample. ``vectorized``: ``statistic(positions, axis=-1)`` takes
    a (resamples, n) array and returns (..., resamples). The same ``seed`` with the same ``n`` draws
    the same resamples, so intervals computed for several policies are paired.

    A resample on which the statistic is undefined (an AUROC of a resample holding one class) is
    NaN: scipy's interval is then NaN too, so the interval is taken over the defined resamples.
    """
    import warnings

    from scipy.stats import bootstrap

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's DegenerateDataWarning and NaN means
        res = bootstrap((np.arange(n),), statistic, n_resamples=n_boot, vectorized=vectorized, method="percentile",
                        confidence_level=level, rng=rng, batch=50)
    dist = np.asarray(res.bootstrap_distribution, dtype=float)
    lo, hi = np.asarray(res.confidence_interval.low, float), np.asarray(res.confidence_interval.high, float)
    if np.isnan(lo).any() or np.isnan(hi).any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices stay NaN
            lo, hi = np.nanpercentile(dist, [50 * (1 - level), 50 * (1 + level)], axis=-1)
    return lo, hi, dist
