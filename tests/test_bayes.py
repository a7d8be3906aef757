"""The Bayesian predictor: closed forms, exact marginalization of missing inputs, the BALD split."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import acquire
from acquire import datasets
from acquire.cli import cli
from acquire.estimators.value import eig_bald_weighted
from acquire.engine.posterior import current_split
from acquire.predictors import BayesianPredictor

FAST = {"draws": 300, "tune": 300}


@pytest.fixture(scope="module")
def pima_bayes():
    frame, spec = datasets.load("pima")
    return acquire.fit_model(frame, spec, predictor="bayes", seed=0, holdout=0, predictor_params=FAST)


def test_conjugate_linear_regression_matches_the_closed_form():
    """Normal prior, known noise: the posterior of (α, β) and the information a new measurement of y
    gives about them, ½ log(1 + a*ᵀ Σ_n a* / σ²), have closed forms."""
    rng = np.random.default_rng(1)
    n, sigma = 60, 0.8
    X = rng.normal(size=(n, 2))
    X[:, 1] += 0.5 * X[:, 0]
    y = 1.0 + 0.7 * X[:, 0] - 0.4 * X[:, 1] + rng.normal(0, 1.0, n)
    model = BayesianPredictor(prior="normal", prior_scale=1.0, noise_sd=sigma, draws=1000, tune=500, seed=0)
    model.fit(X, y, kind="continuous", discrete=[False, False])
    U, _, _ = model._latent(X)
    A = np.column_stack([np.ones(n), U])
    y_std = (y - model.y_mean_) / model.y_scale_
    precision = np.diag([1 / 2.0**2, 1.0, 1.0]) + A.T @ A / sigma**2
    cov = np.linalg.inv(precision)
    mean = cov @ A.T @ y_std / sigma**2
    draws = np.column_stack([model.alpha_, model.beta_])
    se = np.sqrt(np.diag(cov) / 500)  # ≥ 500 effective draws (diagnostics checked below)
    assert model.diagnostics_["min_ess_bulk"] > 500 and model.diagnostics_["max_rhat"] < 1.01
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - mean), 4 * se)
    np.testing.assert_allclose(np.cov(draws.T), cov, rtol=0.15, atol=0.1 * cov.diagonal().min())
    x_new = np.array([1.5, -1.0])
    a = np.concatenate([[1.0], model._latent(x_new[None, :])[0][0]])
    closed = 0.5 * np.log(1 + a @ cov @ a / sigma**2)
    assert current_split(model, x_new)["epistemic"] == pytest.approx(closed, rel=0.1)


def test_missing_inputs_are_integrated_out_exactly(pima_bayes):
    """p(y | x_o, θ) = E_{x_m | x_o} p(y | x_o, x_m, θ), per posterior draw, via the copula."""
    spec, predictor = pima_bayes.spec, pima_bayes.predictor
    x = spec.encode(datasets.load("pima")[0]).copy()[3]
    glu, bmi = spec.index_of(["glu", "bmi"])
    x[[glu, bmi]] = np.nan
    closed = predictor.predict_draws(x[None, :])[:, 0, 1]  # (T,)
    filled = predictor.copula_.sample(x, 20000, seed=0)
    averaged = predictor.predict_draws(filled)[..., 1].mean(axis=1)
    np.testing.assert_allclose(closed, averaged, atol=0.01)


def test_bald_kernel_matches_numpy():
    rng = np.random.default_rng(0)
    P = rng.dirichlet([1, 1, 1], size=(40, 12))  # (T, N, K)
    w = rng.dirichlet(np.ones(12))
    H = lambda p: -(p * np.log(p)).sum(axis=-1)
    pbar_n = P.mean(axis=0)
    eig = H(w @ pbar_n) - w @ H(pbar_n)
    aleatoric = np.mean([H(w @ P[t]) - w @ H(P[t]) for t in range(len(P))])
    got = eig_bald_weighted(w, P)
    assert got == pytest.approx((eig, aleatoric), abs=1e-12)


def test_posterior_values_agree_with_monte_carlo_and_split_correctly(pima_bayes):
    predictor, spec = pima_bayes.predictor, pima_bayes.spec
    case = {"age": 24, "bmi": 30.2, "npreg": 5}
    ranking = pima_bayes.rank(case)
    mc = acquire.ValueOfInformation(predictor=predictor, conditional=predictor.copula_, spec=spec, method="mc",
                                    n_draws=8192, include_groups=False).rank(case)
    by_mc = {c.feature: c for c in mc.candidates}
    for c in ranking.candidates:
        assert c.method in ("quadrature", "exact") and c.se == 0  # a continuous test / a discrete one's levels
        assert abs(c.value - by_mc[c.feature].value) < 4 * by_mc[c.feature].se + 2e-4, c.feature
        assert c.value == pytest.approx(c.aleatoric_change + c.epistemic_change, abs=1e-12)
        assert c.aleatoric_change >= 0 and c.epistemic_change <= 1e-9  # see acquire.engine.posterior: epistemic ≤ 0
    now = ranking.current
    assert now["entropy"] == pytest.approx(now["aleatoric"] + now["epistemic"], abs=1e-9)
    assert now["aleatoric"] > 0 and now["epistemic"] > 0


def test_epistemic_uncertainty_shrinks_with_more_training_rows(pima_bayes):
    frame, spec = datasets.load("pima")
    small = acquire.fit_model(frame.drop(index=0).sample(50, random_state=0), spec, predictor="bayes", seed=0, holdout=0,
                              predictor_params=FAST)
    case = {"age": 24, "bmi": 30.2, "npreg": 5}
    e_small, e_full = (m.rank(case).current["epistemic"] for m in (small, pima_bayes))
    assert e_small > 3 * e_full
    # the tests' epistemic parts shrink too (benchmarks/bayes_bald.py prints the 50/200/532 table)
    shift_small, shift_full = (sum(abs(c.epistemic_change) for c in m.rank(case).candidates) for m in (small, pima_bayes))
    assert shift_small > 2 * shift_full


def test_ordered_probit_for_three_ordered_classes():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 2))
    latent = 1.2 * X[:, 0] + rng.normal(size=200)
    y = np.digitize(latent, [-0.7, 0.7])
    model = BayesianPredictor(**FAST, seed=0).fit(X, y, kind="multiclass", n_classes=3, discrete=[False, False])
    grid = np.column_stack([np.linspace(-2, 2, 5), np.zeros(5)])
    p = model.predict_distribution(grid)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert np.all(np.diff(p[:, 2]) > 0) and np.all(np.diff(p[:, 0]) < 0)  # higher x0, higher class
    assert model.predict_distribution(np.array([[np.nan, 0.0]])).shape == (1, 3)


def test_save_load_and_cli_report_the_bald_parts(tmp_path, pima_bayes):
    pima_bayes.save(tmp_path / "m")
    assert (tmp_path / "m" / "posterior.nc").is_file()
    loaded = acquire.load_model(tmp_path / "m")
    X = pima_bayes.spec.encode(datasets.load("pima")[0])[:20]
    np.testing.assert_array_equal(loaded.predictor.predict_distribution(X), pima_bayes.predictor.predict_distribution(X))
    run = CliRunner().invoke
    fitted = run(cli, ["fit", "--dataset", "pima", "--predictor", "bayes", "--holdout", "0", "--draws", "100",
                       "--tune", "100", "--out", str(tmp_path / "cli"), "-q"])
    assert fitted.exit_code == 0, fitted.output
    assert "posterior: inference nuts" in fitted.output
    out = run(cli, ["rank", "--model", str(tmp_path / "cli"), "--data", str(datasets.data_path("pima")), "--row", "0",
                    "--observed", "age,bmi,npreg", "--format", "json", "-q"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert {"aleatoric", "epistemic"} <= set(result["current"])
    assert all({"aleatoric_change", "epistemic_change", "aleatoric", "epistemic"} <= set(c) for c in result["candidates"])


def test_adaptive_quadrature_matches_a_dense_grid_to_its_tolerance(pima_bayes):
    """The single-test values under the posterior agree with a converged dense grid over the test's
    latent normal (40,001 points on ±9 sd) to 1e-6 relative. The old fixed 24-node Gauss–Hermite rule
    was off by up to 3e-3 here, and doubling it stalled near 1e-4: the marginal's inverse CDF has
    kinks at its knots, so the rule now integrates piece by piece between them."""
    from scipy.special import ndtr

    from acquire.engine.posterior import PosteriorEstimator

    predictor, spec = pima_bayes.predictor, pima_bayes.spec
    ranker = pima_bayes.ranker()
    estimator = PosteriorEstimator(ranker)
    worst = 0.0
    for case in ({"age": 24, "bmi": 30.2}, {}):
        x = spec.encode_case(case)
        ranking = pima_bayes.rank(case)
        for c in ranking.candidates:
            j = spec.feature_names.index(c.feature)
            if c.method != "quadrature" or c.feature not in ("glu", "bp", "ped"):  # bp: the old rule's worst
                continue
            missing, mu, cov = predictor.copula_.latent_conditional(x)
            k = int(np.flatnonzero(missing == j)[0])
            u = np.linspace(-9, 9, 40_001)
            w = np.exp(-0.5 * u ** 2)
            w /= w.sum()
            rows = np.repeat(x[None, :], u.size, axis=0)
            rows[:, j] = predictor.copula_.marginals_[j].ppf(ndtr(mu[k] + np.sqrt(cov[k, k]) * u))
            dense = estimator._one(rows, w)[0]
            worst = max(worst, abs(c.value - dense) / abs(dense))
    assert worst <= 1e-6, worst
