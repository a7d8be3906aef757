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

    Exact TreeSHAP values from XGBoost (``pred_contribs``) for a tree predictor; None for others.
    """
    booster = getattr(model.predictor, "booster_", None)
    if booster is None:
        return None
    import xgboost as xgb

    phi = np.abs(booster.predict(xgb.DMatrix(X, missing=np.nan), pred_contribs=True))
    phi = phi.sum(axis=1) if phi.ndim == 3 else phi  # multiclass: (n, K, p + 1)
    phi = phi[:, :-1]  # drop the bias column
    share = phi / np.maximum(phi.sum(axis=1, keepdims=True), 1e-300)
    return dict(zip(model.spec.feature_names, share.mean(axis=0).tolist()))


