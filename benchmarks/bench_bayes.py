"""Speed of the Bayesian predictor: value of information per case, NUTS and ADVI fits.

    python benchmarks/bench_bayes.py

1. EIG for one Pima case (age, bmi, npreg observed; 4 single tests) with 500 posterior draws,
   after warm-up: our posterior path (quadrature + BALD kernel) against a naive baseline that
   loops over posterior draws and over 256 Monte Carlo results per test. Goal: ≤ 20 ms per case.
2. NUTS fit on Pima (2 chains × 250 draws after 500 tuning steps; compile included, warm
   PyTensor cache). Goal: ≤ 30 s.
3. ADVI fit on Pima, and how much the rankings differ: Spearman correlation of the tests' EIG
   between the ADVI and NUTS models over 30 cases with random subsets observed.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from scipy.stats import spearmanr

import acquire
from acquire import datasets


def fit(frame, spec, **params):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = acquire.fit_model(frame, spec, predictor="bayes", seed=0, holdout=0, predictor_params=params)
    return model, time.perf_counter() - start


def naive_eig(model, x, features, n=256, seed=0):
    """Loop over draws and results: H(mean) − mean H with the posterior predictive from a Python loop."""
    rng = np.random.default_rng(seed)
    pred = model.predictor
    out = []
    H = lambda p: -(p * np.log(np.clip(p, 1e-300, None))).sum(axis=-1)
    for j in features:
        rows = pred.copula_.sample(x, n, seed=int(rng.integers(2**31)))
        filled = np.repeat(x[None, :], n, axis=0)
        filled[:, j] = rows[:, j]
        per_row = []
        for r in filled:
            draws = pred.predict_draws(r[None, :])[:, 0, :]
            per_row.append(draws.mean(axis=0))
        P = np.array(per_row)
        out.append(H(P.mean(axis=0)) - H(P).mean())
    return np.array(out)


def main() -> None:
    frame, spec = datasets.load("pima")
    nuts, nuts_s = fit(frame, spec, draws=250, tune=500, chains=2)
    T = len(nuts.predictor.beta_)
    case = {"age": 24, "bmi": 30.2, "npreg": 5}
    ranker = nuts.ranker(include_groups=False)
    ranker.rank(case)  # warm-up (numba compile)
    reps = 50
    start = time.perf_counter()
    for _ in range(reps):
        ranking = ranker.rank(case)
    ours_ms = 1000 * (time.perf_counter() - start) / reps
    x = spec.encode_case(case)
    missing = [j for j in range(x.size) if np.isnan(x[j])]
    start = time.perf_counter()
    naive_eig(nuts, x, missing)
    naive_ms = 1000 * (time.perf_counter() - start)
    print(f"EIG of {len(ranking.candidates)} tests, one case, {T} posterior draws: ours {ours_ms:.1f} ms, "
          f"naive loop {naive_ms:.0f} ms, ratio {naive_ms / ours_ms:.0f}x (goal <= 20 ms: "
          f"{'met' if ours_ms <= 20 else 'missed'})")
    print(f"NUTS fit on Pima ({len(frame)} rows, {T} draws): {nuts_s:.1f} s (goal <= 30 s: "
          f"{'met' if nuts_s <= 30 else 'missed'}); {nuts.predictor.diagnostics_}")
    advi, advi_s = fit(frame, spec, inference="advi", draws=250, chains=2)
    print(f"ADVI fit on Pima: {advi_s:.1f} s; NUTS / ADVI time ratio {nuts_s / advi_s:.2f}")
    rng = np.random.default_rng(0)
    X = spec.encode(frame)
    rhos, same_top = [], 0
    for i in rng.choice(len(X), 30, replace=False):
        x = X[i].copy()
        x[rng.uniform(size=x.size) < 0.5] = np.nan
        a = {c.feature: c.value for c in nuts.ranker(include_groups=False).rank_encoded(x).candidates}
        b = {c.feature: c.value for c in advi.ranker(include_groups=False).rank_encoded(x).candidates}
        if len(a) >= 3:
            rhos.append(spearmanr([a[k] for k in a], [b[k] for k in a])[0])
        if a:
            same_top += max(a, key=a.get) == max(b, key=b.get)
    print(f"ADVI vs NUTS rankings over 30 cases: median Spearman {np.median(rhos):.3f} "
          f"(min {np.min(rhos):.3f}); same top test in {same_top}/30")


if __name__ == "__main__":
    main()
