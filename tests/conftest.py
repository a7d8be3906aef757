"""Shared fixtures: the bundled datasets and small fitted models (fitted once per session)."""

from __future__ import annotations

import pytest

import acquire
from acquire import datasets


@pytest.fixture(scope="session")
def pima():
    return datasets.load("pima")


@pytest.fixture(scope="session")
def breast_cancer():
    return datasets.load("breast_cancer")


@pytest.fixture(scope="session")
def pima_model(pima):
    frame, spec = pima
    return acquire.fit_model(frame, spec, predictor="xgboost", seed=0)


@pytest.fixture(scope="session")
def pima_copula_model(pima):
    frame, spec = pima
    return acquire.fit_model(frame, spec, predictor="copula", holdout=0)


@pytest.fixture(scope="session")
def pima_model_dir(pima_model, tmp_path_factory):
    return pima_model.save(tmp_path_factory.mktemp("models") / "pima")


# hypothesis: a small profile for the normal suite; ACQUIRE_HYPOTHESIS_PROFILE=exhaustive runs
# 10,000 generated examples per property (see README, "Reliability tests").
try:
    import os

    from hypothesis import HealthCheck, settings

    settings.register_profile("default", max_examples=40, deadline=None,
                              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    settings.register_profile("exhaustive", max_examples=10_000, deadline=None,
                              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    settings.load_profile(os.environ.get("ACQUIRE_HYPOTHESIS_PROFILE", "default"))
except ImportError:  # hypothesis is in the test extra
    pass


@pytest.fixture(scope="session")
def flchain_model_dir(tmp_path_factory):
    frame, spec = datasets.load("flchain")
    model = acquire.fit_model(frame, spec, predictor="xgboost", seed=0, holdout=0, predictor_params={"n_estimators": 80})
    return model.save(tmp_path_factory.mktemp("models") / "flchain")
