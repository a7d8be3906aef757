"""Policies and simulation: what a policy may see, budgets, shared costs, curves, seeding."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import roc_auc_score

from acquire.cli import cli
from acquire.policies import Policy, make_policy
from acquire.metrics import auroc_rows
from acquire.simulate import run_policy, simulate


def test_vectorized_auroc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    scores = np.round(rng.uniform(size=(5, 300)), 1)  # many ties
    np.testing.assert_allclose(auroc_rows(y, scores), [roc_auc_score(y, s) for s in scores], atol=1e-12)


class Spy(Policy):
    """Records what it is shown, then buys the cheapest open test."""

    name = "spy"

    def __init__(self, truth):
        self.truth, self.seen = truth, []

    def choose(self, state):
        self.seen.append(state.x.copy())
        options = sorted(self._affordable(state, self._open_units(state)), key=lambda uc: uc[1])
        return (options[0][0], 0.0) if options else None


def test_a_policy_sees_only_what_it_bought(pima_model, pima):
    frame, spec = pima
    X = spec.encode(frame.head(5))
    spy = Spy(X).fit(pima_model, X)
    log = run_policy(pima_model, spy, X, budget=3.0)
    for x in spy.seen:  # everything shown is either NaN or a value the policy already bought
        assert np.all(np.isnan(x) | np.isin(x, X))
    assert log.groupby("case")["cumulative_cost"].max().max() <= 3.0  # the hard budget
    assert (log.groupby("case")["step"].max() == 3).all()  # three tests at 1.00 each


@pytest.fixture(scope="module")
def pima_sim(pima):
    frame, spec = pima
    return simulate(frame, spec, ["greedy", "static", "random", "all"], seed=0, n_boot=30, max_cases=60)


def test_simulation_curves_and_summary(pima_sim, pima):
    sim = pima_sim
    assert sim.split["n_train"] == 372 and sim.split["n_test"] == 60  # 70/30 split; 60 held-out cases simulated
    assert set(sim.summary["policy"]) == {"greedy", "static", "random", "all"}
    start = sim.curves[sim.curves["cost"] == 0]
    assert np.allclose(start["metric"], 0.5)  # no test bought: one prediction for everyone
    full = sim.summary.set_index("policy").loc["all", "final_auroc"]
    assert full == pytest.approx(sim.full_metric)  # buying everything gives the all-features AUROC
    for name, curve in sim.curves.groupby("policy"):
        area = np.trapezoid(curve["metric"], curve["cost"]) / curve["cost"].max()
        assert sim.summary.set_index("policy").loc[name, "normalized_auc"] == pytest.approx(area)
        assert np.all(curve["lo"] <= curve["metric"] + 1e-12) and np.all(curve["metric"] <= curve["hi"] + 1e-12)
    greedy = sim.summary.set_index("policy").loc["greedy"]
    assert greedy["mean_cost"] < sim.total_cost  # it stops when no test pays for itself
    assert greedy["normalized_auc"] > sim.summary.set_index("policy").loc["all", "normalized_auc"]


def test_simulation_is_seeded(pima):
    frame, spec = pima
    a = simulate(frame, spec, ["random", "greedy"], seed=3, n_boot=10, max_cases=25)
    b = simulate(frame, spec, ["random", "greedy"], seed=3, n_boot=10, max_cases=25)
    assert a.steps.equals(b.steps) and a.summary.equals(b.summary)


def test_shared_group_costs_in_simulation(breast_cancer):
    frame, spec = breast_cancer
    sim = simulate(frame, spec, ["all"], seed=0, n_boot=10, max_cases=5,
                   predictor_params={"n_estimators": 30})
    first = sim.steps[sim.steps["step"] == 1]["cost"]
    later = sim.steps[sim.steps["step"] > 1]["cost"]
    assert (first > 100).all()  # the first panel pays for the aspirate
    assert (later < 10).all()  # later panels pay only their own image analysis
    assert sim.steps.groupby("case")["cumulative_cost"].max().iloc[0] == pytest.approx(sim.total_cost)


def test_unknown_policy_is_a_clear_error():
    with pytest.raises(Exception, match="unknown policy 'smart'"):
        make_policy("smart")


def test_simulate_cli_writes_frame_summary_and_plots(tmp_path):
    out = tmp_path / "sim"
    result = CliRunner().invoke(cli, ["simulate", "--dataset", "pima", "--policies", "greedy,random", "--bootstrap", "10",
                                      "--out", str(out), "-q", "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["metric"] == "auroc" and {p["policy"] for p in summary["policies"]} == {"greedy", "random"}
    for name in ("steps.csv", "steps.parquet", "curves.csv", "summary.json", "curves.png", "costs.png", "tests.png",
                 "curves.svg", "tests.svg"):
        assert (out / name).stat().st_size > 100, name
    bad = CliRunner().invoke(cli, ["simulate", "--dataset", "pima", "--policies", "smart"])
    assert bad.exit_code == 2 and bad.output.startswith("Error: unknown policy 'smart'")


def test_frontier_spends_less_as_the_exchange_rate_grows(pima):
    from acquire.simulate import frontier

    frame, spec = pima
    front = frontier(frame, spec, rates=[0.0, 1e-9, 0.005, 1.0], max_cases=40, seed=0)
    assert list(front["exchange_rate"]) == [0.0, 1e-9, 0.005, 1.0]
    costs = front["mean_cost"].to_numpy()
    assert costs[0] == costs[1] == pytest.approx(23.61) and costs[1] >= costs[2] >= costs[3] == 0.0
    assert front["auroc"].iloc[3] == 0.5 and front["auroc"].iloc[0] > 0.75
    # each point's change from the next cheaper one, with a paired interval: the two rates that buy every
    # test give the same predictions, so on the same resamples their change is exactly 0 (unpaired, it is not)
    auroc = front["auroc"].to_numpy()
    assert np.isnan(front["auroc_change"].iloc[3])  # the cheapest
    assert front[["auroc_change", "auroc_change_lo", "auroc_change_hi"]].iloc[1].tolist() == [0.0, 0.0, 0.0]
    assert front["auroc_change"].iloc[2] == pytest.approx(auroc[2] - auroc[3])
    assert front["auroc_change"].iloc[0] == pytest.approx(auroc[0] - auroc[2])
    for i in (0, 2):
        assert front["auroc_change_lo"].iloc[i] < front["auroc_change"].iloc[i] < front["auroc_change_hi"].iloc[i]
    assert front["auroc_change_lo"].iloc[2] > 0  # buying tests beats buying none, measurably


def test_parallel_cases_give_the_same_log(pima_model, pima):
    frame, spec = pima
    X = spec.encode(frame.head(12))
    one = run_policy(pima_model, make_policy("random").fit(pima_model, X), X, seed=1)
    two = run_policy(pima_model, make_policy("random").fit(pima_model, X), X, seed=1, n_jobs=2)
    assert one.drop(columns="prediction").equals(two.drop(columns="prediction"))
    np.testing.assert_allclose(np.stack(one["prediction"]), np.stack(two["prediction"]))


def test_lookahead_buys_a_pair_that_greedy_never_starts():
    """y = a XOR b: each test alone is worth nothing, together they decide y."""
    import importlib.util
    from pathlib import Path

    import acquire
    from acquire import load_spec

    here = Path(__file__).resolve().parent
    module = importlib.util.spec_from_file_location("shapley_tests", here / "test_shapley.py")
    shapley_tests = importlib.util.module_from_spec(module)
    module.loader.exec_module(shapley_tests)
    world = shapley_tests.XorWorld()
    model = acquire.Model(load_spec(shapley_tests.XOR_SPEC), world, world)
    X = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    greedy = run_policy(model, make_policy("greedy").fit(model, X), X)
    assert (greedy["step"] == 0).all()  # nothing alone is worth its cost: greedy stops at once
    ahead = run_policy(model, make_policy("lookahead").fit(model, X), X)
    bought = ahead[ahead["step"] > 0].groupby("case")["acquired"].apply(set)
    assert all(b == {"a", "b"} for b in bought) and len(bought) == 3  # the pair, never the noise
    last = ahead.sort_values("step").groupby("case").tail(1)
    assert np.allclose([p[1] for p in last["prediction"]], [1.0, 0.0, 0.0])  # y = a XOR b, now known


def test_cross_fitting_holds_every_case_out_once_per_repeat(pima):
    frame, spec = pima
    sim = simulate(frame, spec, ["static"], folds=4, repeats=2, seed=0, n_boot=10, predictor="xgboost")
    start = sim.steps[sim.steps["step"] == 0]
    assert len(start) == 2 * len(frame)  # every row, once per repeat
    for r in (0, 1):
        assert sorted(start.loc[start["repeat"] == r, "row"]) == list(range(len(frame)))
    assert sim.split == {"seed": 0, "repeats": 2, "n_train": 399, "n_test": 1064, "folds": 4,
                         "exchange_rates": {"static": spec.exchange_rate("eig")}}
    assert 0.75 < sim.full_metric < 0.9


def test_a_test_missing_in_the_data_is_paid_once_and_not_reordered():
    """Regression: a policy that orders a test whose value is missing in the row must not loop forever."""
    import acquire
    from acquire import datasets
    from acquire.policies import make_policy
    from acquire.simulate import run_policy

    frame, spec = datasets.load("pbc")
    model = acquire.fit_model(frame, spec, predictor="xgboost", seed=0, holdout=0, predictor_params={"n_estimators": 40})
    X = spec.encode(frame)
    rows = X[np.isnan(X).any(axis=1)][:3]  # cases with tests that were never done
    log = run_policy(model, make_policy("greedy").fit(model, X), rows)
    for _, steps in log.groupby("case"):
        bought = steps["acquired"].dropna()
        assert bought.is_unique  # nothing ordered twice


def test_greedy_keeps_each_case_within_its_own_budget(pima_model, pima):
    """Cases stepped together each get their own money left: none overspends, and the budget bites."""
    frame, spec = pima
    X = spec.encode(frame.head(40))
    free = run_policy(pima_model, make_policy("greedy").fit(pima_model, X), X)
    capped = run_policy(pima_model, make_policy("greedy").fit(pima_model, X), X, budget=3.0)
    spent_free = free.groupby("case")["cumulative_cost"].max()
    spent_capped = capped.groupby("case")["cumulative_cost"].max()
    assert (spent_free > 3.0).any()  # without a budget some cases buy the 17.61 glucose test
    assert (spent_capped <= 3.0 + 1e-9).all() and (spent_capped > 0).all()
