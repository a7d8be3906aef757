"""The conditional model against closed-form multivariate normal conditionals."""

import numpy as np
import pytest
from scipy.stats import norm

from acquire.conditional import ClassConditionalCopula, GaussianCopula, conditional_from_dict
from acquire.estimators.gaussian import condition_gaussian

COV = np.array([[1.0, 0.6, 0.3, 0.0], [0.6, 1.0, 0.5, 0.2], [0.3, 0.5, 1.0, -0.4], [0.0, 0.2, -0.4, 1.0]])


def test_condition_gaussian_matches_precision_form():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=4)
    observed, values = np.array([0, 3]), np.array([0.7, -1.2])
    mu, cov = condition_gaussian(mean, COV, observed, values)
    # independent route: the precision matrix Λ gives Σ_M|o = Λ_MM⁻¹, μ_M|o = μ_M − Λ_MM⁻¹ Λ_Mo (x_o − μ_o)
    lam = np.linalg.inv(COV)
    m = np.array([1, 2])
    cov_ref = np.linalg.inv(lam[np.ix_(m, m)])
    mu_ref = mean[m] - cov_ref @ lam[np.ix_(m, observed)] @ (values - mean[observed])
    np.testing.assert_allclose(cov, cov_ref, atol=1e-12)
    np.testing.assert_allclose(mu, mu_ref, atol=1e-12)


@pytest.fixture(scope="module")
def mvn_copula():
    rng = np.random.default_rng(1)
    scale = np.array([2.0, 0.5, 10.0, 1.0])
    shift = np.array([5.0, -1.0, 100.0, 0.0])
    X = rng.multivariate_normal(np.zeros(4), COV, size=20_000) * scale + shift
    return GaussianCopula().fit(X, [False] * 4), scale, shift


def test_copula_conditionals_match_mvn_closed_form(mvn_copula):
    copula, scale, shift = mvn_copula
    np.testing.assert_allclose(copula.correlation_, COV, atol=0.03)
    x = np.full(4, np.nan)
    x[[1, 3]] = np.array([0.8, -0.5]) * scale[[1, 3]] + shift[[1, 3]]
    mu, cov = condition_gaussian(np.zeros(4), COV, np.array([1, 3]), np.array([0.8, -0.5]))
    q = np.array([0.1, 0.25, 0.5, 0.75, 0.9])
    for k, j in enumerate([0, 2]):
        exact = shift[j] + scale[j] * norm.ppf(q, loc=mu[k], scale=np.sqrt(cov[k, k]))
        got = copula.ppf(x, j, q)
        # within 5% of the conditional sd: marginals and correlation are estimated from 20k rows
        np.testing.assert_allclose(got, exact, atol=0.05 * scale[j] * np.sqrt(cov[k, k]))
        # the CDF inverts the quantile function
        np.testing.assert_allclose(copula.cdf(x, j, got), q, atol=0.01)


def test_joint_draws_have_the_conditional_covariance(mvn_copula):
    copula, scale, shift = mvn_copula
    x = np.array([np.nan, np.nan, 100.0 + 10.0 * 0.3, np.nan])
    draws = copula.sample(x, 20_000, seed=3)
    assert np.all(draws[:, 2] == x[2])
    z = (draws[:, [0, 1, 3]] - shift[[0, 1, 3]]) / scale[[0, 1, 3]]
    mu, cov = condition_gaussian(np.zeros(4), COV, np.array([2]), np.array([0.3]))
    np.testing.assert_allclose(z.mean(axis=0), mu, atol=0.04)
    np.testing.assert_allclose(np.cov(z, rowvar=False), cov, atol=0.05)


def test_discrete_marginals_reproduce_frequencies():
    rng = np.random.default_rng(2)
    z = rng.multivariate_normal(np.zeros(2), [[1, 0.7], [0.7, 1]], size=20_000)
    X = np.column_stack([(z[:, 0] > 0.5).astype(float), np.digitize(z[:, 1], [-1, 0, 1]).astype(float)])
    copula = GaussianCopula().fit(X, [True, True])
    draws = copula.sample(np.array([np.nan, np.nan]), 50_000, seed=0)
    assert set(np.unique(draws[:, 0])) == {0.0, 1.0} and set(np.unique(draws[:, 1])) == {0.0, 1.0, 2.0, 3.0}
    np.testing.assert_allclose(draws[:, 0].mean(), X[:, 0].mean(), atol=0.01)
    # conditioning on the top level of feature 1 raises P(feature 0 = 1), as in the data
    given = copula.sample(np.array([np.nan, 3.0]), 50_000, seed=0)[:, 0].mean()
    assert given == pytest.approx(X[X[:, 1] == 3, 0].mean(), abs=0.06)


def test_round_trip_and_class_mixture(mvn_copula):
    copula = mvn_copula[0]
    again = conditional_from_dict(copula.to_dict())
    x = np.array([np.nan, 0.0, np.nan, 1.0])
    np.testing.assert_array_equal(again.sample(x, 64, seed=5), copula.sample(x, 64, seed=5))
    rng = np.random.default_rng(4)
    y = np.repeat([0, 1], 500)
    X = np.column_stack([rng.normal(np.where(y == 1, 5.0, 0.0)), rng.normal(size=1000)])
    mix = ClassConditionalCopula().fit(X, [False, False], y, 2)
    draws = mix.sample(np.array([np.nan, 0.0]), 4000, seed=1, class_probs=np.array([0.25, 0.75]))
    assert np.mean(draws[:, 0] > 2.5) == pytest.approx(0.75, abs=0.03)  # bimodal, weighted as asked
    assert mix.cdf(np.array([np.nan, 0.0]), 0, np.array([2.5]), np.array([0.25, 0.75]))[0] == pytest.approx(0.25, abs=0.02)
    back = conditional_from_dict(mix.to_dict())
    np.testing.assert_array_equal(back.sample(np.array([np.nan, 0.0]), 32, seed=2), mix.sample(np.array([np.nan, 0.0]), 32, seed=2))
