"""Conditional models of the features, p(x_S | x_o).

Both kinds expose ``sample_from_normals(x, normals, ...)``, ``sample(x, n, seed=...)``,
``cdf(x, feature, t)`` and ``to_dict()``; :func:`conditional_from_dict` reads either back.
"""

from acquire.conditional.copula import GaussianCopula
from acquire.conditional.mixture import ClassConditionalCopula
from acquire.exceptions import ModelError

__all__ = ["ClassConditionalCopula", "GaussianCopula", "conditional_from_dict", "conditional_for"]

_KINDS: dict[str, type[GaussianCopula] | type[ClassConditionalCopula]] = {
    "gaussian_copula": GaussianCopula, "class_conditional_copula": ClassConditionalCopula}


def conditional_from_dict(data: dict) -> GaussianCopula | ClassConditionalCopula:
    """Rebuild a conditional model saved with ``to_dict()``."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in _KINDS:
        raise ModelError(f"conditional model: unknown kind {kind!r}; expected one of {sorted(_KINDS)}")
    return _KINDS[kind].from_dict(data)


def conditional_for(predictor, X, y, discrete) -> GaussianCopula | ClassConditionalCopula:
    """The feature model the engine pairs with a fitted ``predictor`` trained on ``X, y``: the predictor's
    own when it has one (the copula classifier's class copulas; the Bayesian GLM's copula, with which it
    integrates missing features), so values stay coherent with the prediction; otherwise copulas fitted
    on the same rows (one for a continuous target, one per class for classes)."""
    if hasattr(predictor, "conditional_model"):
        return predictor.conditional_model()
    own = getattr(predictor, "copula_", None)
    if own is not None:
        return own
    if predictor.kind_ == "continuous":
        return GaussianCopula().fit(X, list(discrete))
    return ClassConditionalCopula().fit(X, list(discrete), y, predictor.n_classes_)
