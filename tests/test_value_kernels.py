"""The numba kernels against plain NumPy references."""

import numpy as np
import pytest

from acquire.estimators.value import eig_classes, eig_gaussian, entropy, evsi_classes, mean_and_se


def _reference_eig(P):
    pbar = P.mean(axis=2)
    h = lambda p: -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0), axis=-1)
    return h(pbar) - h(P).mean(axis=2)


def test_eig_classes_matches_numpy():
    rng = np.random.default_rng(0)
    P = rng.dirichlet([0.5, 1.0, 2.0], size=(4, 3, 50))
    P[0, 0, :5] = [1.0, 0.0, 0.0]  # zeros are handled (0 log 0 = 0)
    np.testing.assert_allclose(eig_classes(P), _reference_eig(P), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(entropy(P[0, 0]), -np.sum(np.where(P[0, 0] > 0, P[0, 0] * np.log(np.where(P[0, 0] > 0, P[0, 0], 1)), 0), axis=1))


def test_evsi_classes_matches_numpy():
    rng = np.random.default_rng(1)
    P = rng.dirichlet([1.0, 1.0], size=(3, 2, 40))
    U = np.array([[0.0, -10.0], [-2.0, -3.0], [-1.0, -6.0]])
    ref = (P @ U.T).max(axis=-1).mean(axis=2) - (P.mean(axis=2) @ U.T).max(axis=-1)
    np.testing.assert_allclose(evsi_classes(P, U), ref, rtol=1e-12)
    assert np.all(evsi_classes(P, U) >= 0)


def test_eig_gaussian_is_the_draws_mixture_eig_below_its_moment_matched_bound():
    """Per (candidate, replicate): the EIG of the equal-weight mixture of the draws' Gaussians, its
    entropy against a dense trapezoid grid; never above the moment-matched Gaussian's value."""
    rng = np.random.default_rng(2)
    mean, var = rng.normal(size=(2, 3, 100)), rng.uniform(0.5, 2.0, size=(2, 3, 100))
    bound = 0.5 * np.log(var.mean(axis=2) + mean.var(axis=2)) - 0.5 * np.log(var).mean(axis=2)
    got = eig_gaussian(mean, var)
    assert (got <= bound + 1e-12).all() and (got > 0.5 * bound).all()
    for c in range(2):
        for r in range(3):
            sd = np.sqrt(var[c, r])
            y = np.linspace((mean[c, r] - 14 * sd).min(), (mean[c, r] + 14 * sd).max(), 200_001)
            dens = (np.exp(-0.5 * ((y[:, None] - mean[c, r]) / sd) ** 2) / (np.sqrt(2 * np.pi) * sd)).mean(axis=1)
            h = -np.trapezoid(dens * np.log(dens), y)
            truth = h - np.mean(0.5 * np.log(2 * np.pi * np.e * var[c, r]))
            assert got[c, r] == pytest.approx(truth, rel=1e-7)


def test_mean_and_se():
    m, se = mean_and_se(np.array([[1.0, 2.0, 3.0, 4.0]]))
    assert m[0] == 2.5 and se[0] == np.std([1, 2, 3, 4], ddof=1) / 2
