"""One figure per finding, drawn from its ``data`` and ``evidence`` in the house style (:mod:`acquire.plots`).

Every figure's title names the finding, the dataset and n; intervals are bootstrap 95 %
percentile intervals over cases and the legend says so; costs carry the spec's currency.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import acquire.plots as plots

#: what every interval in these figures is
BOOTSTRAP = "bootstrap 95 % interval over cases"


@dataclass(frozen=True)
class Context:
    """What a finding does not know about itself: the data it was found on, for titles and axes."""

    dataset: str | None = None
    n: int | None = None
    currency: str | None = None


def _bars(ax: Any, labels: list[str], values: list[float], errors: Any = None, reference: float | None = None,
          xlabel: str = "", reference_label: str | None = None) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    pos = np.arange(len(labels))
    ax.barh(pos, values, xerr=errors, color=plots.PALETTE[0], alpha=0.85, capsize=3)
    ax.set_yticks(pos, labels)
    ax.invert_yaxis()
    handles: list[Any] = [Patch(color=plots.PALETTE[0], alpha=0.85)]
    names = ["estimate"]
    if errors is not None:
        handles.append(Line2D([], [], color="black", marker="|"))
        names.append(f"error bar: {BOOTSTRAP}")
    if reference is not None:
        ax.axvline(reference, color="k", lw=1, ls="--")
        handles.append(Line2D([], [], color="k", lw=1, ls="--"))
        names.append(reference_label or f"reference {reference:.3g}")
    ax.set_xlabel(xlabel)
    plots.legend_outside(ax, handles=handles, labels=names)


def _ci_errors(values: Any, cis: Any) -> np.ndarray:
    v, c = np.asarray(values, float), np.asarray(cis, float)
    return np.abs(np.stack([v - c[:, 0], c[:, 1] - v]))


def _treatment(f: Any, ax: Any, ctx: Context) -> None:
    e = f.evidence
    values = [e["naive_risk_difference"], e["stratified_risk_difference"]]
    _bars(ax, ["naive (all cases)", f"within {e['strata']} severity strata\n(Mantel–Haenszel)"], values,
          _ci_errors(values, [e["naive_ci95"], e["stratified_ci95"]]), 0.0,
          f"risk difference, treated − untreated ({f.features[0]}; probability of the outcome)", "no difference")


def _sensitive(f: Any, ax: Any, ctx: Context) -> None:
    e = f.evidence
    auroc = dict(sorted(f.data["auroc"].items(), key=lambda kv: -kv[1]))
    values = [f.data["all_features"], *auroc.values()]
    per = e.get("per_feature_auroc", {})
    cis = [e.get("all_features_ci95", [np.nan, np.nan]), *(per.get(n, {}).get("ci95", [np.nan, np.nan]) for n in auroc)]
    _bars(ax, ["all features", *auroc], values, np.nan_to_num(_ci_errors(values, cis)), reference=0.5,
          xlabel=f"AUROC for telling apart {e['contrast']} (all features, or one alone)",
          reference_label="0.5: says nothing")
    ax.set_xlim(0.4, 1.0)


def _proxy(f: Any, ax: Any, ctx: Context) -> None:
    for k, (group, curve) in enumerate(f.data.items()):
        ax.plot(curve["mean_risk"], curve["mean_audit"], "o-", label=group, color=plots.PALETTE[k % len(plots.PALETTE)])
    ax.set_xlabel("mean predicted risk of the proxy target, per decile (probability)")
    ax.set_ylabel(f"mean {f.evidence['audit']} (audit outcome)")
    plots.legend_outside(ax, title="group")


def _burden(f: Any, ax: Any, ctx: Context) -> None:
    groups = f.data["by_group"]
    means = [g["mean_cost"] for g in groups.values()]
    _bars(ax, list(groups), means, _ci_errors(means, [[g["lo"], g["hi"]] for g in groups.values()]),
          f.evidence["mean_cost"], plots.cost_label("mean test cost per case under the greedy policy", ctx.currency),
          "everyone's mean")


def _slices(f: Any, ax: Any, ctx: Context) -> None:
    from matplotlib.lines import Line2D

    slices = f.data["slices"]
    metric = f.evidence["metric"]
    names = sorted(slices, key=lambda n: slices[n][metric] - slices[n]["expected_by_model"])[:15]
    values = [slices[n][metric] for n in names]
    _bars(ax, names, values, _ci_errors(values, [slices[n]["ci95"] for n in names]), f.data["overall"],
          f"{plots.metric_label(metric)} of the final predictions in the slice", "all cases")
    ax.plot([slices[n]["expected_by_model"] for n in names], np.arange(len(names)), "k.", ms=8)
    handles, labels = ax.get_legend().legend_handles, [t.get_text() for t in ax.get_legend().texts]
    plots.legend_outside(ax, handles=[*handles, Line2D([], [], color="k", marker=".", ms=8, linestyle="")],
                         labels=[*labels, "what the model expects there\n(labels drawn from its predictions)"])


def _leak(f: Any, ax: Any, ctx: Context) -> None:
    e = f.evidence
    _bars(ax, f.features, [e["single_feature_auroc"]], _ci_errors([e["single_feature_auroc"]], [e["ci95"]]),
          e["threshold"], "AUROC of the target from this feature alone", "the leak threshold")
    ax.set_xlim(0.5, 1.0)


def _disagreement(f: Any, ax: Any, ctx: Context) -> None:
    share = f.evidence["share_top_test_differs"]
    _bars(ax, ["top test differs", "same top test"], [100 * share, 100 * (1 - share)],
          xlabel="sampled cases (%)")
    ax.set_xlim(0, 100)


PLOTS: dict[str, Callable[[Any, Any, Context], None]] = {
    "treatment_confounding": _treatment, "sensitive_proxies": _sensitive, "proxy_target": _proxy,
    "testing_burden": _burden, "subgroup_performance": _slices, "leaky_features.too_predictive": _leak,
    "objective_disagreement": _disagreement,
}


def plot_finding(finding: Any, ax: Any = None, context: Context | None = None) -> Any:
    """Draw ``finding`` on ``ax`` (a new figure if None); None when the finding has nothing to plot."""
    draw = PLOTS.get(finding.id)
    if draw is None:
        return None
    ctx = context or Context()
    if ax is None:
        rows = len(finding.data.get("slices", finding.data.get("by_group", finding.data.get("auroc", {}))))
        ax = plots.new_axes(9.0, max(3.2, 0.3 * min(rows, 15) + 2.0))
    draw(finding, ax, ctx)
    title = textwrap.fill(finding.title, 90)
    n = finding.evidence.get("cases", ctx.n)  # a check that samples rows says how many it judged
    ax.set_title(plots.describe(title, dataset=ctx.dataset, n=n, unit="cases"), loc="left")
    plots.finish(ax.figure)
    return ax
