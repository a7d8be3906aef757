"""Check 3: a target that stands in for what the use case values (Obermeyer et al., 2019).

When the spec declares ``target.proxy_for`` and an ``audit`` column measuring the real thing, the
model's ranking of cases (on the proxy) is compared with the audit outcome per sensitive group:

- calibration by group: within deciles of predicted risk, the mean audit outcome of the group minus
  that of everyone else, averaged over deciles (weights ``n_g n_rest / n``), with a bootstrap CI;
  a positive gap means the group is sicker than its risk score says;
- who is flagged: the share of each group in the top ``share`` of cases by predicted risk, against
  its share in the top ``share`` by the audit outcome.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from acquire.checks._stats import bootstrap_ci, risk_score, sensitive_groups
from acquire.checks.report import Finding
from acquire.exceptions import DataError

ADVICE = ("Train on (or at least select by) an outcome closer to what the use case values, e.g. the audit "
          "measure itself, or combine it with the proxy; until then, audit selections by group.")


def _top(values: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of the top ``share`` of rows by ``values`` (ties broken at random)."""
    order = np.lexsort((rng.uniform(size=values.size), -values))
    top = np.zeros(values.size, bool)
    top[order[: int(round(share * values.size))]] = True
    return top


def _calibration_gap(risk: np.ndarray, audit: np.ndarray, member: np.ndarray, bins: int = 10):
    """A function of row indices → decile-stratified mean audit difference (group − rest)."""
    cuts = np.quantile(risk, np.linspace(0, 1, bins + 1)[1:-1])
    band = np.searchsorted(cuts, risk, side="right")

    def gap(rows: np.ndarray) -> float:
        num = den = 0.0
        b, a, m = band[rows], audit[rows], member[rows]
        for k in range(bins):
            in_g, in_r = (b == k) & m, (b == k) & ~m
            n_g, n_r = in_g.sum(), in_r.sum()
            if n_g and n_r:
                w = n_g * n_r / (n_g + n_r)
                num += w * (a[in_g].mean() - a[in_r].mean())
                den += w
        return num / den if den else np.nan

    return gap, band


#: rows judged: all of them
SAMPLE = None


def collect(model: Any, frame: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per row of ``frame``: the model's risk score with every feature measured."""
    return {"risk": risk_score(model, model.spec.encode(frame))}


def proxy_target(model: Any, frame: pd.DataFrame, rng: np.random.Generator, **thresholds: Any) -> list[Finding]:
    """The check on every row of ``frame``, judged with ``model``."""
    return judge(model.spec, frame, collect(model, frame, rng), rng, **thresholds)


def judge(spec: Any, frame: pd.DataFrame, got: dict[str, np.ndarray], rng: np.random.Generator, share: float = 0.25,
          min_effect: float = 0.1) -> list[Finding]:
    proxy_for, audit_name = spec.target.get("proxy_for"), spec.target.get("audit")
    if proxy_for is None and audit_name is None:
        return []
    if audit_name is None or audit_name not in frame.columns:
        why = "names no audit column" if audit_name is None else f"audit column {audit_name!r} is not in the data"
        return [Finding("proxy_target.unaudited", f"The target is a proxy for {proxy_for!r} and cannot be audited",
                        "warning", {"proxy_for": proxy_for, "audit": audit_name, "problem": why}, [],
                        "Collect the audit outcome on a sample of cases so the proxy can be checked.")]
    audit = pd.to_numeric(frame[audit_name], errors="coerce").to_numpy(dtype=float)
    if np.isnan(audit).all():
        raise DataError(f"audit column {audit_name!r} has no numeric values")
    X = spec.encode(frame)
    ok = ~np.isnan(audit)
    risk, audit, X = got["risk"][ok], audit[ok], X[ok]
    from scipy.stats import spearmanr

    flagged, needy = _top(risk, share, rng), _top(audit, share, rng)
    evidence: dict = {"proxy_for": proxy_for, "audit": audit_name, "rows": int(ok.sum()), "top_share": share,
                      "spearman_risk_vs_audit": round(float(spearmanr(risk, audit)[0]), 4),
                      "high_need_flagged": round(float(flagged[needy].mean()), 4)}
    data: dict[str, Any] = {}
    gaps: dict[str, dict[str, Any]] = {}
    concerned: list[str] = []
    sd = float(audit.std()) or 1.0
    for attr, labels in sensitive_groups(spec, X).items():
        for level in sorted({v for v in labels if v is not None}):
            member = labels == level
            if member.sum() < 20 or (~member).sum() < 20:
                continue
            gap_of, band = _calibration_gap(risk, audit, member)
            gap, lo, hi = bootstrap_ci(gap_of, len(risk), rng)
            key = f"{attr}={level}"
            gaps[key] = {"calibration_gap": round(gap, 4), "ci95": [round(lo, 4), round(hi, 4)],
                         "share_flagged": round(float(flagged[member].mean()), 4),
                         "share_high_need": round(float(needy[member].mean()), 4), "rows": int(member.sum())}
            if (lo > 0 or hi < 0) and abs(gap) >= min_effect * sd:
                concerned.append(attr)
            data[key] = {"mean_risk": [float(risk[(band == k) & member].mean()) for k in range(band.max() + 1)],
                         "mean_audit": [float(audit[(band == k) & member].mean()) for k in range(band.max() + 1)]}
    evidence["by_group"] = gaps
    if concerned:
        worst = max(gaps, key=lambda k: float(gaps[k]["calibration_gap"]))  # the group sicker than its score
        g = gaps[worst]
        title = (f"At the same predicted risk, {worst} has {g['calibration_gap']:+.2f} {audit_name} "
                 f"(flagged {g['share_flagged']:.0%} vs high need {g['share_high_need']:.0%})")
        return [Finding("proxy_target", title, "high", evidence, sorted(set(concerned)), ADVICE, data)]
    return [Finding("proxy_target", f"The target is a proxy for {proxy_for!r}; no group is miscalibrated against "
                    f"{audit_name!r}", "info", evidence, [], ADVICE, data)]
