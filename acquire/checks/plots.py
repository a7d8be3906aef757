"""One matplotlib figure per finding, drawn from its ``data`` and ``evidence``."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def _bars(ax, labels, values, errors=None, reference=None, xlabel=""):
    pos = np.arange(len(labels))
    ax.barh(pos, values, xerr=errors, color="#4c72b0", alpha=0.85, capsize=3)
    ax.set_yticks(pos, labels)
    ax.invert_yaxis()
    if reference is not None:
        ax.axvline(reference, color="k", lw=1, ls="--")
    ax.set_xlabel(xlabel)


def _ci_errors(values, cis):
    v, c = np.asarray(values, float), np.asarray(cis, float)
    return np.abs(np.stack([v - c[:, 0], c[:, 1] - v]))


def _treatment(f, ax):
    e = f.evidence
    values = [e["naive_risk_difference"], e["stratified_risk_difference"]]
    _bars(ax, ["naive", f"within {e['strata']} severity strata"], values,
          _ci_errors(values, [e["naive_ci95"], e["stratified_ci95"]]), 0.0, "risk difference, treated − untreated")


def _sensitive(f, ax):
    auroc = dict(sorted(f.data["auroc"].items(), key=lambda kv: -kv[1]))
    _bars(ax, ["all features", *auroc], [f.data["all_features"], *auroc.values()], reference=0.5,
          xlabel=f"AUROC for {f.evidence['contrast']}")
    ax.set_xlim(0.4, 1.0)


def _proxy(f, ax):
    for group, curve in f.data.items():
        ax.plot(curve["mean_risk"], curve["mean_audit"], "o-", label=group)
    ax.set_xlabel("mean predicted risk (decile of the proxy target)")
    ax.set_ylabel(f"mean {f.evidence['audit']}")
    ax.legend()


def _burden(f, ax):
    groups = f.data["by_group"]
    means = [g["mean_cost"] for g in groups.values()]
    _bars(ax, list(groups), means, _ci_errors(means, [[g["lo"], g["hi"]] for g in groups.values()]),
          f.evidence["mean_cost"], "mean test cost per case under the greedy policy")


def _slices(f, ax):
    slices = f.data["slices"]
    names = sorted(slices, key=lambda n: slices[n][f.evidence["metric"]] - slices[n]["expected_by_model"])[:15]
    metric = f.evidence["metric"]
    values = [slices[n][metric] for n in names]
    _bars(ax, names, values, _ci_errors(values, [slices[n]["ci95"] for n in names]), f.data["overall"],
          f"{metric} after acquisition (dots: what the model expects)")
    ax.plot([slices[n]["expected_by_model"] for n in names], np.arange(len(names)), "k.", ms=8)


def _leak(f, ax):
    e = f.evidence
    _bars(ax, f.features, [e["single_feature_auroc"]], _ci_errors([e["single_feature_auroc"]], [e["ci95"]]),
          e["threshold"], "single-feature AUROC")
    ax.set_xlim(0.5, 1.0)


def _disagreement(f, ax):
    share = f.evidence["share_top_test_differs"]
    _bars(ax, ["top test differs", "same top test"], [share, 1 - share], xlabel="share of sampled cases")


PLOTS: dict[str, Callable[[Any, Any], None]] = {
    "treatment_confounding": _treatment, "sensitive_proxies": _sensitive, "proxy_target": _proxy,
    "testing_burden": _burden, "subgroup_performance": _slices, "leaky_features.too_predictive": _leak,
    "objective_disagreement": _disagreement,
}


def plot_finding(finding: Any, ax=None):
    """Draw ``finding`` on ``ax`` (a new figure if None); None when the finding has nothing to plot."""
    draw = PLOTS.get(finding.id)
    if draw is None:
        return None
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 3.5))
    draw(finding, ax)
    ax.set_title(finding.title if len(finding.title) < 80 else finding.title[:77] + "...", fontsize=9)
    ax.figure.tight_layout()
    return ax
