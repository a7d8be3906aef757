"""Check 4: features that stand in for a sensitive attribute."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from acquire.checks._stats import auroc_ci, logistic_model
from acquire.checks.report import Finding


def sensitive_proxies(model: Any, frame: pd.DataFrame, rng: np.random.Generator, warn: float = 0.7,
                      high: float = 0.8) -> list[Finding]:
    from sklearn.model_selection import cross_val_predict

    spec = model.spec
    X = spec.encode(frame)
    out = []
    for s in [f for f in spec.features if f.sensitive]:
        j = spec.feature_names.index(s.name)
        target = X[:, j]
        ok = ~np.isnan(target)
        values, counts = np.unique(target[ok], return_counts=True)
        if len(values) < 2:
            continue
        # two levels: the second against the first; more: everyone outside the largest level against it
        positive = values[1] if len(values) == 2 else values[counts.argmax()]
        labels = (target[ok] == positive).astype(int) if len(values) == 2 else (target[ok] != positive).astype(int)
        level_name = (lambda v: s.levels[int(v)] if s.levels is not None else f"{v:g}")(positive)
        contrast = f"{s.name}={level_name}" if len(values) == 2 else f"{s.name}!={level_name}"
        per_feature = {}
        for k, f in enumerate(spec.features):
            if k == j:
                continue
            auc, lo, hi = auroc_ci(labels, X[ok, k], rng)
            if auc == auc:
                per_feature[f.name] = (auc, lo, hi)
        others = [k for k in range(len(spec.features)) if k != j]
        Z = X[np.ix_(ok, others)]
        Z = np.where(np.isnan(Z), np.nanmean(Z, axis=0), Z)  # mean-impute missing values
        joint = cross_val_predict(logistic_model(), Z, labels, cv=5, method="predict_proba")[:, 1]
        auc_all, lo_all, hi_all = auroc_ci(labels, joint, rng)
        strong = sorted((n for n, v in per_feature.items() if v[0] >= warn), key=lambda n: -per_feature[n][0])
        level = "high" if any(per_feature[n][0] >= high for n in strong) or auc_all >= high else (
            "warning" if strong or auc_all >= warn else "info")
        evidence = {"contrast": contrast, "all_features_auroc": auc_all, "all_features_ci95": [lo_all, hi_all],
                    "per_feature_auroc": {n: {"auroc": v[0], "ci95": [v[1], v[2]]} for n, v in
                                          sorted(per_feature.items(), key=lambda kv: -kv[1][0])}}
        shares = shapley_shares(model, X)
        if shares is not None:
            evidence["shapley_share_of_prediction"] = {n: round(v, 4) for n, v in shares.items() if v >= 0.005}
            evidence["shapley_share_on_strong_proxies"] = round(sum(shares[n] for n in strong), 4)
            evidence["shapley_share_on_sensitive_itself"] = round(shares[s.name], 4)
        out.append(Finding(
            "sensitive_proxies", f"How well the features predict the sensitive attribute {s.name!r}", level,
            evidence, strong, "Dropping the sensitive column does not remove it: audit decisions by group, and weigh "
                              "whether the strong proxies are needed.",
            {"auroc": {n: v[0] for n, v in per_feature.items()}, "all_features": auc_all}))
    return out


def shapley_shares(model: Any, X: np.ndarray) -> dict[str, float] | None:
    """Each feature's share of the prediction's Shapley mass, mean over rows of ``|φ_j| / Σ_k |φ_k|``.

    Exact TreeSHAP values from XGBoost (``pred_contribs``) for a tree predictor; for a predictor that
    marginalizes missing features exactly (the copula classifier), the conditional Shapley values of
    the log-odds (each class's log-probability for a multiclass target) by enumerating every subset
    (up to 12 features, on up to 200 rows); None otherwise.
    """
    booster = getattr(model.predictor, "booster_", None)
    if booster is None:
        if "class_gaussian" not in getattr(model.predictor, "capabilities", ()) or X.shape[1] > 12:
            return None
        phi = np.abs(conditional_shapley(model.predictor, X[:200])).sum(axis=2)
        share = phi / np.maximum(phi.sum(axis=1, keepdims=True), 1e-300)
        return dict(zip(model.spec.feature_names, share.mean(axis=0).tolist()))
    import xgboost as xgb

    phi = np.abs(booster.predict(xgb.DMatrix(X, missing=np.nan), pred_contribs=True))
    phi = phi.sum(axis=1) if phi.ndim == 3 else phi  # multiclass: (n, K, p + 1)
    phi = phi[:, :-1]  # drop the bias column
    share = phi / np.maximum(phi.sum(axis=1, keepdims=True), 1e-300)
    return dict(zip(model.spec.feature_names, share.mean(axis=0).tolist()))




def conditional_shapley(predictor: Any, X: np.ndarray) -> np.ndarray:
    """Shapley values ``φ`` (n, p, K') per row of ``v(S) = log-odds of p(y | x_S)`` (binary, K' = 1; each
    class's ``log p(y | x_S)`` for multiclass, K' = K) by full enumeration,
    ``φ_j = Σ_{S ∌ j} |S|! (p − |S| − 1)! / p! · (v(S ∪ {j}) − v(S))``. Exact for a predictor that
    marginalizes missing features exactly; 2^p predictions per row."""
    from math import factorial

    n, p = X.shape
    subsets = ((np.arange(2 ** p)[:, None] >> np.arange(p)[None, :]) & 1).astype(bool)  # (2^p, p)
    rows = np.where(subsets[None], X[:, None, :], np.nan).reshape(-1, p)
    logp = np.log(np.clip(predictor.predict_distribution(rows), 1e-300, None)).reshape(n, 2 ** p, -1)
    v = logp[..., 1:2] - logp[..., 0:1] if logp.shape[-1] == 2 else logp
    size = subsets.sum(axis=1)
    weight = np.array([factorial(k) * factorial(p - k - 1) / factorial(p) if k < p else 0.0 for k in size])
    phi = np.zeros((n, p, v.shape[-1]))
    for j in range(p):
        without = np.flatnonzero(~subsets[:, j])
        delta = v[:, without | (1 << j)] - v[:, without]  # (n, subsets, K')
        phi[:, j] = (weight[without][None, :, None] * delta).sum(axis=1)
    return phi
