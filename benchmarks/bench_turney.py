"""Pima with Turney's (1995) test costs: the soft-stopping frontier of the greedy policy.

    python benchmarks/bench_turney.py [--seeds 5] [--rates 16] [--predictor auto]

Protocol (issue 13): for each seed, a stratified 70/30 split (:func:`acquire.simulate.frontier`,
the split and model ``acquire simulate --frontier`` uses); the model is fitted on the 70 %; every
held-out case starts with nothing measured and buys tests while one is worth its cost at exchange
rate λ (soft stopping), for λ swept over ``--rates`` values from 0 up. Costs are the bundled
spec's Turney costs in Canadian dollars, with the blood draw shared by glucose and insulin.

Printed: per seed, the cheapest frontier point reaching 99 % of the full-feature AUROC (the same
model with every test observed, on the same cases) and its share of the total cost of every test;
the mean over seeds against the target (<= 60 %) with its t interval over the splits (the splits,
not only the fits, differ from seed to seed, so the mean is itself an estimate); the share of the full AUROC the frontier reaches
within 10/20/40/60 % of the total cost; and whether the frontier is non-decreasing in cost: how many
steps from one point to the next costlier one lower the AUROC, and how many of those falls are
measured (the paired bootstrap 95 % interval of the change over 1000 case resamples, :func:`acquire.simulate.frontier`'s
``auroc_change_lo``/``_hi``, lies below 0; the test set holds about 230 cases, so most falls are noise).
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from acquire import datasets
from acquire.simulate import frontier

TARGET_SHARE, TARGET_COST = 0.99, 0.60
BUDGETS = (0.10, 0.20, 0.40, 0.60)


def best_within(front: pd.DataFrame, share: float) -> float:
    """The best share of the full AUROC among frontier points costing at most ``share`` of the total."""
    inside = front[front["mean_cost_share"] <= share + 1e-12]
    return float(inside["share_of_full_auroc"].max()) if len(inside) else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--rates", type=int, default=16)
    ap.add_argument("--predictor", default="auto")
    args = ap.parse_args()
    frame, spec = datasets.load("pima")
    total = sum(f.cost for f in spec.features) + sum(spec.groups.values())
    rates = [0.0] + list(np.logspace(-4, -0.5, args.rates - 1))  # nats per dollar
    rows, fronts = [], []
    for seed in range(args.seeds):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            front = frontier(frame, spec, rates=rates, seed=seed, predictor=args.predictor, n_boot=1000)
        front = front.sort_values("mean_cost").reset_index(drop=True)
        reach = front[front["share_of_full_auroc"] >= TARGET_SHARE]
        cheapest = reach.iloc[0] if len(reach) else None
        falls = int((np.diff(front["auroc"].to_numpy()) < -1e-12).sum())
        measured = int((front["auroc_change_hi"] < 0).sum())  # paired 95 % interval of the change below 0
        rows.append({"seed": seed, "full-feature AUROC": front["auroc"].iloc[0] / front["share_of_full_auroc"].iloc[0],
                     "cost share at 99 %": np.nan if cheapest is None else cheapest["mean_cost_share"],
                     "λ there": np.nan if cheapest is None else cheapest["exchange_rate"],
                     **{f"≤{int(b * 100)} % of cost": best_within(front, b) for b in BUDGETS},
                     "frontier points": len(front), "AUROC falls as cost rises": falls, "measured falls": measured})
        fronts.append(front.assign(seed=seed))
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(f"Pima, Turney's costs (total of every test {total:g} {spec.currency or 'cost units'}); greedy EIG, "
          f"soft stopping over {len(rates)} exchange rates; {args.seeds} seeded stratified 70/30 splits")
    print(table.round(4).to_string(index=False))
    shares = table["cost share at 99 %"].dropna().to_numpy()
    mean = table["cost share at 99 %"].mean()
    spread = ""
    if shares.size > 1:  # the splits differ, so the mean is an estimate: its t interval over splits
        half = stats.t.ppf(0.975, shares.size - 1) * shares.std(ddof=1) / np.sqrt(shares.size)
        spread = (f"; 95 % t interval over the {shares.size} splits ({shares.size - 1} degrees of freedom): "
                  f"{(mean - half) * 100:.1f} to {(mean + half) * 100:.1f} %")
    print(f"\nmean cost share at which the frontier reaches {TARGET_SHARE:.0%} of the full-feature AUROC: "
          f"{mean * 100:.1f} % (target <= {TARGET_COST:.0%}: {'met' if mean <= TARGET_COST else 'NOT met'}){spread}")
    print("share of the full-feature AUROC reached within a share of the total cost (mean over seeds): "
          + ", ".join(f"{int(b * 100)} %: {table[f'≤{int(b * 100)} % of cost'].mean() * 100:.1f} %" for b in BUDGETS))
    print(f"frontier steps where AUROC falls as cost rises: {int(table['AUROC falls as cost rises'].sum())} of "
          f"{int((table['frontier points'] - 1).sum())}; measured falls (the paired bootstrap 95 % interval of the "
          f"change from the next cheaper point lies below 0): {int(table['measured falls'].sum())}")


if __name__ == "__main__":
    main()
