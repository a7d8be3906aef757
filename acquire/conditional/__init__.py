"""Conditional models of the features, p(x_S | x_o)."""

from acquire.conditional.copula import GaussianCopula

__all__ = ["GaussianCopula"]
