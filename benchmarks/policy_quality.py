"""Policy quality on Pima (Turney's costs) and breast_cancer: the numbers the simulation issue asks for.

    python benchmarks/policy_quality.py

1. Every policy on a seeded 70/30 stratified split: normalized AUC of AUROC vs cost (bootstrap
   95 % CI), mean cost per case, cost at which the curve reaches 99 % of the all-tests AUROC.
2. The soft-stopping frontier of the greedy policy (exchange rate swept): mean cost vs AUROC.
3. Uniform costs (every feature costs 1, no groups or panels): test AUROC with a budget of
   k = 1, 2, 3 features per case, next to GDFS (Covert et al., 2023) as quoted in the issue.
"""

from __future__ import annotations

import pandas as pd

from acquire import datasets
from acquire.simulate import frontier, simulate
from bench_gdfs import uniform  # the peer's setting: every feature costs 1, no groups or panels

GDFS = {"breast_cancer": {1: 0.957, 2: 0.972, 3: 0.982}, "pima": {1: 0.790, 2: 0.819, 3: 0.828}}
POLICIES = ["greedy", "lookahead", "cost_blind", "static", "random", "all"]


def main() -> None:
    pd.set_option("display.width", 160)
    for name in ("pima", "breast_cancer"):
        frame, spec = datasets.load(name)
        sim = simulate(frame, spec, POLICIES, seed=0, n_boot=200, n_jobs=2)
        print(f"\n=== {name}: {sim.split['n_test']} held-out cases; all tests AUROC {sim.full_metric:.3f} at cost "
              f"{sim.total_cost:g}")
        print(sim.summary.round(3).to_string(index=False))
        front = frontier(frame, spec, seed=0, n_jobs=2)
        print("frontier (greedy, soft stopping):")
        print(front.round(4).to_string(index=False))
        flat = uniform(spec)
        rows = []
        for k in (1, 2, 3):
            s = simulate(frame, flat, ["greedy", "cost_blind", "static", "random"], seed=0, budget=float(k), n_boot=20,
                         n_jobs=2)
            row = {"k": k, **{r.policy: round(r.final_auroc, 3) for r in s.summary.itertuples()},
                   "GDFS (quoted)": GDFS[name][k]}
            rows.append(row)
        print("uniform costs, budget of k features, test AUROC (70/30 stratified split, seed 0):")
        print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
