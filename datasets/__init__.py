"""Bundled datasets, each a CSV, a spec and a provenance note (installed as ``acquire.datasets``).

>>> from acquire import datasets
>>> frame, spec = datasets.load("pima")
>>> frame.shape, spec.target_name
((532, 9), 'type')
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from acquire.exceptions import DataError
from acquire.spec import Spec, load_spec

__all__ = ["list_datasets", "load", "describe", "provenance", "data_path"]


def _root():
    return resources.files(__name__)


def list_datasets() -> list[str]:
    """Names of the bundled datasets."""
    return sorted(p.name for p in _root().iterdir() if p.is_dir() and p.joinpath("spec.yaml").is_file())


def _folder(name: str):
    if name not in list_datasets():
        raise DataError(f"unknown dataset {name!r}; bundled datasets: {', '.join(list_datasets())}")
    return _root().joinpath(name)


def data_path(name: str):
    """Path of the dataset's CSV inside the installed package."""
    return _folder(name).joinpath(f"{name}.csv")


def load(name: str) -> tuple[pd.DataFrame, Spec]:
    """The dataset's frame (features, target and any extra columns) and its validated spec."""
    folder = _folder(name)
    with resources.as_file(folder.joinpath("spec.yaml")) as spec_file:
        spec = load_spec(spec_file)
    with resources.as_file(data_path(name)) as csv:
        frame = pd.read_csv(csv)
    return frame, spec


def provenance(name: str) -> str:
    """The dataset's PROVENANCE.md text."""
    return _folder(name).joinpath("PROVENANCE.md").read_text("utf-8")


def describe(name: str) -> dict:
    """A summary for listings: name, description, rows, target, features with costs, groups."""
    frame, spec = load(name)
    return {
        "name": name,
        "description": " ".join((spec.description or "").split()),
        "rows": int(len(frame)),
        "n_features": len(spec.features),
        "target": spec.target_name,
        "target_kind": spec.target_kind,
        "classes": spec.classes,
        "currency": spec.currency,
        "features": [
            {k: v for k, v in {"name": f.name, "type": f.type, "cost": f.cost, "unit": f.unit, "group": f.group,
                               "panel": f.panel, "role": f.role}.items() if v is not None}
            for f in spec.features
        ],
        "groups": dict(spec.groups),
    }
