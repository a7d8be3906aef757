"""Shapley estimators on one value-of-information game: ours vs shap and shapiq.

    pip install ".[bench]"        # shap, shapiq, lightgbm (for shapiq's ProxySPEX)
    python benchmarks/bench_shapley.py

The game: a breast_cancer case with 12 missing tests, v(S) = EIG of acquiring S (Monte Carlo with
common random numbers). Its exact Shapley values (all 2^12 coalitions) are the ground truth; the
time to compute them is the "exact VOI-Shapley for 12 candidates" figure. Every estimator then
plays the same game through a lookup of the cached coalition values, so the times compare the
estimators themselves. Printed per budget (coalition evaluations): RMSE against the exact values
and milliseconds per call (each method warmed up once per budget, untimed, then timed on 5 seeds); then, at equal error, how much faster ours is than shap's KernelExplainer, and how
our error compares with shapiq's best at equal budget.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

import acquire
from acquire import datasets
from acquire.shapley import Game, ValueOfInformationGame, shapley_values

warnings.filterwarnings("ignore")


class LookupGame(Game):
    def __init__(self, players, table):
        super().__init__()
        self.players, self.table = players, table

    def _evaluate(self, masks):
        return self.table[masks][None, :], self.table[masks]


def masks_of(Z: np.ndarray) -> np.ndarray:
    return (Z.astype(np.int64) << np.arange(Z.shape[1], dtype=np.int64)).sum(axis=1)


def main() -> None:
    frame, spec = datasets.load("breast_cancer")
    model = acquire.fit_model(frame, spec, seed=0, holdout=0)  # the default predictor (auto)
    row = frame.iloc[7]
    rng = np.random.default_rng(0)
    keep = rng.choice(spec.feature_names, size=18, replace=False)
    case = {k: row[k] for k in keep}
    ranker = model.ranker(n_draws=256, n_replicates=8, seed=0)
    warm = ValueOfInformationGame(ranker, case, include_panels=False)
    shapley_values(warm, method="permutation", n_permutations=4)  # compile
    t0 = time.perf_counter()
    game = ValueOfInformationGame(ranker, case, include_panels=False)
    exact = shapley_values(game, method="exact")
    t_exact = time.perf_counter() - t0
    m = len(exact.players)
    table = game.point(np.arange(1 << m))
    print(f"exact VOI-Shapley, {m} candidates, {1 << m} coalitions x 256 draws: {t_exact:.2f} s per case "
          f"(efficiency gap {exact.efficiency_gap:.1e})")
    truth = exact.values
    rmse = lambda phi: float(np.sqrt(np.mean((np.asarray(phi) - truth) ** 2)))
    f = lambda Z: table[masks_of(np.atleast_2d(np.asarray(Z)) > 0.5)]

    def ours(method, budget, seed):
        g = LookupGame(exact.players, table)
        if method == "permutation":
            r = shapley_values(g, method=method, n_permutations=max(2, 2 * (budget // (2 * (m - 1)))), seed=seed)
        else:
            r = shapley_values(g, method=method, n_coalitions=max(2 * m, budget), seed=seed)
        return r.values, g.n_evaluations

    def shap_kernel(budget, seed):
        import shap
        np.random.seed(seed)
        e = shap.KernelExplainer(f, np.zeros((1, m)))
        return e.shap_values(np.ones((1, m)), nsamples=budget, silent=True)[0], budget

    def shap_permutation(budget, seed):
        import shap
        e = shap.PermutationExplainer(lambda Z: f(Z), shap.maskers.Independent(np.zeros((1, m))), seed=seed)
        return e(np.ones((1, m)), max_evals=max(budget, 2 * m + 1)).values[0], budget

    def shapiq_method(name, **options):
        def run(budget, seed):
            import shapiq
            approx = getattr(shapiq, name)(n=m, random_state=seed, **options)
            iv = approx.approximate(budget=budget, game=lambda Z: f(Z))
            return np.array([iv[(i,)] for i in range(m)]), budget
        return run

    methods = {"ours: permutation (antithetic)": lambda b, s: ours("permutation", b, s),
               "ours: kernel": lambda b, s: ours("kernel", b, s),
               "shap KernelExplainer": shap_kernel, "shap PermutationExplainer": shap_permutation}
    for name in ("KernelSHAP", "PermutationSamplingSV", "SVARM", "StratifiedSamplingSV", "kADDSHAP"):
        methods[f"shapiq {name}"] = shapiq_method(name)
    # the regression and proxy-model families shapiq 1.4 ships (RegressionMSR and OddSHAP are not in it):
    # order-1 FSII is the Shapley value; ProxySPEX fits a LightGBM proxy to the sampled coalitions
    methods["shapiq RegressionFSII (order 1)"] = shapiq_method("RegressionFSII", max_order=1)
    methods["shapiq ProxySPEX (SV)"] = shapiq_method("ProxySPEX", index="SV")
    budgets = [128, 256, 512, 1024, 2048]
    results = {}
    print(f"\n{'method':34s}" + "".join(f"{b:>16d}" for b in budgets) + "   (RMSE / ms, mean of 5 seeds)")
    for name, fn in methods.items():
        cells = []
        for b in budgets:
            errs, times = [], []
            try:  # warm-up, untimed: first-call costs (imports, caches, JIT) are not the estimator's per-call time
                fn(b, 99)
            except Exception:
                pass
            for seed in range(5):
                try:
                    t0 = time.perf_counter()
                    phi, _ = fn(b, seed)
                    times.append(time.perf_counter() - t0)
                    errs.append(rmse(phi))
                except Exception:  # a peer that cannot run at this budget
                    errs.append(np.nan)
                    times.append(np.nan)
            results[(name, b)] = (float(np.mean(errs)), float(np.mean(times)))
            cells.append(f"{np.mean(errs):8.1e}/{1e3 * np.mean(times):6.1f}")
        print(f"{name:34s}" + "".join(f"{c:>16s}" for c in cells))

    target = min(results[("shap KernelExplainer", b)][0] for b in budgets)  # its best error at any budget

    def time_to(name):
        hits = [(results[(name, b)][1], b) for b in budgets if results[(name, b)][0] <= target]
        return min(hits) if hits else (np.nan, None)

    t_shap, b_shap = time_to("shap KernelExplainer")
    print(f"\nequal error: RMSE <= {target:.1e}, the best shap's KernelExplainer reaches at any budget here "
          f"({1e3 * t_shap:.1f} ms, {b_shap} evaluations)")
    for name in ("ours: kernel", "ours: permutation (antithetic)"):
        t, b = time_to(name)
        if b is None:
            print(f"  {name}: does not reach that error at any budget here")
            continue
        print(f"  {name}: {1e3 * t:.2f} ms, {b} evaluations: {t_shap / t:.1f}x faster, {b_shap / b:.1f}x fewer evaluations")
    for b in budgets:
        best_peer = min((results[(n, b)][0], n) for n in methods if n.startswith("shapiq") and not np.isnan(results[(n, b)][0]))
        best_ours = min((results[(n, b)][0], n) for n in methods if n.startswith("ours"))
        print(f"  budget {b:5d}: ours best {best_ours[0]:.2e} ({best_ours[1][6:]}) vs shapiq best {best_peer[0]:.2e} "
              f"({best_peer[1][7:]}): ratio {best_peer[0] / best_ours[0]:.2f}")


if __name__ == "__main__":
    main()
