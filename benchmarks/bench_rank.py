"""Ranking speed: the engine (one batched predict per case, numba value kernels, shared draws)
against a naive Monte Carlo baseline (per candidate: 1,000 i.i.d. conditional draws pushed
through the predictor separately, entropies in NumPy). Same model, same cases, one run.

    python benchmarks/bench_rank.py [--dataset breast_cancer] [--cases 20] [--predictor auto] [--single]

Prints per-case milliseconds for both and the ratio; also how far the two estimates are
apart in units of the engine's standard error. Then the warm latency of ``Ranker.rank`` for one
case with nothing observed (every test a candidate) and with a fifth observed: the median of 200
calls, the figure issue 13's "30 candidates <= 1 ms" target is about. ``--single`` drops groups
and panels (30 single tests on breast cancer, the GDFS peer's setting).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import acquire
from acquire import datasets


def naive_rank(model, case, n_draws=1000, seed=0):
    """The obvious implementation: a loop over candidates, i.i.d. draws, NumPy entropies."""
    spec = model.spec
    x = spec.encode_case(case)
    names = spec.feature_names
    observed = [names[j] for j in np.flatnonzero(~np.isnan(x))]
    out = {}
    rng = np.random.default_rng(seed)
    p_now = model.predictor.predict_distribution(x[None])[0]
    for unit in spec.units():
        cols = [names.index(m) for m in unit.members if m not in observed]
        if not cols:
            continue
        draws = model.conditional.sample(x, n_draws, seed=int(rng.integers(1 << 31)), class_probs=p_now)
        rows = np.repeat(x[None], n_draws, axis=0)
        rows[:, cols] = draws[:, cols]
        p = model.predictor.predict_distribution(rows)
        h = lambda q: -np.sum(q * np.log(np.clip(q, 1e-300, None)), axis=-1)
        out[unit.name] = float(h(p.mean(axis=0)) - h(p).mean())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="breast_cancer")
    ap.add_argument("--cases", type=int, default=20)
    ap.add_argument("--predictor", default="auto")
    ap.add_argument("--single", action="store_true", help="no groups or panels: every feature its own candidate")
    args = ap.parse_args()
    frame, spec = datasets.load(args.dataset)
    if args.single:
        raw = spec.to_dict()
        raw.pop("groups", None)
        for f in raw["features"]:
            f.pop("group", None)
            f.pop("panel", None)
        spec = acquire.load_spec(raw)
    model = acquire.fit_model(frame, spec, seed=0, holdout=0, predictor=args.predictor)
    rng = np.random.default_rng(0)
    cases = []
    for i in rng.choice(len(frame), args.cases, replace=False):
        keep = rng.choice(spec.feature_names, size=max(1, len(spec.features) // 5), replace=False)
        cases.append({k: frame.iloc[i][k] for k in keep})
    ranker = model.ranker(n_draws=1024, seed=0)
    ranker.rank(cases[0])  # warm-up: numba compilation
    naive_rank(model, cases[0], n_draws=50)

    t0 = time.perf_counter()
    rankings = [ranker.rank(c) for c in cases]
    ours = (time.perf_counter() - t0) / len(cases)
    t0 = time.perf_counter()
    naive = [naive_rank(model, c) for c in cases]
    base = (time.perf_counter() - t0) / len(cases)

    pairs = [(c.value, c.se, nv[c.feature]) for r, nv in zip(rankings, naive) for c in r.candidates]
    z = [abs(v - b) / se for v, se, b in pairs if se > 0]
    gap = [abs(v - b) for v, se, b in pairs if se == 0]
    print(f"dataset {args.dataset}: {len(cases)} cases, {np.mean([len(r.candidates) for r in rankings]):.1f} candidates each")
    print(f"engine (1,024 RQMC draws/candidate, batched, numba): {ours * 1e3:8.2f} ms/case")
    print(f"naive  (1,000 i.i.d. draws/candidate, looped, NumPy): {base * 1e3:8.2f} ms/case")
    print(f"ratio naive/engine: {base / ours:.1f}x")
    if z:
        print(f"|engine - naive| / engine SE: median {np.median(z):.2f} (the naive estimate carries its own MC error)")
    if gap:
        print(f"|engine - naive| where the engine has no sampling error (quadrature/exact): median {np.median(gap):.2g} "
              "nats (the naive estimate's own MC error)")

    print(f"\nwarm latency of rank() for one case, predictor {model.predictor.name}, median of 200 calls:")
    for label, case in (("nothing observed", {}), ("a fifth observed", cases[0])):
        ranker.rank(case)
        times = []
        for _ in range(200):
            t0 = time.perf_counter()
            r = ranker.rank(case)
            times.append(time.perf_counter() - t0)
        methods = ",".join(sorted({c.method for c in r.candidates}))
        print(f"  {label:17s} {len(r.candidates):3d} candidates ({methods}): {np.median(times) * 1e3:6.3f} ms")


if __name__ == "__main__":
    main()
