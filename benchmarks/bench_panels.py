"""Throughput of a file whose spec has panels against the same file without them.

    python benchmarks/bench_panels.py [--rows 2000] [--predictor xgboost]

For each case (a bundled dataset, the panels kept): the same rows with half of the values
hidden at random are ranked by ``rank_frame`` (warm numba cache) under the spec with its panels and
under the same spec with every panel dropped (then each panel member is a single test, valued
exactly). Printed: rows/s of both, their ratio, and where the panel run's time goes (predictor
calls, the draws and value kernels of the Monte Carlo estimator, the exact estimator, the rest).
A panel of declared-level discrete features is valued from its joint outcomes' counts (one
prediction per outcome); a panel with a continuous member needs one prediction per draw. Under the
copula classifier (what ``--predictor auto`` picks on pbc) every panel is valued on the classifier's
scores instead (:class:`~acquire.engine.class_gaussian.ClassGaussianSetEstimator`: no predictor
rows); its time is counted as Monte Carlo.

``--draws 1024 256 128`` repeats the panel runs at fewer Monte Carlo draws (the engine's default is
1,024) and prints, beside each rate, the median standard error of the panels' values: the
trade-off a default below 1,024 would make (issue 16, item 5).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections import defaultdict

import numpy as np
import pandas as pd

import acquire
from acquire import datasets
from acquire.pipeline.frame import rank_frame

CASES = [("pbc", {"exam"}, "one panel of 4 discrete exam findings"),
         ("icu", {"neuro_exam", "blood_gas"}, "two panels of discrete findings (2 and 4 members)"),
         ("pbc", {"exam", "liver_panel", "lipids"}, "the exam panel and two panels of continuous labs")]


def with_panels(spec, keep: set[str]):
    d = spec.to_dict()
    d["features"] = [{k: v for k, v in f.items() if k != "panel" or v in keep} for f in d["features"]]
    return acquire.load_spec(d)


#: wall seconds per part of the current run (reset before each run)
CLOCK: dict[str, float] = defaultdict(float)


def timed(owner, name: str, key: str) -> None:
    """Wrap ``owner.name`` (a class's method or an object's) so its wall time adds to ``CLOCK[key]``."""
    inner = getattr(owner, name)

    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return inner(*a, **k)
        finally:
            CLOCK[key] += time.perf_counter() - t

    setattr(owner, name, wrapper)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--predictor", default="xgboost")
    ap.add_argument("--draws", type=int, nargs="+", default=[1024],
                    help="Monte Carlo draws per value for the panel runs (the first is the headline)")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    from acquire.engine.class_gaussian import ClassGaussianSetEstimator
    from acquire.engine.exact_tree import ExactTreeEstimator
    from acquire.engine.monte_carlo import MonteCarloEstimator

    timed(MonteCarloEstimator, "estimate", "mc")
    timed(ClassGaussianSetEstimator, "estimate", "mc")
    timed(ExactTreeEstimator, "estimate", "exact")
    for name, keep, what in CASES:
        frame, spec = datasets.load(name)
        X = frame.drop(columns=[spec.target_name])
        X = X.mask(np.random.default_rng(0).uniform(size=X.shape) < 0.5)
        X = pd.concat([X] * (a.rows // len(X) + 1), ignore_index=True).head(a.rows)
        rate, split, se = {}, {}, {}
        runs = [("no panels", with_panels(spec, set()), a.draws[0])]
        runs += [(f"panels, {n:,} draws", with_panels(spec, keep), n) for n in a.draws]
        for label, s, n_draws in runs:
            model = acquire.fit_model(frame, s, seed=0, holdout=0, predictor=a.predictor)
            rank_frame(model, X.head(100), n_draws=n_draws)  # warm
            timed(model.predictor, "predict_distribution", "predict")
            CLOCK.clear()
            t0 = time.perf_counter()
            ranked = rank_frame(model, X, n_draws=n_draws)
            wall = time.perf_counter() - t0
            rate[label] = len(X) / wall
            split[label] = (wall, dict(CLOCK))
            se[label] = float(ranked.loc[ranked["kind"] == "panel", "se"].median())
        head = f"panels, {a.draws[0]:,} draws"
        wall, clock = split[head]
        mc, exact = clock.get("mc", 0.0), clock.get("exact", 0.0)
        print(f"{name}, {what}: {rate[head]:,.0f} rows/s with panels, {rate['no panels']:,.0f} without "
              f"({rate[head] / rate['no panels']:.0%}); {len(X):,} rows, half the values hidden, {a.predictor}")
        print(f"  panel run: {wall:.2f} s = Monte Carlo {mc:.2f} s + exact {exact:.2f} s + encoding, pricing and "
              f"output {wall - mc - exact:.2f} s; predictor calls {clock.get('predict', 0.0):.2f} s of it in all")
        for n in a.draws[1:]:
            label = f"panels, {n:,} draws"
            print(f"  at {n:,} draws: {rate[label]:,.0f} rows/s ({rate[label] / rate['no panels']:.0%} of no panels); "
                  f"median panel se {se[label]:.2e} against {se[head]:.2e} at {a.draws[0]:,}"
                  + (f" ({se[label] / se[head]:.1f}x)" if se[head] > 0 else ""))

if __name__ == "__main__":
    main()
