"""Prices, order, budget and the stop rule: one implementation, the same answer for one case and a frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from acquire.engine.pricing import (BUDGET_SPENT, NOT_WORTH, NOTHING_LEFT, STOP_REASONS, CostTable, decide, price)
import acquire
from acquire import load_spec
from acquire.pipeline import rank_frame


def _decide(value, cost, rate=0.0, budget=None, candidate=None):
    value, cost = np.atleast_2d(np.asarray(value, float)), np.atleast_2d(np.asarray(cost, float))
    candidate = np.ones(value.shape, bool) if candidate is None else np.atleast_2d(candidate)
    return decide(value, cost, candidate, exchange_rate=rate, budget=budget)


def test_order_is_free_first_then_value_per_cost_then_value():
    d = _decide([0.01, 0.30, 0.20, 0.40, 0.05], [0.0, 3.0, 1.0, 4.0, 0.0])
    # free tests first (the more valuable first), then 0.2/1 > 0.3/3 = 0.4/4 (tie broken by value)
    assert d.order[0].tolist() == [4, 0, 2, 3, 1]
    assert int(d.recommended[0]) == 4


def test_budget_is_inclusive_and_dearer_tests_are_skipped():
    d = _decide([0.5, 0.01], [10.0, 1.0], budget=10.0)
    assert d.within_budget[0].tolist() == [True, True] and int(d.recommended[0]) == 0
    d = _decide([0.5, 0.01], [10.0, 1.0], budget=9.99)
    assert d.within_budget[0].tolist() == [False, True] and int(d.recommended[0]) == 1


def test_net_value_must_be_positive():
    d = _decide([0.1, 0.2], [1.0, 2.0], rate=0.1)  # net values exactly 0: not worth it
    assert int(d.recommended[0]) == -1 and d.stop_reason[0] == NOT_WORTH
    d = _decide([0.1, 0.2], [1.0, 2.0], rate=0.0999)  # equal value per cost: the larger value first
    assert int(d.recommended[0]) == 1
    np.testing.assert_allclose(d.net_value[0], [0.1 - 0.0999, 0.2 - 0.1998])


def test_stop_reasons():
    assert _decide(np.zeros((1, 0)), np.zeros((1, 0))).stop_reason[0] == NOTHING_LEFT
    assert _decide([0.3], [1.0], candidate=[[False]]).stop_reason[0] == NOTHING_LEFT
    assert _decide([0.3], [5.0], budget=1.0).stop_reason[0] == BUDGET_SPENT
    assert _decide([0.3], [5.0], rate=1.0).stop_reason[0] == NOT_WORTH
    assert _decide([0.3], [5.0]).stop_reason[0] is None
    assert set(STOP_REASONS) == {NOTHING_LEFT, BUDGET_SPENT, NOT_WORTH}


SPEC = {
    "target": {"name": "y", "kind": "binary", "classes": [0, 1]},
    "groups": {"blood": {"shared_cost": 2.10}},
    "features": [
        {"name": "glu", "type": "continuous", "cost": 15.51, "group": "blood"},
        {"name": "ins", "type": "continuous", "cost": 20.68, "group": "blood"},
        {"name": "bmi", "type": "continuous", "cost": 1.0},
        {"name": "p1", "type": "continuous", "cost": 3.0, "panel": "lipids"},
        {"name": "p2", "type": "continuous", "cost": 4.0, "panel": "lipids", "group": "blood"},
    ],
}


def test_shared_costs_are_charged_once_even_for_a_test_that_came_back_empty():
    spec = load_spec(SPEC)
    units = {u.name: u for u in spec.units()}
    assert price(spec, units["glu"], []) == pytest.approx(17.61)
    assert price(spec, units["glu"], ["ins"]) == pytest.approx(15.51)              # blood already drawn
    assert price(spec, units["glu"], [], tried=["ins"]) == pytest.approx(15.51)    # drawn, came back empty
    assert price(spec, units["ins"], []) == pytest.approx(22.78)
    assert price(spec, units["lipids"], ["bmi"]) == pytest.approx(9.10)            # a panel: whole, plus the draw
    assert price(spec, units["lipids"], ["glu"]) == pytest.approx(7.0)
    assert price(spec, units["blood"], []) == pytest.approx(15.51 + 20.68 + 3 + 4 + 2.10)
    assert price(spec, units["blood"], ["glu"]) == pytest.approx(20.68 + 3 + 4)
    table = CostTable(spec, list(units.values()))
    names = spec.feature_names
    open_ = np.ones((3, len(names)), bool)
    acquired = np.zeros((3, len(names)), bool)
    open_[1, names.index("ins")] = acquired[1, names.index("ins")] = True   # measured: not open, paid
    open_[1, names.index("ins")] = False
    open_[2, names.index("glu")] = False                                     # tried without a result
    acquired[2, names.index("glu")] = True
    costs = table.costs(open_, acquired)
    blood = list(units).index("blood")
    assert costs[:2, list(units).index("glu")].tolist() == pytest.approx([17.61, 15.51])
    assert costs[[0, 2], list(units).index("ins")].tolist() == pytest.approx([22.78, 20.68])
    # the group candidate charges its open members and the draw once
    assert costs[:, blood].tolist() == pytest.approx([15.51 + 20.68 + 3 + 4 + 2.10, 15.51 + 3 + 4, 20.68 + 3 + 4])


@pytest.fixture(scope="module")
def bc_model(breast_cancer):
    frame, spec = breast_cancer
    return acquire.fit_model(frame, spec, seed=0, holdout=0, predictor_params={"n_estimators": 60})


BUDGETS = [None, 1.0, 16.0, 30.0]
RATES = [0.0, 0.005, 0.05]


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("rate", RATES)
def test_one_case_and_a_frame_agree_with_budgets_and_rates(breast_cancer, bc_model, budget, rate):
    """Breast cancer has a panel and a shared-cost group: prices, order and stops must match."""
    frame, spec = breast_cancer
    cases = frame[spec.feature_names].iloc[:8].copy()
    rng = np.random.default_rng(0)
    cases = cases.mask(rng.uniform(size=cases.shape) < 0.5)
    opts = dict(budget=budget, exchange_rate=rate, include_groups=True, n_draws=128, n_replicates=8)
    long = rank_frame(bc_model, cases, view="long", **opts)
    nxt = rank_frame(bc_model, cases, view="next", **opts)
    ranker = bc_model.ranker(**opts)
    for i, (idx, row) in enumerate(cases.iterrows()):
        ranking = ranker.rank(row.dropna().to_dict())
        mine = long[long["row"] == idx]
        assert list(mine["feature"]) == [c.feature for c in ranking.candidates]
        np.testing.assert_allclose(mine["cost"], [c.cost for c in ranking.candidates])
        np.testing.assert_allclose(mine["value"], [c.value for c in ranking.candidates], rtol=1e-12)
        np.testing.assert_allclose(mine["net_value"], [c.net_value for c in ranking.candidates], rtol=1e-12)
        assert list(mine["within_budget"]) == [c.within_budget for c in ranking.candidates]
        picked = mine.loc[mine["recommended"], "feature"].tolist()
        assert picked == ([] if ranking.stop else [ranking.recommendation])
        assert (nxt.loc[idx, "next_test"] if not pd.isna(nxt.loc[idx, "next_test"]) else None) == ranking.recommendation
        assert (None if pd.isna(nxt.loc[idx, "stop_reason"]) else nxt.loc[idx, "stop_reason"]) == ranking.stop_reason
        if budget is not None:
            assert all(c.within_budget == (c.cost <= budget) for c in ranking.candidates)


def test_the_rules_bite_on_a_frame(pima, pima_model):
    """A budget below a test's price keeps it from being recommended; a high rate stops every case."""
    frame, spec = pima
    cases = frame[spec.feature_names].iloc[:20].assign(glu=np.nan)
    free = rank_frame(pima_model, cases, view="long", include_groups=False)
    capped = rank_frame(pima_model, cases, view="long", include_groups=False, budget=17.0)
    glu_free = free[(free["feature"] == "glu")]
    glu_capped = capped[(capped["feature"] == "glu")]
    assert glu_free["within_budget"].all() and not glu_capped["within_budget"].any()
    assert not capped.loc[capped["recommended"], "feature"].eq("glu").any()
    stopped = rank_frame(pima_model, cases, view="next", exchange_rate=1e6)
    assert stopped["stop"].all() and (stopped["stop_reason"] == NOT_WORTH).all()


def test_the_engine_charges_no_second_aspirate_after_an_empty_result(breast_cancer, bc_model):
    """A test ordered that came back without a result paid the shared aspirate: the next one does not pay it."""
    _, spec = breast_cancer
    ranker = bc_model.ranker(include_groups=False, n_draws=64)
    x = np.full(len(spec.feature_names), np.nan)
    fresh = {c.feature: c.cost for c in ranker.rank_encoded(x).candidates}
    tried = ranker.rank_encoded(x, unavailable=["mean_radius"])
    after = {c.feature: c.cost for c in tried.candidates}
    assert "mean_radius" not in {m for c in tried.candidates for m in c.members}
    for name, cost in after.items():
        assert cost == pytest.approx(fresh[name] - 100.0)
