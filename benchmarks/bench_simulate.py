"""Simulation speed: the greedy policy on 10,000 cases x 30 tests (target: <= 60 s on 2 cores).

    python benchmarks/bench_simulate.py [--cases 10000]

breast_cancer's 30 measurements as 30 separately orderable tests (panels dropped, the aspirate's
shared cost kept); 10,000 synthetic cases from the fitted model; every case starts with nothing
measured and the greedy value-per-cost policy buys tests until none is worth its cost.
"""

from __future__ import annotations

import argparse
import time

import acquire
from acquire import datasets, load_spec
from acquire.policies import GreedyValue
from acquire.simulate import run_policy
from acquire.synthetic import generate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    frame, spec = datasets.load("breast_cancer")
    raw = spec.to_dict()
    for f in raw["features"]:
        f.pop("panel", None)
    spec = load_spec(raw)
    model = acquire.fit_model(frame, spec, seed=0, holdout=0)
    X = spec.encode(generate(model, a.cases, seed=0))
    policy = GreedyValue().fit(model, X[:10])
    run_policy(model, policy, X[:20])  # warm-up (numba cache)
    t0 = time.perf_counter()
    log = run_policy(model, policy, X, n_jobs=a.jobs)
    seconds = time.perf_counter() - t0
    steps = int((log["step"] > 0).sum())
    print(f"greedy policy, {a.cases:,} cases x {len(spec.features)} tests, {a.jobs} processes: {seconds:.1f} s "
          f"({a.cases / seconds:,.0f} cases/s, {steps / a.cases:.1f} tests bought per case); target <= 60 s: "
          f"{'met' if seconds <= 60 else 'not met'}")


if __name__ == "__main__":
    main()
