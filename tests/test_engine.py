"""The value-of-information engine against closed forms and brute-force enumeration."""

import itertools

import numpy as np
import pytest
from scipy.special import ndtr

from acquire import AcquireError, DataError, load_spec
from acquire.estimators.gaussian import condition_gaussian, stable_cholesky
from acquire.engine import ValueOfInformation

# ---------------------------------------------------------------------------------------------
# Oracles: exact predictors and conditionals, so the engine's Monte Carlo is the only error.


class GaussianLinearWorld:
    """x ~ N(0, Σx), y = β·x + ε, ε ~ N(0, σ²): exact p(y | x_o) and p(x_M | x_o)."""

    kind_ = "continuous"

    def __init__(self, cov_x, beta, noise_sd):
        p = len(beta)
        self.cov_x = np.asarray(cov_x, float)
        self.joint = np.zeros((p + 1, p + 1))
        self.joint[:p, :p] = self.cov_x
        self.joint[:p, p] = self.joint[p, :p] = self.cov_x @ beta
        self.joint[p, p] = beta @ self.cov_x @ beta + noise_sd**2
        self.p = p
        self.n_features_in_ = p

    def predict_distribution(self, X):
        out = np.empty((len(X), 2))
        cache = {}
        for i, row in enumerate(X):
            obs = tuple(np.flatnonzero(~np.isnan(row)))
            if obs not in cache:
                o = np.array(obs, dtype=int)
                s_oo = self.joint[np.ix_(o, o)]
                w = np.linalg.solve(s_oo, self.joint[o, self.p]) if o.size else np.zeros(0)
                cache[obs] = (w, self.joint[self.p, self.p] - self.joint[self.p, o] @ w)
            w, v = cache[obs]
            out[i] = (row[list(obs)] @ w if obs else 0.0, v)
        return out

    def sample_from_normals(self, x, normals):
        observed = np.flatnonzero(~np.isnan(x))
        mu, cov = condition_gaussian(np.zeros(self.p), self.cov_x, observed, x[observed])
        out = np.broadcast_to(x, normals.shape[:-1] + (self.p,)).copy()
        out[..., np.isnan(x)] = mu + normals @ stable_cholesky(cov).T
        return out


def gaussian_spec(p):
    return load_spec({"target": {"name": "y", "kind": "continuous"},
                      "features": [{"name": f"x{j}", "type": "continuous", "cost": 1.0} for j in range(p)],
                      "use_case": {"kind": "risk_prediction", "nats_per_cost": 0.0}})


@pytest.mark.parametrize("observed, candidate, signal, noise", [
    ({}, "x0", 4.0, 2.0),          # y = 2·x0 + x1 + ε: x1 and ε are the noise
    ({}, "x1", 1.0, 5.0),
    ({"x1": 0.7}, "x0", 4.0, 1.0),
    ({"x0": -1.0}, "x1", 1.0, 1.0),
])
def test_gaussian_eig_matches_closed_form(observed, candidate, signal, noise):
    world = GaussianLinearWorld(np.eye(2), np.array([2.0, 1.0]), 1.0)
    engine = ValueOfInformation(predictor=world, conditional=world, spec=gaussian_spec(2), seed=0)
    ranking = engine.rank(observed)
    got = {c.feature: c for c in ranking.candidates}[candidate]
    exact = 0.5 * np.log(1 + signal / noise)
    assert abs(got.value - exact) <= 3 * got.se + 1e-12
    assert got.value == pytest.approx(exact, rel=0.01)


def test_gaussian_eig_correlated_features():
    cov = np.array([[1.0, 0.5, 0.2], [0.5, 1.0, -0.3], [0.2, -0.3, 1.0]])
    beta = np.array([1.0, -0.5, 2.0])
    world = GaussianLinearWorld(cov, beta, 0.8)
    engine = ValueOfInformation(predictor=world, conditional=world, spec=gaussian_spec(3), seed=4)
    x_o = {"x1": 0.3}
    for c in engine.rank(x_o).candidates:
        cols = [int(m[1:]) for m in c.members]
        before = world.predict_distribution(np.array([[np.nan, 0.3, np.nan]]))[0, 1]
        row = np.array([np.nan, 0.3, np.nan]); row[cols] = 0.0
        after = world.predict_distribution(row[None])[0, 1]  # variance does not depend on the value
        exact = 0.5 * np.log(before / after)
        # the entropy of the draws' Gaussian mixture is a plug-in: biased low by O(1/draws), as H(p̄) is
        # for classes (0.0006 nats here, mean over 12 seeds); the bound allows it beside 3 se
        assert abs(c.value - exact) <= 3 * c.se + 0.002 and c.value == pytest.approx(exact, rel=0.01)


class DiscreteWorld:
    """Three binary features and a binary outcome, with an exact joint table.

    x0 determines y (y = x0), x1 is informative, x2 is pure noise (independent of all else).
    """

    kind_ = "binary"
    n_features_in_ = 3

    def __init__(self):
        self.table = {}
        for x0, x1, x2, y in itertools.product([0, 1], repeat=4):
            p_x0 = 0.3 if x0 else 0.7
            p_x1 = (0.8 if x1 else 0.2) if x0 else (0.25 if x1 else 0.75)
            self.table[(x0, x1, x2, y)] = p_x0 * p_x1 * 0.5 * (1.0 if y == x0 else 0.0)

    def joint(self, fixed):
        """P(x, y) restricted to configurations agreeing with ``fixed`` (index → value)."""
        return {k: v for k, v in self.table.items() if all(k[j] == val for j, val in fixed.items())}

    def posterior(self, fixed):
        sub = self.joint(fixed)
        p1 = sum(v for k, v in sub.items() if k[3] == 1)
        return np.array([1 - p1 / sum(sub.values()), p1 / sum(sub.values())])

    def predict_distribution(self, X):
        return np.array([self.posterior({j: int(v) for j, v in enumerate(row) if not np.isnan(v)}) for row in X])

    def configs(self, x):
        """Missing-feature configurations with their probabilities given the observed ones."""
        missing = list(np.flatnonzero(np.isnan(x)))
        fixed = {j: int(x[j]) for j in np.flatnonzero(~np.isnan(x))}
        sub = self.joint(fixed)
        total = sum(sub.values())
        out = []
        for vals in itertools.product([0, 1], repeat=len(missing)):
            pr = sum(v for k, v in sub.items() if all(k[m] == a for m, a in zip(missing, vals)))
            out.append((dict(zip(missing, vals)), pr / total))
        return out

    def sample_from_normals(self, x, normals):
        configs = self.configs(x)
        cum = np.cumsum([p for _, p in configs])
        pick = np.minimum(np.searchsorted(cum, ndtr(normals[..., 0]), side="right"), len(configs) - 1)
        out = np.broadcast_to(x, normals.shape[:-1] + (3,)).copy()
        for i, (cfg, _) in enumerate(configs):
            for j, v in cfg.items():
                out[..., j][pick == i] = v
        return out


DISCRETE_SPEC = {
    "target": {"name": "y", "kind": "binary", "classes": [0, 1]},
    "features": [{"name": f"x{j}", "type": "binary", "cost": 1.0} for j in range(3)],
    "use_case": {"kind": "treatment", "actions": ["wait", "treat"], "utility": [[0.0, -10.0], [-2.0, -3.0]],
                 "nats_per_cost": 0.0, "cost_per_utility": 1e-12},
}


def brute_force(world, x, cols, U):
    """Exact EIG and EVSI of observing features ``cols`` by enumerating their values."""
    h = lambda p: -sum(v * np.log(v) for v in p if v > 0)
    now = world.posterior({j: int(x[j]) for j in np.flatnonzero(~np.isnan(x))})
    eig, informed = h(now), 0.0
    for vals in itertools.product([0, 1], repeat=len(cols)):
        fixed = {j: int(x[j]) for j in np.flatnonzero(~np.isnan(x))} | dict(zip(cols, vals))
        sub = world.joint(fixed)
        pr = sum(sub.values()) / sum(world.joint({j: int(x[j]) for j in np.flatnonzero(~np.isnan(x))}).values())
        if pr == 0:
            continue
        post = world.posterior(fixed)
        eig -= pr * h(post)
        informed += pr * max(U @ post)
    return eig, informed - max(U @ now)


@pytest.mark.parametrize("observed", [{}, {"x1": 1}, {"x2": 0}, {"x1": 0, "x2": 1}])
@pytest.mark.parametrize("objective", ["eig", "evsi"])
def test_discrete_values_match_enumeration(observed, objective):
    world = DiscreteWorld()
    spec = load_spec(DISCRETE_SPEC)
    engine = ValueOfInformation(predictor=world, conditional=world, spec=spec, objective=objective, seed=1)
    x = np.array([observed.get(f"x{j}", np.nan) for j in range(3)], dtype=float)
    for c in engine.rank(observed).candidates:
        cols = [int(m[1:]) for m in c.members]
        eig, evsi = brute_force(world, x, cols, spec.utility)
        exact = eig if objective == "eig" else evsi
        assert abs(c.value - exact) <= max(3 * c.se, 2e-3 * max(exact, 1.0)), (c.feature, c.value, exact, c.se)


def test_noise_and_determining_features():
    world = DiscreteWorld()
    engine = ValueOfInformation(predictor=world, conditional=world, spec=load_spec(DISCRETE_SPEC), seed=2)
    values = {c.feature: c for c in engine.rank({"x1": 1}).candidates}
    h_now = -sum(p * np.log(p) for p in world.posterior({1: 1}))
    assert values["x2"].value == pytest.approx(0.0, abs=1e-12)          # pure noise
    assert values["x0"].value == pytest.approx(h_now, rel=0.01)          # determines y: all of H(Y | x_o)
    assert abs(values["x0"].value - h_now) <= 3 * values["x0"].se + 1e-3


def test_evsi_is_zero_when_no_result_changes_the_action():
    spec = dict(DISCRETE_SPEC, use_case={"kind": "treatment", "actions": ["wait", "treat"],
                                         "utility": [[0.0, -1.0], [-5.0, -6.0]], "cost_per_utility": 1e-12})  # waiting always wins
    engine = ValueOfInformation(predictor=DiscreteWorld(), conditional=DiscreteWorld(), spec=load_spec(spec),
                                objective="evsi", seed=0)
    ranking = engine.rank({})
    assert all(c.value == 0.0 and c.se == 0.0 for c in ranking.candidates)
    assert ranking.stop is True and ranking.recommendation is None


def test_same_seed_same_ranking_and_seed_changes_draws():
    world = GaussianLinearWorld(np.eye(2), np.array([2.0, 1.0]), 1.0)
    rank = lambda seed: ValueOfInformation(predictor=world, conditional=world, spec=gaussian_spec(2), seed=seed).rank({}).to_dict()
    assert rank(3) == rank(3)
    assert rank(3)["candidates"][0]["value"] != rank(4)["candidates"][0]["value"]


def test_pima_ranking_prices_and_stop_rules(pima_model):
    ranking = pima_model.rank({"age": 24, "bmi": 30.2, "npreg": 5}, seed=0)
    costs = {c.feature: c.cost for c in ranking.candidates}
    assert costs == {"glu": pytest.approx(17.61), "bp": 1.0, "skin": 1.0, "ped": 1.0}
    for c in ranking.candidates:
        assert c.value >= 0 and c.se >= 0 and c.net_value == pytest.approx(c.value - c.cost * 0.005)
        assert c.value_per_cost == pytest.approx(c.value / c.cost)
    ratios = [c.value_per_cost for c in ranking.candidates]
    assert ratios == sorted(ratios, reverse=True)
    # glucose carries the most information about diabetes
    assert max(ranking.candidates, key=lambda c: c.value).feature == "glu"
    # a prohibitive exchange rate stops; so does a budget below every price
    assert pima_model.rank({"age": 24}, exchange_rate=10.0).stop_reason == "no affordable candidate has positive net value"
    spent = pima_model.rank({"age": 24}, budget=0.5)
    assert spent.stop and spent.recommendation is None and "budget" in spent.stop_reason
    tight = pima_model.rank({"age": 24}, budget=5.0)
    assert {c.feature for c in tight.candidates if not c.within_budget} == {"glu"}
    assert tight.recommendation != "glu"
    everything = pima_model.rank({n: 1.0 for n in ["npreg", "bp", "skin", "ped"]} | {"glu": 120, "bmi": 30, "age": 40})
    assert everything.stop and everything.stop_reason == "nothing left to measure" and everything.candidates == []


def test_evsi_on_pima_is_nonnegative_and_in_utility_units(pima_model):
    ranking = pima_model.rank({"age": 45, "bmi": 33.0}, objective="evsi", seed=1)
    assert ranking.current["best_action"] in ("reassure", "refer")
    for c in ranking.candidates:
        assert c.value >= -3 * c.se
        assert c.net_value == pytest.approx(c.value - c.cost * 1.0)


def test_engine_rejects_bad_parameters(pima_model):
    with pytest.raises(AcquireError, match="objective must be one of"):
        pima_model.rank({}, objective="entropy")
    with pytest.raises(AcquireError, match="power of two"):
        pima_model.rank({}, n_draws=1000)
    with pytest.raises(AcquireError, match="budget == -1"):
        pima_model.rank({}, budget=-1)
    with pytest.raises(DataError, match="unknown feature name"):
        pima_model.rank({"glucose": 100})
    with pytest.raises(DataError, match="outside the spec's range"):
        pima_model.rank({"glu": 900})
    with pytest.raises(DataError, match="is not a number"):
        pima_model.rank({"glu": "high"})


def test_after_decision_values_are_left_out_unless_allowed():
    import warnings

    import acquire
    from acquire import datasets
    from acquire.exceptions import AfterDecisionWarning

    frame, spec = datasets.load("kidney_treatment")
    model = acquire.fit_model(frame.sample(1500, random_state=0), spec, seed=0, holdout=0,
                              predictor_params={"n_estimators": 60})
    plain = model.rank({"age": 60})
    with pytest.warns(AfterDecisionWarning, match="icu_days"):
        late = model.rank({"age": 60, "icu_days": 20})
    assert late.current == plain.current and late.case["observed"] == {"age": 60}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        used = model.rank({"age": 60, "icu_days": 20}, allow_after_decision=True)
    assert used.current["probabilities"] != plain.current["probabilities"]
    assert "icu_days" not in [c.feature for c in used.candidates]  # never offered as a test either
