"""Conditional models of the features, p(x_S | x_o).

Both kinds expose ``sample_from_normals(x, normals, ...)``, ``sample(x, n, seed=...)``,
``cdf(x, feature, t)`` and ``to_dict()``; :func:`conditional_from_dict` reads either back.
"""

from acquire.conditional.copula import GaussianCopula
from acquire.conditional.mixture import ClassConditionalCopula
from acquire.exceptions import ModelError

__all__ = ["ClassConditionalCopula", "GaussianCopula", "conditional_from_dict"]

_KINDS: dict[str, type[GaussianCopula] | type[ClassConditionalCopula]] = {
    "gaussian_copula": GaussianCopula, "class_conditional_copula": ClassConditionalCopula}


def conditional_from_dict(data: dict) -> GaussianCopula | ClassConditionalCopula:
    """Rebuild a conditional model saved with ``to_dict()``."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in _KINDS:
        raise ModelError(f"conditional model: unknown kind {kind!r}; expected one of {sorted(_KINDS)}")
    return _KINDS[kind].from_dict(data)
