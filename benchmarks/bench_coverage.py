"""Coverage of the 95 % intervals (value ∓ t_dof·se) the engine reports, on targets known exactly.

    python benchmarks/bench_coverage.py

Prints, per estimator: repeats, intervals, coverage, and the estimates' spread over the mean reported
se (1.0 = the se is right). Targets: exact Shapley values of a 10-player game with interactions
(KernelSHAP, permutation), of a 6-player game whose coalition values are 8 noisy replicates
("enumerated"), the exact single-test EIG of the pima tree model (Monte Carlo ranking), and the
single-test EIG the copula classifier's quadrature gives (its set estimator, Monte Carlo on the
class scores, handed one-test sets).
The same games are asserted in tests/test_coverage.py (coverage within 90-98 %).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
warnings.filterwarnings("ignore")

from test_coverage import Interacting, NoisyReplicates, MAIN  # noqa: E402

import acquire  # noqa: E402
from acquire import datasets  # noqa: E402
from acquire.engine.shapley import shapley_values  # noqa: E402


def row(name, values, lower, upper, se, truth, dof):
    values, lower, upper, se = map(np.asarray, (values, lower, upper, se))
    cover = ((lower <= truth) & (truth <= upper)).mean()
    print(f"{name:<34} {len(values):>7} {values.size:>9} {cover:>8.1%} {values.std(axis=0).mean() / se.mean():>10.2f} {dof:>4}")


def main() -> None:
    print(f"{'estimator':<34} {'repeats':>7} {'intervals':>9} {'coverage':>8} {'spread/se':>10} {'dof':>4}")
    truth = shapley_values(Interacting(), method="exact").values
    for method, options in (("kernel", {"n_coalitions": 160}), ("permutation", {"n_permutations": 16})):
        runs = [shapley_values(Interacting(), method=method, seed=s, **options) for s in range(500)]
        row(f"Shapley {method} (10 players)", [r.values for r in runs], [r.ci_lower for r in runs],
            [r.ci_upper for r in runs], [r.se for r in runs], truth, int(runs[0].dof[0]))
    game = NoisyReplicates(0)
    z = ((np.arange(64)[:, None] >> np.arange(6)) & 1).astype(float)
    exact_v = z @ MAIN[:6] + 0.3 * z[:, 0] * z[:, 1]
    game._evaluate = lambda masks: (exact_v[masks][None, :], exact_v[masks])
    truth6 = shapley_values(game, method="exact").values
    runs = [shapley_values(NoisyReplicates(s), method="exact") for s in range(500)]
    row("Shapley enumerated (MC coalitions)", [r.values for r in runs], [r.ci_lower for r in runs],
        [r.ci_upper for r in runs], [r.se for r in runs], truth6, int(runs[0].dof[0]))
    frame, spec = datasets.load("pima")
    model = acquire.fit_model(frame.drop(index=0), spec, predictor="xgboost", seed=0, holdout=0)
    case = {"age": 24.0, "bmi": 30.2}
    exact = {c.feature: c.value for c in model.rank(case, method="exact").candidates}
    names = sorted(exact)
    rows = [{c.feature: c for c in model.rank(case, method="mc", n_draws=512, seed=s).candidates} for s in range(500)]
    get = lambda a: [[getattr(r[n], a) for n in names] for r in rows]  # noqa: E731
    row("EIG Monte Carlo (pima, 5 tests)", get("value"), get("ci_lower"), get("ci_upper"), get("se"),
        np.array([exact[n] for n in names]), rows[0][names[0]].dof)
    from acquire.engine.class_gaussian import ClassGaussianEstimator, ClassGaussianSetEstimator

    copula = acquire.fit_model(frame, spec, predictor="copula", holdout=0)
    parts = []
    for case in ({"age": 40.0, "bmi": 31.0}, {}, {"glu": 150.0, "npreg": 2, "ped": 0.4}):
        x = spec.encode_case(case)[None, :]
        sets = [[j] for j in np.flatnonzero(np.isnan(x[0]))]
        cells = np.ones((1, len(sets)), bool)
        truth_c = ClassGaussianEstimator(copula.ranker()).estimate(x, sets, cells, np.isnan(x)).value[0]
        est = [ClassGaussianSetEstimator(copula.ranker(seed=s)).estimate(x, sets, cells, np.isnan(x)) for s in range(500)]
        parts.append(([e.value[0] for e in est], [e.interval()[0][0] for e in est], [e.interval()[1][0] for e in est],
                      [e.se[0] for e in est], truth_c))
    joined = [np.concatenate([np.asarray(part[k]) for part in parts], axis=-1) for k in range(5)]
    row("EIG copula sets (pima, 16 tests)", *joined, 7)


if __name__ == "__main__":
    main()
