"""The BALD split of Pima row 0 as the training set grows (50, 200, 532 rows).

    python benchmarks/bayes_bald.py

Row 0 with age, bmi and npreg observed is ranked by a Bayesian GLM (NUTS) fitted on the other
rows (a seeded subsample of 50 and 200, then all 531). Printed per size: the current predictive
entropy split into aleatoric + epistemic (I(y; θ | x_o)), and each test's EIG split into its
aleatoric part (≥ 0) and its epistemic part (≤ 0; see acquire.posterior_value).
"""

from __future__ import annotations

import time
import warnings

import acquire
from acquire import datasets


def main() -> None:
    frame, spec = datasets.load("pima")
    case = {c: frame.loc[0, c] for c in ("age", "bmi", "npreg")}
    rest = frame.drop(index=0)
    print(f"Pima row 0, observed {case}")
    print(f"{'rows':>5} {'fit s':>6} {'entropy':>8} {'aleatoric':>9} {'epistemic':>9} | "
          f"{'test':>5} {'EIG':>8} {'aleatoric':>9} {'epistemic':>10}")
    for n in (50, 200, len(rest)):
        train = rest.sample(n, random_state=0) if n < len(rest) else rest
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = acquire.fit_model(train, spec, predictor="bayes", seed=0, holdout=0)
        seconds = time.perf_counter() - start
        ranking = model.rank(case)
        now = ranking.current
        for i, c in enumerate(sorted(ranking.candidates, key=lambda c: c.feature)):
            head = (f"{n:>5} {seconds:>6.1f} {now['entropy']:>8.4f} {now['aleatoric']:>9.4f} {now['epistemic']:>9.5f}"
                    if i == 0 else " " * 42)
            print(f"{head} | {c.feature:>5} {c.value:>8.5f} {c.aleatoric:>9.5f} {c.epistemic:>10.6f}")


if __name__ == "__main__":
    main()
