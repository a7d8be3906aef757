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
    return acquire.fit_model(frame, spec, seed=0)


@pytest.fixture(scope="session")
def pima_model_dir(pima_model, tmp_path_factory):
    return pima_model.save(tmp_path_factory.mktemp("models") / "pima")
