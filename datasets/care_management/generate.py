"""Generates care_management.csv from a documented causal model (run once; the CSV is committed).

    python datasets/care_management/generate.py

Modelled on Obermeyer et al. (2019): a care-management programme enrols the patients a model
ranks highest, the model predicts next year's *cost* as a proxy for *health need*, and the
under-served group B costs less at the same need. ``planted=False`` gives the clean twin (no
group effect anywhere), which the tests use to count false positives.

group G ~ Bernoulli(0.35)                                  (sensitive attribute)
need N ~ N(0.4 G, 1)                                       (latent health need; B sicker on average)
chronic_conditions = Poisson(exp(0.6 + 0.55 N))            (the audit column: what cost stands in for)
age = 55 + 8 N + N(0, 9)
clinic ~ uniform{1..5}
prior_cost = exp(1.0 + 0.7 N + N(0, 0.4))        for A     (k$, billing history)
           = exp(0.6 + N(0, 0.7))                for B     (thin records: no signal of need)
hba1c = 6.0 + 0.7 N + N(0, 0.5);  creatinine = exp(0.1 + 0.25 N + N(0, 0.15));  sbp = 130 + 9 N + N(0, 12)
cost_next_year = exp(1.2 + 0.9 N − 0.7 G + N(0, 0.45))
high_cost Y = cost_next_year above its 75th percentile      (the target: a proxy)
at clinic 5, Y is recorded at random (a coding error)       (a hole in subgroup performance)
"""

import numpy as np
import pandas as pd


def main(n: int = 3000, seed: int = 20261124, planted: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    b = planted  # every group effect and the coding error are off in the clean twin
    G = rng.binomial(1, 0.35, n)
    N = rng.normal(0.4 * G * b, 1.0)
    clinic = rng.integers(1, 6, n)
    thin = (G == 1) & b
    prior = np.where(thin, np.exp(0.6 + rng.normal(0, 0.7, n)), np.exp(1.0 + 0.7 * N + rng.normal(0, 0.4, n)))
    cost = np.exp(1.2 + 0.9 * N - 0.7 * G * b + rng.normal(0, 0.45, n))
    Y = (cost > np.quantile(cost, 0.75)).astype(int)
    if b:
        error = clinic == 5
        Y[error] = rng.binomial(1, 0.25, error.sum())
    return pd.DataFrame({
        "age": np.round(55 + 8 * N + rng.normal(0, 9, n)).clip(18, 100).astype(int),
        "group": np.where(G == 1, "B", "A"),
        "clinic": clinic,
        "prior_cost": np.round(prior, 2),
        "sbp": np.round(130 + 9 * N + rng.normal(0, 12, n)).astype(int),
        "hba1c": np.round(6.0 + 0.7 * N + rng.normal(0, 0.5, n), 1),
        "creatinine": np.round(np.exp(0.1 + 0.25 * N + rng.normal(0, 0.15, n)), 2),
        "chronic_conditions": rng.poisson(np.exp(0.6 + 0.55 * N)),
        "high_cost": Y,
    })


if __name__ == "__main__":
    main().to_csv("datasets/care_management/care_management.csv", index=False, lineterminator="\n")
