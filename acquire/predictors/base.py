"""The one small interface every predictor implements, and the masking used to train them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np

from acquire.exceptions import NotFittedError

__all__ = ["Predictor", "random_masks"]


class Predictor(ABC):
    """A model of ``p(y | x)`` that accepts NaN for missing inputs.

    ``predict_distribution(X)`` returns, per row, class probabilities (n, K) for binary and
    multiclass targets, or ``[mean, variance]`` (n, 2) of a Gaussian for continuous ones.

    Attributes
    ----------
    kind_ : {"binary", "multiclass", "continuous"}
    n_classes_ : int
        Number of classes (2 for binary; 0 for continuous).
    n_features_in_ : int
    """

    name: str = "predictor"
    #: what the value estimators may use (see :mod:`acquire.engine.estimator`): "tree_ensemble"
    #: (``tree_arrays()`` and ``distribution_from_margins``), "posterior_draws" (``predict_draws``)
    capabilities: ClassVar[frozenset[str]] = frozenset()
    #: the files of a model folder that ``load`` reads (the manifest must list them with checksums)
    files_required: ClassVar[tuple[str, ...]] = ()

    kind_: str
    n_classes_: int
    n_features_in_: int

    @abstractmethod
    def fit(self, X: np.ndarray, y: np.ndarray, *, kind: str, n_classes: int = 0,
            mask_units: Sequence[Sequence[int]] | None = None,
            discrete: Sequence[bool] | None = None) -> "Predictor":
        """Fit on float features ``X`` (NaN = missing) and targets ``y`` (class index or float).

        ``mask_units`` are the column sets ordered together (for masked training); ``discrete``
        flags the spec's discrete features. A predictor uses what it needs of them.
        """

    @abstractmethod
    def predict_distribution(self, X: np.ndarray) -> np.ndarray:
        """Predictive distribution per row (see class docstring)."""

    @abstractmethod
    def save(self, directory: Path) -> dict:
        """Write the fitted model into ``directory`` in a portable format; return its metadata."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path, meta: dict) -> "Predictor":
        """Rebuild from files written by :meth:`save` and the metadata it returned."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "kind_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with appropriate arguments first."
            )


def random_masks(n_rows: int, units: Sequence[Sequence[int]], n_features: int, copies: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Boolean masks (copies·n_rows, n_features), True = hidden, for masked training.

    Copy 0 hides nothing; in every other copy each row draws a missingness rate
    ``q ~ Uniform(0, 1)`` and hides with probability q either each unit (a panel's members
    together; odd copies) or each single feature (even copies, so that cases holding part of
    a panel are not off the training distribution). The model sees every level of
    missingness that acquisition creates.
    """
    masks = np.zeros((copies * n_rows, n_features), dtype=bool)
    singles = [[j] for j in range(n_features)]
    for c in range(1, copies):
        by = units if c % 2 == 1 else singles
        rate = rng.uniform(size=(n_rows, 1))
        hide = rng.uniform(size=(n_rows, len(by))) < rate
        block = masks[c * n_rows:(c + 1) * n_rows]
        for u, members in enumerate(by):
            block[:, list(members)] |= hide[:, [u]]
    return masks
