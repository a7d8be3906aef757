"""Check 2: treatment features used to choose that treatment (naive vs stratified association)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from acquire.checks._stats import logistic_model
from acquire.checks.report import Finding
from acquire.metrics import case_bootstrap


def treatment_confounding(model: Any, frame: pd.DataFrame, rng: np.random.Generator, strata: int = 5) -> list[Finding]:

    spec = model.spec
    treatments = [f for f in spec.features if f.role == "treatment" and f.available == "before_decision"]
    if not treatments or spec.target_kind != "binary":
        return []
    y = spec.encode_target(frame[spec.target_name]).astype(float)
    X = spec.encode(frame)
    covariates = [j for j, f in enumerate(spec.features)
                  if f.role not in ("treatment", "outcome_related") and f.available == "before_decision" and not f.sensitive]
    out = []
    for f in treatments:
        t = X[:, spec.feature_names.index(f.name)]
        ok = ~np.isnan(t)
        Z = X[np.ix_(ok, covariates)]
        Z = np.where(np.isnan(Z), np.nanmean(Z, axis=0), Z)  # mean-impute missing values
        severity = logistic_model().fit(Z, y[ok]).decision_function(Z)  # risk without treatment info
        tt, yy = t[ok] > 0, y[ok]

        def estimates(idx):
            naive = yy[idx][tt[idx]].mean() - yy[idx][~tt[idx]].mean()
            cuts = np.quantile(severity[idx], np.linspace(0, 1, strata + 1)[1:-1])
            band = np.searchsorted(cuts, severity[idx])
            num = den = 0.0
            for b in range(strata):  # Mantel–Haenszel risk difference
                m = band == b
                n1, n0 = (tt[idx] & m).sum(), (~tt[idx] & m).sum()
                if n1 and n0:
                    w = n1 * n0 / (n1 + n0)
                    num += w * (yy[idx][tt[idx] & m].mean() - yy[idx][~tt[idx] & m].mean())
                    den += w
            return naive, num / den if den else np.nan

        naive, adjusted = estimates(np.arange(len(yy)))
        lo, hi, _ = case_bootstrap(estimates, len(yy), rng)  # scipy.stats.bootstrap, percentile 95 %
        flips = np.sign(naive) != np.sign(adjusted) and (lo[1] > 0 or hi[1] < 0)
        severity_level = "high" if spec.use_case.get("kind") == "treatment" else "warning"
        out.append(Finding(
            "treatment_confounding", f"{f.name} is a treatment used as a predictor" +
            (" and its association reverses within severity strata" if flips else ""),
            severity_level,
            {"naive_risk_difference": round(float(naive), 4), "naive_ci95": [round(float(lo[0]), 4), round(float(hi[0]), 4)],
             "stratified_risk_difference": round(float(adjusted), 4),
             "stratified_ci95": [round(float(lo[1]), 4), round(float(hi[1]), 4)], "strata": strata,
             "sign_reverses": bool(flips)},
            [f.name],
            "Do not let a treatment (or its consequences) drive the choice of that treatment: remove it from the "
            "predictor, or model the decision causally (strata of pre-treatment severity, or an explicit treatment-effect model)."))
    return out


