"""Simulate acquisition policies on held-out cases: who buys what, at what cost, for what performance.

:func:`simulate` splits a dataset (seeded, stratified), fits the model on the training part only,
then for every test case runs each policy from "nothing measured", revealing the case's true
values as tests are bought. The result holds the tidy step log and, per policy, performance
against cumulative cost with bootstrap bands, the **normalized area under that curve** (mean
performance over the cost range, the policy's score), mean cost per case, and the cost at which
the curve first reaches 99 % of the all-features performance.
"""

from __future__ import annotations

import os
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

import acquire._json as strict_json
from acquire.engine.pricing import price
from acquire.metrics import metric_for, scores_for
from acquire.exceptions import AcquireError, AcquireWarning
from acquire.policies import Policy, State, make_policy

__all__ = ["Simulation", "simulate", "run_policy", "frontier"]


def run_policy(model: Any, policy: Policy, X: np.ndarray, *, budget: float | None = None, seed: int = 0,
               case_ids: Sequence[Any] | np.ndarray | None = None, n_jobs: int = 1) -> pd.DataFrame:
    """Run ``policy`` on every encoded test row of ``X``; one log row per step (step 0 = nothing bought).

    ``n_jobs > 1`` splits the cases into blocks run in parallel processes (joblib); the log is
    the same as a single-process run (every case has its own seeded stream).
    """
    if n_jobs > 1 and len(X) >= 2 * n_jobs:
        from joblib import Parallel, delayed

        all_ids = np.arange(len(X)) if case_ids is None else np.asarray(case_ids)
        blocks = np.array_split(np.arange(len(X)), n_jobs)
        logs = Parallel(n_jobs=n_jobs)(delayed(run_policy)(model, policy, X[b], budget=budget, seed=seed,
                                                           case_ids=all_ids[b]) for b in blocks)
        return pd.concat(logs, ignore_index=True)
    spec = model.spec
    n, names = len(X), spec.feature_names
    ids: list[Any] = list(range(n)) if case_ids is None else list(case_ids)
    # a stable per-(policy, case) stream: str hash() is salted per process, crc32 is not
    rngs = [np.random.default_rng([seed, zlib.crc32(policy.name.encode()),
                                   int(case) if isinstance(case, (int, float, np.number)) else 0]) for case in ids]
    x = np.full(X.shape, np.nan)
    spent = np.zeros(n)
    steps = np.zeros(n, dtype=np.int64)
    unavailable = [frozenset[str]() for _ in range(n)]
    rows: list[tuple] = []  # (position, step, ...): sorted case by case at the end
    pred = model.predictor.predict_distribution(x) if n else np.zeros((0, 2))
    rows.extend((i, 0, None, "", 0.0, 0.0, np.nan, pred[i]) for i in range(n))
    active = np.ones(n, dtype=bool)
    while active.any():  # every open case takes its next step together: one batched choice, one prediction
        open_ = np.flatnonzero(active)
        choices = policy.choose_batch([State(x=x[i], spent=float(spent[i]), budget=budget, rng=rngs[i],
                                             unavailable=unavailable[i]) for i in open_])
        moved, bought = [], []
        for i, choice in zip(open_, choices):
            if choice is None:
                active[i] = False
                continue
            unit, value = choice
            observed = [names[j] for j in np.flatnonzero(~np.isnan(x[i]))]
            cost = price(spec, unit, observed, tried=unavailable[i])  # a shared cost is charged once per case
            cols = spec.index_of(list(unit.members))
            x[i, cols] = X[i, cols]
            # a test missing in the data was ordered and gave no result: paid for, never offered again
            unavailable[i] = unavailable[i] | {names[j] for j in cols if np.isnan(X[i, j])}
            spent[i] += cost
            steps[i] += 1
            moved.append(i)
            bought.append((unit, cost, value))
        if moved:
            pred = model.predictor.predict_distribution(x[moved])
            rows.extend((i, int(steps[i]), unit.name, ",".join(unit.members), cost, float(spent[i]), value, p)
                        for i, (unit, cost, value), p in zip(moved, bought, pred))
    rows.sort(key=lambda r: (r[0], r[1]))
    rows = [(ids[r[0]], *r[1:]) for r in rows]
    log = pd.DataFrame(rows, columns=["case", "step", "acquired", "members", "cost", "cumulative_cost",
                                      "value_estimate", "prediction"])
    log.insert(0, "policy", policy.name)
    return log


@dataclass
class Simulation:
    """Result of :func:`simulate`.

    Attributes
    ----------
    steps : DataFrame
        policy, case, step, acquired, members, cost, cumulative_cost, value_estimate, prediction
        (probability of the positive class, or the predicted mean), y.
    curves : DataFrame
        policy, cost, metric, lo, hi (bootstrap 95 % band) on a cost grid.
    summary : DataFrame
        One row per policy: normalized AUC with its bootstrap 95 % interval
        (``normalized_auc_ci_lower_95``/``_upper_95``), mean cost per case, final metric, cost to reach
        99 % of the all-features metric.
    """

    steps: pd.DataFrame
    curves: pd.DataFrame
    summary: pd.DataFrame
    metric: str
    full_metric: float
    total_cost: float
    split: dict = field(default_factory=dict)
    dataset: str | None = None  # the spec's name, for figure titles
    currency: str | None = None  # the spec's currency, for cost axes

    def __repr__(self) -> str:
        cases = self.split.get("n_test", self.steps["case"].nunique() if "case" in self.steps else "?")
        return (f"<Simulation of {', '.join(map(str, self.summary['policy']))} on {cases} held-out cases: "
                f"{self.metric} with every test {self.full_metric:.4g}, total cost {self.total_cost:.4g}>")

    def _repr_html_(self) -> str:
        """Notebooks: what was simulated, then the per-policy summary (bootstrap 95 % intervals in the
        *_ci_lower_95/*_ci_upper_95 columns)."""
        import html

        return (f"<p><b>{html.escape(repr(self)[1:-1])}</b></p>"
                + self.summary.to_html(index=False, float_format=lambda v: f"{v:.4g}"))

    def to_json(self) -> str:
        """Strict JSON (a policy that never reaches 99 % has ``"cost_to_99pct": null``, never NaN)."""
        policies = [row | {"auc_lo": row.get("normalized_auc_ci_lower_95"), "auc_hi": row.get("normalized_auc_ci_upper_95")}
                    for row in self.summary.to_dict(orient="records")]  # auc_lo/auc_hi: deprecated names, one release
        return strict_json.dumps({"metric": self.metric, "full_metric": self.full_metric, "total_cost": self.total_cost,
                                  "split": self.split, "policies": policies}, indent=2, default=str)

    def _title(self, what: str, who: str | None = None) -> str:
        from acquire.plots import describe

        n = self.split.get("n_test")
        unit = "held-out cases" + (f", {self.split['folds']}-fold cross-fitted" if self.split.get("folds") else "")
        return describe(what, dataset=self.dataset, n=int(n) if n is not None else None, unit=unit, who=who)

    def plot(self, ax: Any = None, **line_kwargs: Any) -> Any:
        """Performance against cumulative cost per case, one line per policy with its bootstrap band.

        Each point is the metric of every case's last prediction made within that cost. Up to three
        policies share one axes; more are drawn as small multiples (each panel one policy in colour
        with its band, the others in grey), so the bands do not merge. Returns the (first) axes.
        """
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        import acquire.plots as plots

        names = list(dict.fromkeys(self.curves["policy"]))
        title = self._title(f"{plots.metric_label(self.metric)} against test cost spent per case")
        band_note = "shaded: bootstrap 95 % interval over cases"
        if ax is not None or len(names) <= 3:
            ax = ax if ax is not None else plots.new_axes(8.0, 4.4)
            for k, name in enumerate(names):
                curve = self.curves[self.curves["policy"] == name]
                colour = plots.PALETTE[k % len(plots.PALETTE)]
                ax.plot(curve["cost"], curve["metric"], color=colour, label=name, **line_kwargs)
                ax.fill_between(curve["cost"], curve["lo"], curve["hi"], color=colour, alpha=0.18, linewidth=0)
            ax.axhline(self.full_metric, color="black", linestyle=":", linewidth=1, label="every test bought")
            handles, labels = ax.get_legend_handles_labels()
            handles.append(Patch(color=plots.CONTEXT, alpha=0.4))
            labels.append(band_note)
            plots.legend_outside(ax, title="policy", handles=handles, labels=labels)
            ax.set_xlabel(plots.cost_label("cumulative test cost per case", self.currency))
            ax.set_ylabel(plots.metric_label(self.metric))
            ax.set_title(title)
            plots.finish(ax.figure)
            return ax
        fig, axes = plots.new_grid(len(names))
        for k, (name, panel) in enumerate(zip(names, axes)):
            for other in names:
                if other != name:
                    curve = self.curves[self.curves["policy"] == other]
                    panel.plot(curve["cost"], curve["metric"], color=plots.CONTEXT, linewidth=0.8)
            curve = self.curves[self.curves["policy"] == name]
            colour = plots.PALETTE[k % len(plots.PALETTE)]
            panel.fill_between(curve["cost"], curve["lo"], curve["hi"], color=colour, alpha=0.25, linewidth=0)
            panel.plot(curve["cost"], curve["metric"], color=colour, linewidth=1.8, **line_kwargs)
            panel.axhline(self.full_metric, color="black", linestyle=":", linewidth=1)
            panel.set_title(name, fontsize=9)
        for i, panel in enumerate(axes):
            if i + 3 >= len(axes):  # no panel below: this one carries the cost axis
                panel.xaxis.set_tick_params(labelbottom=True)
                panel.set_xlabel(plots.cost_label("test cost per case", self.currency))
            if i % 3 == 0:
                panel.set_ylabel(self.metric.upper() if self.metric == "auroc" else self.metric)
        fig.suptitle(title, fontsize=10)
        fig.legend([Line2D([], [], color=plots.PALETTE[0], linewidth=1.8), Patch(color=plots.PALETTE[0], alpha=0.25),
                    Line2D([], [], color=plots.CONTEXT, linewidth=0.8), Line2D([], [], color="black", linestyle=":")],
                   ["the panel's policy", band_note, "the other policies", "every test bought"],
                   loc="lower center", ncol=4, frameon=False, fontsize=8, bbox_to_anchor=(0.5, 0.0))
        fig.tight_layout(rect=(0, 0.05, 1, 1))
        return axes[0]

    def plot_costs(self, ax: Any = None) -> Any:
        """Distribution of the total test cost per case, per policy (box: quartiles; whiskers: 1.5 IQR;
        triangle: mean)."""
        from matplotlib.lines import Line2D

        import acquire.plots as plots

        final = self.steps.groupby(["policy", "case"], sort=False)["cumulative_cost"].max().reset_index()
        names = list(dict.fromkeys(final["policy"]))
        ax = ax if ax is not None else plots.new_axes(8.0, 3.8)
        ax.boxplot([final.loc[final["policy"] == n, "cumulative_cost"] for n in names], tick_labels=names,
                   showmeans=True, meanprops={"marker": "^", "markerfacecolor": "black", "markeredgecolor": "black"},
                   medianprops={"color": plots.PALETTE[1]})
        ax.set_xlabel("policy")
        ax.set_ylim(bottom=0)
        ax.set_ylabel(plots.cost_label("total test cost per case", self.currency))
        ax.set_title(self._title("Total test cost per case"))
        plots.legend_outside(ax, handles=[Line2D([], [], color=plots.PALETTE[1]),
                                          Line2D([], [], marker="^", color="black", linestyle="")],
                             labels=["median (box: quartiles,\nwhiskers: 1.5 × IQR)", "mean"])
        plots.finish(ax.figure)
        return ax

    def plot_tests(self, ax: Any = None) -> Any:
        """How often each policy ordered each test: horizontal bars, a group per test, a colour per policy."""
        import acquire.plots as plots

        bought = self.steps.dropna(subset=["acquired"])
        n_cases = self.steps["case"].nunique()
        names = list(dict.fromkeys(self.steps["policy"]))
        table = (bought.groupby(["acquired", "policy"], sort=False).size().unstack(fill_value=0)
                 .reindex(columns=names, fill_value=0) / max(n_cases, 1) * 100)
        table = table.loc[table.mean(axis=1).sort_values().index]  # most ordered at the top
        ax = ax if ax is not None else plots.new_axes(8.0, 0.28 * len(table) * max(len(names), 2) / 2 + 1.8)
        height = 0.8 / max(len(names), 1)
        pos = np.arange(len(table))
        for k, name in enumerate(names):
            ax.barh(pos + ((len(names) - 1) / 2 - k) * height, table[name], height=height, label=name,
                    color=plots.PALETTE[k % len(plots.PALETTE)])
        ax.set_yticks(pos, table.index)
        ax.set_xlim(0, 100)
        ax.set_xlabel("cases that bought the test (% of held-out cases)")
        ax.set_ylabel("test (or panel)")
        ax.set_title(self._title("How often each test was bought"))
        plots.legend_outside(ax, title="policy")
        plots.finish(ax.figure)
        return ax

    def save(self, folder: str | os.PathLike, *, frontier: pd.DataFrame | None = None) -> Path:
        """Write ``steps.csv``/``.parquet``, ``curves.csv``, ``summary.json`` and the plots (PNG and SVG)
        into ``folder`` (created), each file atomically; with ``frontier`` (from :func:`frontier`)
        also ``frontier.csv`` and ``frontier.png``/``.svg``."""
        import acquire.plots as plots
        from acquire._io import atomic_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)

        def atomic(name: str, write: Callable[[Path], Any]) -> None:
            with atomic_file(folder / name) as tmp:
                write(tmp)

        atomic("steps.csv", lambda p: self.steps.to_csv(p, index=False))
        atomic("steps.parquet", lambda p: self.steps.to_parquet(p, index=False))
        atomic("curves.csv", lambda p: self.curves.to_csv(p, index=False))
        atomic("summary.json", lambda p: Path(p).write_text(self.to_json(), "utf-8"))
        drawings: list[tuple[str, Callable[[], Any]]] = [("curves", self.plot), ("costs", self.plot_costs),
                                                         ("tests", self.plot_tests)]
        if frontier is not None:
            front = frontier
            drawings.append(("frontier", lambda: self.plot_frontier(front)))
            atomic("frontier.csv", lambda p: front.to_csv(p, index=False))
        for name, draw in drawings:
            fig = draw().figure
            try:
                plots.save(fig, folder / f"{name}.png")
            finally:
                plots.close(fig)
        return folder

    def plot_frontier(self, front: pd.DataFrame, ax: Any = None) -> Any:
        """The soft-stopping frontier (from :func:`frontier`): one point per exchange rate λ at its mean
        cost and metric, with the metric's bootstrap 95 % interval, labelled by λ; the step line is
        the best metric reached at or below each cost (what some λ achieves: the highest AUROC or
        accuracy, the lowest RMSE). A point measurably worse than the next cheaper one (the paired 95 %
        interval of the change excludes 0 on the worse side) is marked. Returns the axes."""
        import acquire.plots as plots
        from acquire.metrics import higher_is_better

        ax = ax if ax is not None else plots.new_axes(8.0, 4.6)
        metric = self.metric
        higher = higher_is_better(metric)
        money = self.currency or "cost unit"
        order = front.sort_values("mean_cost", kind="stable")
        best = order[metric].cummax() if higher else order[metric].cummin()
        ax.step(order["mean_cost"], best, where="post", color=plots.CONTEXT, linewidth=1,
                label="best reached at or below this cost")
        err = None
        if f"{metric}_lo" in front:
            err = np.abs(np.stack([front[metric] - front[f"{metric}_lo"], front[f"{metric}_hi"] - front[metric]]))
        ax.errorbar(front["mean_cost"], front[metric], yerr=err, fmt="o", color=plots.PALETTE[0], capsize=3,
                    label=f"one exchange rate λ (nats per {money}):\na case stops when no test is worth\n"
                          f"λ × its cost; bars: bootstrap 95 %\ninterval over cases")
        if f"{metric}_change_lo" in front:
            worse = front[front[f"{metric}_change_hi"] < 0] if higher else front[front[f"{metric}_change_lo"] > 0]
            if len(worse):
                ax.scatter(worse["mean_cost"], worse[metric], s=90, marker="v" if higher else "^",
                           facecolors="none", edgecolors=plots.PALETTE[3], linewidths=1.5, zorder=3,
                           label="measurably worse than the next\ncheaper point (paired 95 % interval\n"
                                 "of the change excludes 0)")
        # label each run of points closer than 10 % of the cost range once, with its range of λ; labels
        # alternate in height, and those on the right half sit left of their point (off the legend)
        low, span = float(order["mean_cost"].min()), max(float(order["mean_cost"].max() - order["mean_cost"].min()), 1e-12)
        runs: list[list[Any]] = []
        for _, row in order.iterrows():
            if runs and row["mean_cost"] - runs[-1][0]["mean_cost"] < 0.10 * span:
                runs[-1].append(row)
            else:
                runs.append([row])
        for k, run in enumerate(runs):
            rates = sorted(r["exchange_rate"] for r in run)
            text = f"λ={rates[0]:.2g}" if len(rates) == 1 else f"λ={rates[0]:.2g}…{rates[-1]:.2g}"
            right = run[0]["mean_cost"] - low > 0.5 * span
            ax.annotate(text, (run[-1 if right else 0]["mean_cost"], min(r[metric] for r in run)),
                        textcoords="offset points", xytext=(-6 if right else 6, -12 - 11 * (k % 2)),
                        ha="right" if right else "left", fontsize=7, color="#444444")
        ax.axhline(self.full_metric, color="black", linestyle=":", linewidth=1, label="every test bought")
        if higher:  # 99 % of an error is not a target
            ax.axhline(0.99 * self.full_metric, color=plots.CONTEXT, linestyle="--", linewidth=0.8,
                       label="99 % of every test bought")
        ax.set_xlabel(plots.cost_label("mean test cost per case", self.currency))
        ax.set_ylabel(plots.metric_label(metric))
        n = int(front["cases"].iloc[0]) if "cases" in front else None
        ax.set_title(plots.describe("Cost–performance frontier: one point per exchange rate λ",
                              dataset=self.dataset, n=n, unit="held-out cases",
                              who="greedy EIG, soft stopping"))
        plots.legend_outside(ax)
        plots.finish(ax.figure)
        return ax


def _curves(steps: pd.DataFrame, y: np.ndarray, grid: np.ndarray, score: Callable, n_boot: int,
            seed: int) -> tuple[pd.DataFrame, dict]:
    """Per policy: the metric at each cost on the grid (each case's last prediction within that cost),
    with percentile intervals from ``scipy.stats.bootstrap`` over cases (the same resamples for
    every policy: paired), for the curve and for its normalized area."""
    from acquire.metrics import case_bootstrap

    out, per_policy = [], {}
    n = len(y)
    for name, log in steps.groupby("policy", sort=False):
        log = log.sort_values(["case", "step"])
        preds = np.empty((len(grid), n))
        for i, (_, case_log) in enumerate(log.groupby("case", sort=True)):
            at = np.searchsorted(case_log["cumulative_cost"].to_numpy(), grid, side="right") - 1
            preds[:, i] = case_log["score"].to_numpy()[at]
        metric = score(y, preds)  # (grid,)

        def curve_and_area(rows: np.ndarray, axis: int = -1) -> np.ndarray:
            """(grid + 1, resamples): the curve on resampled cases, then its normalized area."""
            curve = score(y[rows][:, None, :], preds[:, rows].transpose(1, 0, 2)).T  # (grid, resamples)
            return np.vstack([curve, np.trapezoid(curve, grid, axis=0) / grid[-1]])

        lo, hi, _ = case_bootstrap(curve_and_area, n, seed, n_boot=n_boot, vectorized=True)
        out.append(pd.DataFrame({"policy": name, "cost": grid, "metric": metric, "lo": lo[:-1], "hi": hi[:-1]}))
        area = np.trapezoid(metric, grid) / grid[-1]
        per_policy[name] = (area, float(lo[-1]), float(hi[-1]), metric)
    return pd.concat(out, ignore_index=True), per_policy


def simulate(frame: pd.DataFrame, spec: Any, policies: Sequence[str | Policy], *, test_size: float = 0.3,
             seed: int = 0, budget: float | None = None, n_boot: int = 200, grid_points: int = 60,
             max_cases: int | None = None, predictor_params: dict | None = None,
             progress: Callable[[int], None] | None = None, n_jobs: int = 1, folds: int | None = None,
             repeats: int = 1, predictor: str = "auto") -> Simulation:
    """Compare ``policies`` on held-out cases of ``frame`` (see the module docstring).

    One seeded stratified split by default (``test_size``). With ``folds=K``, cross-fitting:
    every case is simulated once, by a model trained on the other K − 1 folds; ``repeats`` runs
    that with seeds ``seed, seed+1, …`` and pools the results (a case then counts once per
    repeat). No held-out row ever trains the predictor or the conditional model, nor chooses it
    (``predictor="auto"`` cross-validates within the training rows). ``budget`` is
    a hard per-case budget; soft stopping comes from each policy (the spec's exchange rates).

    Examples
    --------
    >>> from acquire import datasets
    >>> frame, spec = datasets.load("pima")
    >>> sim = simulate(frame, spec, ["greedy", "all"], seed=0, max_cases=40, n_boot=20)
    >>> sim.summary["policy"].tolist(), sim.metric
    (['greedy', 'all'], 'auroc')
    >>> bool(sim.summary.set_index("policy").loc["greedy", "mean_cost"] <= sim.total_cost)
    True
    """
    from acquire.model import fit_model
    from acquire.splits import fold_splits, holdout_split

    if not 0 < test_size < 1:
        raise AcquireError(f"test_size == {test_size}, must be in (0, 1)")
    if folds is not None and folds < 2:
        raise AcquireError(f"folds == {folds}, must be >= 2 (or None for one split)")
    spec = spec.with_classes_from(frame[spec.target_name])  # the order the models are fitted with
    y_all = spec.encode_target(frame[spec.target_name])
    X_all = spec.encode(frame)
    classify = spec.target_kind != "continuous"
    splits = []
    for r in range(repeats):
        if folds is None:
            train, test = holdout_split(len(frame), test_size, seed + r, y=y_all, stratify=classify,
                                        option="--test-size", classes=spec.classes)
            splits.append((r, train, test))
        else:
            splits.extend((r, train, test) for train, test in fold_splits(len(frame), folds, seed + r, y=y_all,
                                                                          stratify=classify, option="--folds",
                                                                          classes=spec.classes))
    stop_rates = {}  # policy → the exchange rate its stop rule uses; a spec without one is refused before fitting
    for p in policies:
        pol = make_policy(p) if isinstance(p, str) else p
        rate = pol.stop_rate(spec)
        if rate is not None:
            stop_rates[pol.name] = rate
    logs, ys, full_parts, offset, n_train = [], [], [], 0, []
    for r, train, test in splits:
        if max_cases is not None:
            test = test[:max_cases]
        model = fit_model(frame.iloc[train], spec, predictor=predictor, seed=seed + r, holdout=0,
                          predictor_params=predictor_params)
        n_train.append(len(train))
        ids = np.arange(offset, offset + len(test))  # a case id per (repeat, held-out row)
        for p in policies:
            policy = make_policy(p) if isinstance(p, str) else p
            policy.fit(model, X_all[train])
            log = run_policy(model, policy, X_all[test], budget=budget, seed=seed + r, case_ids=ids, n_jobs=n_jobs)
            log.insert(1, "repeat", r)
            log.insert(2, "row", np.asarray(test)[log["case"].to_numpy() - offset])
            logs.append(log)
            if progress is not None:
                progress(1)
        ys.append(y_all[test])
        full_parts.append(model.predictor.predict_distribution(X_all[test]))  # "all tests", by this fold's model
        offset += len(test)
    y = np.concatenate(ys)
    steps = pd.concat(logs, ignore_index=True)
    full_pred = np.concatenate(full_parts)
    n_classes = 0 if spec.target_kind == "continuous" else int(model.predictor.n_classes_)
    name, score = metric_for(spec.target_kind, n_classes)
    pred = np.stack(list(steps["prediction"].to_numpy()))
    steps["score"] = scores_for(name, pred)
    steps["y"] = y[steps["case"].to_numpy()]
    # everything bought: each test's own cost, and each shared group cost once
    total = sum(f.cost for f in spec.features if f.available == "before_decision")
    total += sum(cost for g, cost in spec.groups.items() if any(f.group == g for f in spec.features))
    total = max(float(total), float(steps["cumulative_cost"].max()))
    grid = np.linspace(0.0, total, grid_points)
    full = float(score(y, scores_for(name, full_pred)))
    curves, per_policy = _curves(steps, y, grid, score, n_boot, seed)
    rows = []
    for pol, (area, lo, hi, metric) in per_policy.items():
        final_cost = steps[steps["policy"] == pol].groupby("case")["cumulative_cost"].max()
        reach = np.flatnonzero(metric >= 0.99 * full) if name == "auroc" else np.array([], int)
        rows.append({"policy": pol, "normalized_auc": area, "normalized_auc_ci_lower_95": lo,
                     "normalized_auc_ci_upper_95": hi,
                     "mean_cost": float(final_cost.mean()), "mean_cost_share": float(final_cost.mean() / total),
                     f"final_{name}": float(metric[-1]),
                     "cost_to_99pct": float(grid[reach[0]]) if reach.size else None})
    summary = pd.DataFrame(rows)
    _warn_degenerate_stops(steps, stop_rates, len(spec.units(include_groups=False)), budget)
    steps = steps.drop(columns=["score"])
    steps["prediction"] = pred[:, 1] if pred.shape[1] == 2 and spec.target_kind != "continuous" else pred[:, 0]
    split: dict[str, Any] = {"seed": seed, "repeats": repeats, "n_train": int(np.mean(n_train)), "n_test": int(len(y))}
    split |= {"folds": folds} if folds is not None else {"test_size": test_size}
    split["exchange_rates"] = stop_rates
    return Simulation(steps, curves, summary, name, float(full), total, split, dataset=spec.name,
                      currency=spec.currency)


def _warn_degenerate_stops(steps: pd.DataFrame, stop_rates: dict[str, float], n_units: int,
                           budget: float | None) -> None:
    """Warn when a policy's stop rule never fired (every case bought every test) or always fired at
    once (no case bought anything): the exchange rate, not the cases, decided those runs."""
    for name, rate in stop_rates.items():
        runs = steps[steps["policy"] == name].groupby("case")
        bought, spent = runs["step"].max(), runs["cumulative_cost"].max()
        if len(bought) == 0:
            continue
        if (spent == 0).all():  # free tests may have been taken; no paid one was
            warnings.warn(f"policy {name!r}: at exchange rate {rate:g} no paid test was worth its cost for any case "
                          f"(the stop rule always fired at once); lower the rate", AcquireWarning, stacklevel=3)
        elif budget is None and (bought >= n_units).all():
            warnings.warn(f"policy {name!r}: at exchange rate {rate:g} every case bought every test (the stop rule "
                          f"never fired); raise the rate to stop when a test is not worth its cost",
                          AcquireWarning, stacklevel=3)


def frontier(frame: pd.DataFrame, spec: Any, *, rates: Sequence[float] | None = None, objective: str = "eig",
             test_size: float = 0.3, seed: int = 0, max_cases: int | None = None,
             predictor_params: dict | None = None, n_jobs: int = 1, predictor: str = "auto",
             n_boot: int = 200) -> pd.DataFrame:
    """The cost–performance frontier of the greedy policy under soft stopping.

    For each exchange rate λ, every held-out case buys tests while one is worth its cost
    (``value − cost·λ > 0``) and stops otherwise; one row per λ: mean cost per case, its share of
    the total, the metric of the final predictions with its bootstrap 95 % interval over cases
    (``<metric>_lo``/``_hi``, the same resamples for every λ), mean tests bought and the number of
    cases. Same split and model as :func:`simulate`.

    ``<metric>_change`` is the metric's change from the next cheaper point (by mean cost; NaN at the
    cheapest), with its paired bootstrap 95 % interval (``_change_lo``/``_change_hi``: the same case
    resamples at both points, so the interval is of the change itself, not two intervals compared).
    A fall (for RMSE, a rise) whose interval holds 0 is not a measured one: two neighbouring rates often
    differ in a few cases' purchases, and the metric moves by noise.
    """
    from acquire.metrics import case_bootstrap
    from acquire.model import fit_model
    from acquire.policies import GreedyValue
    from acquire.splits import holdout_split

    spec = spec.with_classes_from(frame[spec.target_name])
    y_all = spec.encode_target(frame[spec.target_name])
    train, test = holdout_split(len(frame), test_size, seed, y=y_all, stratify=spec.target_kind != "continuous",
                                option="--test-size", classes=spec.classes)
    if max_cases is not None:
        test = test[:max_cases]
    model = fit_model(frame.iloc[train], spec, predictor=predictor, seed=seed, holdout=0,
                      predictor_params=predictor_params)
    X_train, X_test, y = spec.encode(frame.iloc[train]), spec.encode(frame.iloc[test]), y_all[test]
    n_classes = 0 if spec.target_kind == "continuous" else int(model.predictor.n_classes_)
    name, score = metric_for(spec.target_kind, n_classes)
    total = sum(f.cost for f in spec.features) + sum(spec.groups.values())
    if rates is None:
        base = float(spec.use_case.get(spec.exchange_rate_key(objective)) or 0.005)  # only centres the sweep
        rates = [0.0] + list(base * np.logspace(-1.5, 1.0, 8))
    rows, scored = [], []
    for rate in rates:
        policy = GreedyValue(objective=objective, exchange_rate=float(rate))
        policy.name = f"greedy@{rate:.3g}"
        log = run_policy(model, policy.fit(model, X_train), X_test, seed=seed, n_jobs=n_jobs)
        last = log.sort_values("step").groupby("case").tail(1).sort_values("case")
        pred = np.stack(list(last["prediction"].to_numpy()))
        scored.append(scores_for(name, pred))
        rows.append({"exchange_rate": float(rate), "mean_cost": float(last["cumulative_cost"].mean()),
                     "mean_cost_share": float(last["cumulative_cost"].mean() / total),
                     name: float(score(y, scored[-1])), "mean_tests": float(last["step"].mean()), "cases": len(y)})
    full_pred = model.predictor.predict_distribution(X_test)
    full = float(score(y, scores_for(name, full_pred)))
    out = pd.DataFrame(rows)
    R, S = len(out), np.stack(scored)
    order = np.argsort(out["mean_cost"].to_numpy(), kind="stable")  # cheapest first

    def statistic(r: np.ndarray, axis: int = -1) -> np.ndarray:
        """Each point's metric on the resampled cases, then each point's change from the next cheaper one."""
        values = np.stack([score(y[r], S[i][r]) for i in range(R)])  # (rates, resamples)
        return np.concatenate([values, values[order[1:]] - values[order[:-1]]])

    lo, hi, _ = case_bootstrap(statistic, len(y), seed, n_boot=n_boot, vectorized=True)  # one set of resamples: paired
    at = list(out.columns).index(name) + 1  # the interval beside its metric
    out.insert(at, f"{name}_lo", lo[:R])
    out.insert(at + 1, f"{name}_hi", hi[:R])
    out[f"share_of_full_{name}"] = out[name] / full
    change = np.full((R, 3), np.nan)  # change from the next cheaper point: estimate, lo, hi
    metric = out[name].to_numpy()
    change[order[1:]] = np.column_stack([metric[order[1:]] - metric[order[:-1]], lo[R:], hi[R:]])
    out[f"{name}_change"], out[f"{name}_change_lo"], out[f"{name}_change_hi"] = change.T
    return out
