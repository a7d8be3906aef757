"""Generates kidney_treatment.csv from a documented causal model (run once; the CSV is committed).

    python datasets/kidney_treatment/generate.py

severity S ~ N(0, 1), latent
group G ~ Bernoulli(0.3)                               (sensitive attribute)
age = 60 + 8 S + N(0, 8)
creatinine = exp(0.2 + 0.35 S + N(0, 0.15))           (mg/dL; measures severity)
albumin = 3.8 − 0.35 S + N(0, 0.3)                     (g/dL; measures severity)
neighborhood_income = 55 − 20 G + N(0, 8)              (k$; a proxy of G, no effect on Y)
aggressive_treatment T ~ Bernoulli(sigmoid(2.5 S − 1)) (chosen for the sickest)
death Y ~ Bernoulli(sigmoid(−1.2 + 1.6 S − 0.9 T))     (treatment truly helps: log-odds −0.9)
icu_days = Poisson(2 + 6 Y)                            (known only after the decision; leaks Y)
"""

import numpy as np
import pandas as pd


def main(n: int = 4000, seed: int = 20261124, planted: bool = True) -> pd.DataFrame:
    """The cohort; ``planted=False`` gives the clean twin used to count false positives: treatment
    given at random (still helping), icu_days unrelated to death, income unrelated to group."""
    rng = np.random.default_rng(seed)
    b = int(planted)
    S = rng.normal(size=n)
    G = rng.binomial(1, 0.3, n)
    sig = lambda z: 1 / (1 + np.exp(-z))
    T = rng.binomial(1, sig(2.5 * S * b - 1))
    Y = rng.binomial(1, sig(-1.2 + 1.6 * S - 0.9 * T))
    frame = pd.DataFrame({
        "age": np.round(60 + 8 * S + rng.normal(0, 8, n)).clip(18, 100),
        "creatinine": np.round(np.exp(0.2 + 0.35 * S + rng.normal(0, 0.15, n)), 2),
        "albumin": np.round(3.8 - 0.35 * S + rng.normal(0, 0.3, n), 2),
        "neighborhood_income": np.round(55 - 20 * G * b + rng.normal(0, 8, n), 1),
        "group": np.where(G == 1, "B", "A"),
        "aggressive_treatment": T,
        "icu_days": rng.poisson(2 + 6 * Y if planted else np.full(n, 4)),
        "death": Y,
    })
    return frame


if __name__ == "__main__":
    main().to_csv("datasets/kidney_treatment/kidney_treatment.csv", index=False, lineterminator="\n")
