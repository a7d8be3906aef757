"""Check 5: who bears the testing, and where the model performs badly after it.

The greedy policy (the engine's own recommendation) runs on up to ``n_cases`` cases from nothing
observed. Reported with bootstrap 95 % intervals:

- per level of each sensitive attribute: mean test cost and number of priced tests, and the
  difference from everyone else; performance (AUROC, or RMSE for a continuous target) of the final
  predictions;
- weak slices, found automatically over the demographic and discrete features (levels, or quartiles
  of a continuous demographic) with at least ``min_slice`` cases, at most half of them, and at
  least ``min_events`` cases of each class (an AUROC on three positives says little). A slice's AUROC is compared with
  the AUROC the model itself expects there (labels drawn from its own predictions): a slice of
  similar cases has a lower AUROC for a correct model too (range restriction), so comparing with
  the overall AUROC would flag every age band. A hole is a slice whose shortfall from its
  expectation exceeds the whole sample's shortfall (the model's general over-confidence) by at least
  ``min_drop``, with z above the Bonferroni bound over the slices tried (RMSE: against
  ``sqrt(mean predicted variance)``, relative).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from acquire.checks._stats import bootstrap_ci, metric_frame, risk_of, sensitive_groups
from acquire.checks.report import Finding


def _performance(kind: str):
    """(name, function of (y, score) → value, True if higher is better)."""
    from acquire.metrics import auroc_rows

    if kind == "continuous":
        return "rmse", lambda y, s: float(np.sqrt(np.mean((y - s) ** 2))), False
    return "auroc", lambda y, s: float(auroc_rows(y, s[None])[0]) if 0 < y.sum() < len(y) else np.nan, True


def _expected(kind: str, pred: np.ndarray, rng: np.random.Generator, n_sim: int = 200) -> float:
    """The metric a correct model expects on these cases: E[AUROC(y*, p)] with y* ~ Bernoulli(p), or
    sqrt(mean predicted variance) for RMSE."""
    from acquire.metrics import auroc_rows

    if kind == "continuous":
        return float(np.sqrt(pred[:, 1].mean()))
    p = pred[:, -1]
    y = rng.uniform(size=(n_sim, p.size)) < p
    return float(np.nanmean(auroc_rows(y, np.broadcast_to(p, y.shape))))


def _slices(spec: Any, X: np.ndarray, min_slice: int) -> dict[str, np.ndarray]:
    """Candidate slices (name → row mask) over demographic and discrete features."""
    out = {}
    for j, f in enumerate(spec.features):
        if f.available != "before_decision" or not (f.role == "demographic" or f.is_discrete):
            continue
        col = X[:, j]
        if f.is_discrete:
            for code in np.unique(col[~np.isnan(col)]):
                label = f.levels[int(code)] if f.levels is not None else f"{code:g}"
                out[f"{f.name}={label}"] = col == code
        else:
            cuts = np.nanquantile(col, [0.25, 0.5, 0.75])
            edges = [-np.inf, *cuts, np.inf]
            for lo, hi in zip(edges[:-1], edges[1:]):
                out[f"{f.name} in ({lo:g}, {hi:g}]"] = (col > lo) & (col <= hi)
    return {k: m for k, m in out.items() if m.sum() >= min_slice}


#: rows judged: a seeded sample of the data (the greedy run is the check's cost)
SAMPLE = 600


def collect(model: Any, frame: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per row of ``frame``: the greedy policy's test cost and number of priced tests from nothing
    observed, and its final predictive distribution (every case stepped together)."""
    from acquire.policies import make_policy
    from acquire.simulate import run_policy

    spec = model.spec
    X = spec.encode(frame)
    policy = make_policy("greedy").fit(model, X)
    log = run_policy(model, policy, X, seed=int(rng.integers(2**31)))
    per_case = log.groupby("case").agg(cost=("cost", "sum"), tests=("cost", lambda c: int((c > 0).sum())))
    final = log.groupby("case")["prediction"].last()
    return {"cost": per_case["cost"].to_numpy(), "tests": per_case["tests"].to_numpy(),
            "pred": np.stack(list(final.to_numpy()))}


def testing_burden(model: Any, frame: pd.DataFrame, rng: np.random.Generator, n_cases: int = SAMPLE,
                   **thresholds: Any) -> list[Finding]:
    """The check on a seeded sample of ``n_cases`` rows of ``frame``, judged with ``model``."""
    from acquire.checks._stats import sample_rows

    frame = sample_rows(frame, n_cases, rng)
    return judge(model.spec, frame, collect(model, frame, rng), rng, **thresholds)


def judge(spec: Any, frame: pd.DataFrame, got: dict[str, np.ndarray], rng: np.random.Generator,
          min_slice: int = 30, min_drop: float = 0.1, min_gap: float = 0.5, min_events: int = 10) -> list[Finding]:
    """Findings from :func:`collect`'s per-row results (from one model, or cross-fitted ones)."""
    X = spec.encode(frame)
    y = spec.encode_target(frame[spec.target_name]).astype(float)
    cost, tests, pred = got["cost"], got["tests"], got["pred"]
    score = risk_of(spec.target_kind, pred)
    metric, perf, higher = _performance(spec.target_kind)
    overall = perf(y, score)
    out = []

    burden: dict[str, dict[str, Any]] = {}
    data: dict[str, Any] = {}
    uneven: list[tuple[str, str]] = []
    mean_cost = float(cost.mean())
    for attr, labels in sensitive_groups(spec, X).items():
        by_group = metric_frame({"mean_cost": lambda r: cost[r].mean(), "mean_tests": lambda r: tests[r].mean(),
                                 metric: lambda r: perf(y[r], score[r])}, labels, rng, differences=("mean_cost",))
        for level, g in by_group.iterrows():
            key = f"{attr}={level}"
            diff, lo, hi = (g["mean_cost_difference_vs_rest" + s] for s in ("", "_ci_lower_95", "_ci_upper_95"))
            burden[key] = {"rows": int(g["rows"]), "mean_cost": round(g["mean_cost"], 3),
                           "mean_tests": round(g["mean_tests"], 3), "cost_difference_vs_rest": round(diff, 3),
                           "ci95": [round(lo, 3), round(hi, 3)], metric: round(g[metric], 4),
                           f"{metric}_ci95": [round(g[f"{metric}_ci_lower_95"], 4), round(g[f"{metric}_ci_upper_95"], 4)]}
            data[key] = {"mean_cost": float(g["mean_cost"]), "lo": float(g["mean_cost_ci_lower_95"]),
                         "hi": float(g["mean_cost_ci_upper_95"])}
            if (lo > 0 or hi < 0) and abs(diff) >= min_gap * max(mean_cost, 1e-12):
                uneven.append((attr, key))
    evidence = {"policy": "greedy", "cases": len(y), "mean_cost": round(mean_cost, 3),
                "mean_tests": round(float(tests.mean()), 3), metric: round(overall, 4), "by_group": burden}
    if uneven:
        attr, key = max(uneven, key=lambda ak: float(burden[ak[1]]["cost_difference_vs_rest"]))  # who pays most
        b = burden[key]
        out.append(Finding("testing_burden", f"Under the greedy policy, {key} pays {b['cost_difference_vs_rest']:+.2f} "
                           f"per case in tests vs the rest (mean {mean_cost:.2f})", "warning", evidence,
                           sorted({a for a, _ in uneven}),
                           "Find out why (less informative free data for that group, e.g. thin records?) and whether "
                           "a better-measured free feature or a group-aware budget evens it out.", {"by_group": data}))
    elif burden:
        out.append(Finding("testing_burden", "Testing cost under the greedy policy is even across groups", "info",
                           evidence, [], "Nothing to do.", {"by_group": data}))

    from scipy.stats import norm

    holes, slices = [], {}
    candidates = {k: m for k, m in _slices(spec, X, min_slice).items() if m.mean() <= 0.5
                  and (spec.target_kind == "continuous" or min(y[m].sum(), (1 - y[m]).sum()) >= min_events)}
    z_needed = float(norm.ppf(1 - 0.05 / (2 * max(len(candidates), 1))))  # Bonferroni over the slices tried
    sign = 1.0 if higher else -1.0
    overall_shortfall = sign * (_expected(spec.target_kind, pred, rng) - overall)  # the model's general over-confidence
    for name, mask in candidates.items():
        boots: list[float] = []
        m, lo, hi = bootstrap_ci(lambda r: perf(y[r][mask[r]], score[r][mask[r]]), len(y), rng, out=boots)
        expected = _expected(spec.target_kind, pred[mask], rng)
        excess = sign * (expected - m) - overall_shortfall  # shortfall beyond the model's usual one
        z = excess / max(float(np.nanstd(boots)), 1e-12)
        slices[name] = {"rows": int(mask.sum()), metric: round(m, 4), "ci95": [round(lo, 4), round(hi, 4)],
                        "expected_by_model": round(expected, 4), "excess_shortfall": round(excess, 4), "z": round(z, 2)}
        if excess >= (min_drop if higher else min_drop * expected) and z >= z_needed:
            holes.append(name)
    if holes:
        holes.sort(key=lambda n: -slices[n]["excess_shortfall"])
        worst = slices[holes[0]]
        out.append(Finding("subgroup_performance", f"Performance hole: {metric} {worst[metric]:.2f} in {holes[0]} "
                           f"where the model expects {worst['expected_by_model']:.2f} ({overall:.2f} overall)", "warning",
                           {"metric": metric, "overall": round(overall, 4), "min_slice": min_slice,
                            "slices_tried": len(candidates), "z_needed": round(z_needed, 2),
                            "overall_shortfall": round(overall_shortfall, 4),
                            "holes": {n: slices[n] for n in holes}},
                           sorted({n.split("=")[0].split(" in ")[0] for n in holes}),
                           "Look for label or measurement problems in the slice (a site's coding, a device), and "
                           "report performance per slice before deployment.", {"slices": slices, "overall": overall}))
    return out
