"""Shapley kernels and games: brute force, XGBoost's TreeSHAP, the XOR pair, efficiency."""

import itertools
import math

import numpy as np
import pytest
import xgboost as xgb
from scipy.special import ndtr

import acquire
from acquire import AcquireError, load_spec
from acquire.estimators.shapley import exact_shapley
from acquire.shapley import Game, PathDependentTreeGame, PredictionGame, ValueOfInformationGame, shapley_values
from acquire.engine import ValueOfInformation


def brute_force_shapley(v, m):
    """φ_i = (1/m!) Σ_permutations (v(prefix ∪ i) − v(prefix)), by listing every permutation."""
    phi = np.zeros(m)
    for perm in itertools.permutations(range(m)):
        mask = 0
        for i in perm:
            phi[i] += v[mask | (1 << i)] - v[mask]
            mask |= 1 << i
    return phi / math.factorial(m)


class TableGame(Game):
    def __init__(self, table):
        super().__init__()
        self.table = np.asarray(table, dtype=float)
        self.players = [f"p{i}" for i in range(int(np.log2(len(table))))]

    def _evaluate(self, masks):
        return self.table[masks][None, :], self.table[masks]


def test_exact_kernel_matches_permutation_enumeration():
    rng = np.random.default_rng(0)
    for m in (1, 2, 3, 5, 6):
        v = rng.normal(size=1 << m)
        v[0] = 0.0
        np.testing.assert_allclose(exact_shapley(v[None], m)[0], brute_force_shapley(v, m), rtol=1e-12, atol=1e-12)


def test_sampled_estimators_converge_with_standard_errors():
    rng = np.random.default_rng(1)
    m = 12
    sizes = np.array([bin(k).count("1") for k in range(1 << m)])
    v = rng.normal(size=1 << m) * 0.3 + sizes + 0.1 * sizes**2  # additive, curved, and noisy
    exact = shapley_values(TableGame(v), method="exact")
    assert abs(exact.efficiency_gap) < 1e-9
    for method in ("permutation", "kernel"):
        est = shapley_values(TableGame(v), method=method, n_coalitions=1024, tol=0.01, seed=3)
        z = (est.values - exact.values) / est.se
        assert np.all(np.abs(z) < 4) and np.mean(np.abs(z) < 2) >= 0.6, (method, z)
        assert abs(est.efficiency_gap) < 1e-9  # antithetic permutations and the KernelSHAP constraint are exact
        assert est.se.max() <= 0.01
    # with a budget covering every coalition, KernelSHAP enumerates them all and is exact
    full = shapley_values(TableGame(v), method="kernel", n_coalitions=(1 << m) - 2)
    np.testing.assert_allclose(full.values, exact.values, atol=1e-9)
    assert np.all(full.se == 0)


def test_exact_shapley_of_the_tree_game_equals_xgboost_treeshap(pima_model, pima):
    frame, spec = pima
    trees = pima_model.predictor.tree_arrays()
    X = spec.encode(frame)[:5].copy()
    X[1, [1, 3]] = np.nan  # missing values take the default branches in both
    contribs = pima_model.predictor.booster_.predict(xgb.DMatrix(X, missing=np.nan), pred_contribs=True)
    for x, ref in zip(X, contribs):
        result = shapley_values(PathDependentTreeGame(trees, x, spec.feature_names), method="exact")
        np.testing.assert_allclose(result.values, ref[:-1], atol=2e-6)  # XGBoost works in float32
        assert result.v_empty == pytest.approx(ref[-1], abs=2e-6)
        assert abs(result.efficiency_gap) < 1e-9


XOR_SPEC = {"target": {"name": "y", "kind": "binary", "classes": [0, 1]},
            "features": [{"name": n, "type": "binary", "cost": 1.0} for n in ("a", "b", "noise")],
            "use_case": {"kind": "treatment", "actions": ["wait", "treat"], "utility": [[0.0, -10.0], [-4.0, -4.0]],
                         "nats_per_cost": 0.0}}


class XorWorld:
    """y = a XOR b with a, b, noise independent fair coins: each of a, b alone says nothing."""

    kind_ = "binary"
    n_features_in_ = 3

    def predict_distribution(self, X):
        p = np.where(np.isnan(X[:, 0]) | np.isnan(X[:, 1]), 0.5, np.logical_xor(X[:, 0] == 1, X[:, 1] == 1).astype(float))
        return np.column_stack([1 - p, p])

    def sample_from_normals(self, x, normals):
        out = np.broadcast_to(x, normals.shape[:-1] + (3,)).copy()
        for k, j in enumerate(np.flatnonzero(np.isnan(x))):
            out[..., j] = (ndtr(normals[..., k]) > 0.5).astype(float)
        return out


@pytest.mark.parametrize("objective", ["eig", "evsi"])
def test_xor_pair_gets_equal_large_shares(objective):
    ranker = ValueOfInformation(predictor=XorWorld(), conditional=XorWorld(), spec=load_spec(XOR_SPEC),
                                objective=objective, seed=0)
    game = ValueOfInformationGame(ranker, {})
    singles = game.point(np.array([1, 2, 4]))
    assert np.allclose(singles, 0.0)  # each test alone is worthless
    result = shapley_values(game, method="exact")
    # EIG: knowing both reveals y, H(Y) = log 2. EVSI: knowing y, treat when y = 1 (−4) and wait
    # when y = 0 (0), −2 on average; now (p = ½) the best is to treat, −4; so the pair is worth 2.
    total = math.log(2) if objective == "eig" else 2.0
    phi = dict(zip(result.players, result.values))
    assert phi["a"] == pytest.approx(total / 2, rel=1e-3) and phi["b"] == pytest.approx(total / 2, rel=1e-3)
    assert phi["noise"] == pytest.approx(0.0, abs=1e-9)
    assert abs(result.efficiency_gap) < 1e-9 and result.v_full == pytest.approx(total, rel=1e-3)


def test_voi_game_on_pima_is_efficient_and_consistent_with_the_ranker(pima_model):
    case = {"age": 40, "bmi": 33.0, "npreg": 2}
    ranker = pima_model.ranker(n_draws=1024, method="mc", include_groups=False)
    game = ValueOfInformationGame(ranker, case)
    exact = shapley_values(game, method="exact")
    assert abs(exact.efficiency_gap) < 1e-9 and exact.v_empty == pytest.approx(0.0, abs=1e-12)
    # the game's single-test values are the ranker's Monte Carlo values (same draws; the game sums
    # tree margins in float64 where XGBoost uses float32)
    x = pima_model.spec.encode_case(case)
    mc, _ = ranker.monte_carlo_values(x, game.columns)
    np.testing.assert_allclose(game.point(1 << np.arange(len(game.players))), mc, rtol=1e-5)
    sampled = shapley_values(ValueOfInformationGame(ranker, case), method="permutation", n_permutations=64, seed=1)
    assert np.all(np.abs(sampled.values - exact.values) <= 4 * sampled.se + 1e-3)
    assert max(exact.players, key=lambda p: dict(zip(exact.players, exact.values))[p]) == "glu"


def test_prediction_game_explains_the_masked_prediction(pima_model):
    case = {"age": 50, "bmi": 38.0, "glu": 170, "bp": 80}
    game = PredictionGame(pima_model.predictor, pima_model.spec, case)
    result = shapley_values(game)
    now = pima_model.predictor.predict_distribution(pima_model.spec.encode_case(case)[None])[0, 1]
    nothing = pima_model.predictor.predict_distribution(np.full((1, 7), np.nan))[0, 1]
    assert result.v_full == pytest.approx(now) and result.v_empty == pytest.approx(nothing)
    assert abs(result.efficiency_gap) < 1e-9
    assert result.to_frame().iloc[0]["player"] == "glu"  # a glucose of 170 drives the risk up


def test_shapley_rejects_bad_requests():
    with pytest.raises(AcquireError, match="method must be one of"):
        shapley_values(TableGame(np.zeros(4)), method="magic")
    with pytest.raises(AcquireError, match="at least 2 \\* m = 4"):
        shapley_values(TableGame(np.zeros(4)), method="kernel", n_coalitions=2)


def test_coalition_margins_equal_walking_every_row(breast_cancer):
    from acquire.estimators.coalitions import coalition_margins

    frame, spec = breast_cancer
    model = acquire.fit_model(frame, spec, predictor="xgboost", seed=0, holdout=0, predictor_params={"n_estimators": 40, "max_depth": 5})
    t = model.predictor.tree_arrays()
    rng = np.random.default_rng(0)
    x = spec.encode(frame)[10].copy()
    players = [[0, 10, 20], [1], [2, 12], [5], [7, 17, 27], [22], [25]]
    for cols in players:
        x[cols] = np.nan
    draws = spec.encode(frame)[rng.integers(0, len(frame), 16)]
    player_of = np.full(x.size, -1, dtype=np.int64)
    for i, cols in enumerate(players):
        player_of[cols] = i
    masks = np.arange(1 << len(players), dtype=np.int64)
    for max_players in (10, 2):  # tabled trees, and trees walked directly
        got = coalition_margins(x, draws, masks, player_of, len(players), *t.kernel_args(), max_players=max_players)
        for c in (0, 1, 5, 77, 127):
            rows = np.repeat(x[None], len(draws), axis=0)
            for i, cols in enumerate(players):
                if (c >> i) & 1:
                    rows[:, cols] = draws[:, cols]
            np.testing.assert_allclose(got[c], t.margins(rows), rtol=1e-12, atol=1e-12)


def test_stratified_spread_is_the_sum_of_per_stratum_covariances():
    """KernelSHAP's sandwich 'meat' in one product equals Σ_h (w_h n_h)² f_h cov_h / n_h stratum by stratum."""
    from acquire.engine.shapley import _stratified_spread

    rng = np.random.default_rng(3)
    stratum = np.repeat([0, 1, 2, 3], [7, 1, 12, 5])
    score = rng.normal(size=(stratum.size, 4)) + stratum[:, None]  # strata with different means
    weight, finite = rng.uniform(0.1, 2.0, 4), rng.uniform(0.2, 1.0, 4)
    expected = np.zeros((4, 4))
    for h in range(4):
        rows = score[stratum == h]
        if len(rows) > 1:
            expected += (weight[h] * len(rows)) ** 2 * finite[h] * np.cov(rows, rowvar=False) / len(rows)
    np.testing.assert_allclose(_stratified_spread(score, stratum, weight, finite), expected, rtol=1e-12, atol=1e-12)
