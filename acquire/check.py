"""Outer-alignment checks: does what the ranking optimizes match what the use case values?

:func:`check` runs each check on a spec, its data and a fitted model, and returns findings with a
severity (info, warning, high), numeric evidence (with bootstrap 95 % intervals where sampled),
the features concerned and what to do. Checks implemented here:

- ``leaky_features`` — features known only after the decision, or so predictive of the outcome
  (single-feature AUROC > 0.95) that they are probably consequences of it;
- ``treatment_confounding`` — treatment features used to predict the outcome of a treatment
  choice: the naive risk difference against the Mantel–Haenszel difference within strata of
  pre-treatment severity (the kidney-failure trap: the sickest get the treatment that helps);
- ``sensitive_proxies`` — how well each feature, and all together, predict a sensitive attribute;
- ``objective_disagreement`` — how often the test recommended for information (EIG) differs from
  the one recommended for the use case's decision (EVSI).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from acquire.exceptions import AcquireError

__all__ = ["Finding", "CheckReport", "check", "CHECKS"]

SEVERITIES = ("info", "warning", "high")


@dataclass
class Finding:
    id: str
    title: str
    severity: str
    evidence: dict
    features: list = field(default_factory=list)
    advice: str = ""


@dataclass
class CheckReport:
    findings: list[Finding]
    use_case: str

    @property
    def worst(self) -> str | None:
        levels = [SEVERITIES.index(f.severity) for f in self.findings]
        return SEVERITIES[max(levels)] if levels else None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"id": f.id, "severity": f.severity, "title": f.title, "features": ",".join(f.features)}
                             for f in self.findings], columns=["id", "severity", "title", "features"])

    def to_dict(self) -> dict:
        return {"use_case": self.use_case, "worst": self.worst, "findings": [asdict(f) for f in self.findings]}

    def to_markdown(self) -> str:
        lines = [f"# Alignment check ({self.use_case})", ""]
        if not self.findings:
            lines.append("No findings.")
        for f in self.findings:
            lines += [f"## [{f.severity}] {f.title} (`{f.id}`)", "", f"Features: {', '.join(f.features) or '-'}", ""]
            lines += [f"- {k}: {v}" for k, v in f.evidence.items()]
            lines += ["", f"What to do: {f.advice}", ""]
        return "\n".join(lines)


def _auroc_ci(y: np.ndarray, score: np.ndarray, rng: np.random.Generator, n_boot: int = 200) -> tuple[float, float, float]:
    """AUROC (orientation-free: max(a, 1 − a)) with a bootstrap 95 % interval."""
    from acquire.simulate import auroc_rows

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
            auc, lo, hi = _auroc_ci(y, X[:, j], rng)
            if auc > threshold:
                out.append(Finding("leaky_features.too_predictive", f"{f.name} predicts the outcome almost perfectly",
                                   "high", {"single_feature_auroc": auc, "ci95": [lo, hi], "threshold": threshold},
                                   [f.name], "Check whether it is measured after, or because of, the outcome."))
    return out


def treatment_confounding(model: Any, frame: pd.DataFrame, rng: np.random.Generator, strata: int = 5) -> list[Finding]:
    from sklearn.linear_model import LogisticRegression

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
        severity = LogisticRegression(max_iter=1000).fit(Z, y[ok]).decision_function(Z)  # risk without treatment info
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
        boots = np.array([estimates(rng.integers(0, len(yy), len(yy))) for _ in range(200)])
        lo, hi = np.nanpercentile(boots, [2.5, 97.5], axis=0)
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


def sensitive_proxies(model: Any, frame: pd.DataFrame, rng: np.random.Generator, warn: float = 0.7,
                      high: float = 0.8) -> list[Finding]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    spec = model.spec
    X = spec.encode(frame)
    out = []
    for s in [f for f in spec.features if f.sensitive]:
        j = spec.feature_names.index(s.name)
        target = X[:, j]
        ok = ~np.isnan(target)
        if len(np.unique(target[ok])) != 2:
            continue
        labels = (target[ok] == np.nanmax(target[ok])).astype(int)
        per_feature = {}
        for k, f in enumerate(spec.features):
            if k == j:
                continue
            auc, lo, hi = _auroc_ci(labels, X[ok, k], rng)
            if auc == auc:
                per_feature[f.name] = (auc, lo, hi)
        others = [k for k in range(len(spec.features)) if k != j]
        Z = X[np.ix_(ok, others)]
        Z = np.where(np.isnan(Z), np.nanmean(Z, axis=0), Z)  # mean-impute missing values
        joint = cross_val_predict(LogisticRegression(max_iter=2000), Z, labels, cv=5, method="predict_proba")[:, 1]
        auc_all, lo_all, hi_all = _auroc_ci(labels, joint, rng)
        strong = sorted((n for n, v in per_feature.items() if v[0] >= warn), key=lambda n: -per_feature[n][0])
        level = "high" if any(per_feature[n][0] >= high for n in strong) or auc_all >= high else (
            "warning" if strong or auc_all >= warn else "info")
        out.append(Finding(
            "sensitive_proxies", f"How well the features predict the sensitive attribute {s.name!r}", level,
            {"all_features_auroc": auc_all, "all_features_ci95": [lo_all, hi_all],
             "per_feature_auroc": {n: {"auroc": v[0], "ci95": [v[1], v[2]]} for n, v in
                                   sorted(per_feature.items(), key=lambda kv: -kv[1][0])}},
            strong, "Dropping the sensitive column does not remove it: audit decisions by group, and weigh whether "
                    "the strong proxies are needed."))
    return out


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


CHECKS = {"leaky_features": leaky_features, "treatment_confounding": treatment_confounding,
          "sensitive_proxies": sensitive_proxies, "objective_disagreement": objective_disagreement}


def check(model: Any, frame: pd.DataFrame, *, use_case: str | None = None, seed: int = 0,
          checks: list[str] | None = None) -> CheckReport:
    """Run the alignment checks (all by default) on ``frame`` with the fitted ``model``."""
    names = list(CHECKS) if checks is None else checks
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise AcquireError(f"unknown check(s) {unknown}; available: {', '.join(CHECKS)}")
    if use_case is not None:
        if use_case not in ("risk_prediction", "benchmarking", "treatment"):
            raise AcquireError(f"use case must be risk_prediction, benchmarking or treatment, got {use_case!r}")
        model.spec.use_case = dict(model.spec.use_case, kind=use_case)
    rng = np.random.default_rng(seed)
    findings = [f for n in names for f in CHECKS[n](model, frame, rng)]
    findings.sort(key=lambda f: -SEVERITIES.index(f.severity))
    return CheckReport(findings, model.spec.use_case.get("kind", "risk_prediction"))
