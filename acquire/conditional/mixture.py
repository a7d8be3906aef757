"""A mixture of class-conditional Gaussian copulas: ``p(x_M | x_o) = Σ_y w_y p(x_M | x_o, y)``.

Clinical features are often a mixture by outcome (benign and malignant nuclei form two
clusters), which one Gaussian copula, unimodal in its latent space, cannot represent. Fitting
one copula per class and mixing them with the predictor's current ``w_y = p(y | x_o)`` keeps
the draws of missing tests coherent with the prediction they will update.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from acquire.conditional.copula import GaussianCopula, pack_copulas
from acquire.exceptions import DataError, ModelError, NotFittedError

__all__ = ["ClassConditionalCopula"]


class ClassConditionalCopula:
    """One :class:`GaussianCopula` per outcome class, mixed by class probabilities.

    Parameters
    ----------
    max_knots, ridge : see :class:`GaussianCopula`.

    Attributes
    ----------
    components_ : list of GaussianCopula
        One per class, in class-index order (or, from a copula classifier whose classes are mixtures,
        several per class).
    priors_ : ndarray of shape (C,)
        Component frequencies in the training data (the weights when none are given).
    component_class_ : ndarray of int (C,)
        The class of each component (``0, 1, …, K − 1`` when there is one per class).
    """

    capabilities = frozenset({"packed_copula", "class_mixture"})

    def __init__(self, *, max_knots: int = 1000, ridge: float = 1e-4):
        self.max_knots = max_knots
        self.ridge = ridge

    def fit(self, X: np.ndarray, discrete: list[bool], y: np.ndarray, n_classes: int) -> "ClassConditionalCopula":
        y = np.asarray(y)
        counts = np.bincount(y, minlength=n_classes)
        if np.any(counts < 3):
            raise DataError(f"each class needs at least 3 rows for its conditional model; class counts are {counts.tolist()}")
        pooled = None
        if any(np.isnan(X[y == k]).all(axis=0).any() for k in range(n_classes)):  # a test never done in a class
            pooled = GaussianCopula(max_knots=self.max_knots, ridge=self.ridge).fit(X, discrete)
        self.components_ = [GaussianCopula(max_knots=self.max_knots, ridge=self.ridge).fit(X[y == k], discrete, pooled)
                            for k in range(n_classes)]
        self.priors_ = counts / counts.sum()
        self.component_class_ = np.arange(n_classes, dtype=np.int64)
        self.n_features_ = X.shape[1]
        return self

    def _weights(self, class_probs: np.ndarray | None) -> np.ndarray:
        if not hasattr(self, "components_"):
            raise NotFittedError("This ClassConditionalCopula instance is not fitted yet. Call 'fit' first.")
        w = self.priors_ if class_probs is None else np.asarray(class_probs, dtype=np.float64)
        if w.shape != self.priors_.shape or np.any(w < 0) or not np.isclose(w.sum(), 1.0, atol=1e-6):
            raise DataError(f"class_probs must be {self.priors_.size} probabilities summing to 1, got {w}")
        return w / w.sum()

    def sample_from_normals(self, x: np.ndarray, normals: np.ndarray, class_probs: np.ndarray | None = None) -> np.ndarray:
        """Like :meth:`GaussianCopula.sample_from_normals`, with one extra *leading* column of
        ``normals`` choosing each draw's class (``Φ(e_0)`` against the cumulative weights)."""
        w = self._weights(class_probs)
        klass = np.minimum(np.searchsorted(np.cumsum(w), ndtr(normals[..., 0]), side="right"), w.size - 1)
        out = np.empty(normals.shape[:-1] + (np.asarray(x).size,))
        for k, comp in enumerate(self.components_):
            pick = klass == k
            if pick.any():
                out[pick] = comp.sample_from_normals(x, normals[pick][:, 1:])
        return out

    def sample(self, x: np.ndarray, n: int, *, seed: int | None = 0, class_probs: np.ndarray | None = None) -> np.ndarray:
        rng = np.random.default_rng(seed)
        missing = int(np.isnan(np.asarray(x, dtype=np.float64)).sum())
        return self.sample_from_normals(np.asarray(x, dtype=np.float64), rng.standard_normal((n, missing + 1)), class_probs)

    def cdf(self, x: np.ndarray, feature: int, t: np.ndarray, class_probs: np.ndarray | None = None) -> np.ndarray:
        """Exact ``P(x_feature ≤ t | x_o) = Σ_y w_y P_y(x_feature ≤ t | x_o)``."""
        w = self._weights(class_probs)
        return sum(wk * comp.cdf(x, feature, t) for wk, comp in zip(w, self.components_))

    def interval_probabilities(self, x: np.ndarray, feature: int, breaks: np.ndarray,
                               class_probs: np.ndarray | None = None) -> np.ndarray:
        """``Σ_y w_y P_y(x_feature ∈ interval k | x_o)``; see :meth:`GaussianCopula.interval_probabilities`."""
        w = self._weights(class_probs)
        return sum(wk * comp.interval_probabilities(x, feature, breaks) for wk, comp in zip(w, self.components_))

    def packed(self) -> dict:
        """Arrays for the numba kernels, one slice per class (see :meth:`GaussianCopula.packed`)."""
        self._weights(None)
        return pack_copulas(self.components_)

    def to_dict(self) -> dict:
        self._weights(None)
        return {"kind": "class_conditional_copula", "version": 1, "priors": self.priors_.tolist(),
                "component_class": self.component_class_.tolist(),
                "components": [c.to_dict() for c in self.components_]}

    @classmethod
    def from_dict(cls, data: dict) -> "ClassConditionalCopula":
        try:
            comps = [GaussianCopula.from_dict(c) for c in data["components"]]
            obj = cls(max_knots=comps[0].max_knots, ridge=comps[0].ridge)
            obj.components_ = comps
            obj.priors_ = np.asarray(data["priors"], dtype=np.float64)
            # written before classes could be mixtures: one component per class
            obj.component_class_ = np.asarray(data.get("component_class", range(len(comps))), dtype=np.int64)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            if isinstance(exc, ModelError):
                raise
            raise ModelError(f"conditional model is malformed: {exc}") from None
        if (obj.priors_.shape != (len(comps),) or len({c.n_features_ for c in comps}) != 1
                or not np.isfinite(obj.priors_).all() or (obj.priors_ < 0).any() or abs(obj.priors_.sum() - 1) > 1e-6):
            raise ModelError("conditional model is malformed: components and priors disagree")
        owner = obj.component_class_
        if (owner.shape != (len(comps),) or owner[0] != 0 or (np.diff(owner) < 0).any() or (np.diff(owner) > 1).any()):
            raise ModelError("conditional model is malformed: 'component_class' must give each component's class, "
                             "in class order from 0")
        obj.n_features_ = comps[0].n_features_
        return obj

    def __repr__(self) -> str:
        if not hasattr(self, "components_"):
            return "<ClassConditionalCopula (not fitted)>"
        return f"<ClassConditionalCopula: {len(self.components_)} class copulas over {self.n_features_} features>"
