"""One interface for every way of computing a value of information, and the registry the engine walks.

A *value estimator* values candidate column sets for a batch of encoded cases. It declares what
it supports (:meth:`ValueEstimator.supports`: the predictor's and conditional model's
capabilities, the candidate kind, the objective and the target kind) and returns one result type,
:class:`ValueEstimate`, of arrays shaped ``(n_cases, n_candidates)``. The engine
(:class:`acquire.engine.ValueOfInformation`) asks the estimators in :data:`ESTIMATORS` in order of
preference and gives each the cells no earlier one took. Adding an estimator is writing one
subclass and putting it in the registry: nothing else dispatches on the predictor's type.

Candidate kinds: ``"single"`` (one missing column) and ``"set"`` (a panel's or group's missing
columns valued together).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, Sequence

import numpy as np

from acquire.spec import Spec

__all__ = ["CANDIDATE_KINDS", "ValueContext", "ValueEstimate", "ValueEstimator", "t_quantile"]

CANDIDATE_KINDS = ("single", "set")


def t_quantile(level: float, dof: np.ndarray) -> np.ndarray:
    """The two-sided Student-t multiplier for ``level`` at ``dof`` degrees of freedom (0 where dof = 0).

    >>> round(float(t_quantile(0.95, np.array([7]))[0]), 3)
    2.365
    """
    from scipy.stats import t

    dof = np.asarray(dof)
    out = np.zeros(dof.shape)
    pos = dof > 0
    out[pos] = t.ppf(0.5 + level / 2, dof[pos])
    return out


@dataclass
class ValueEstimate:
    """Values of candidates for a batch of cases; every array is ``(n_cases, n_candidates)``.

    Attributes
    ----------
    value : ndarray of float
        The value of information (nats for EIG, utility units for EVSI); NaN where not valued.
    se : ndarray of float
        Its standard error (0 where nothing was sampled).
    dof : ndarray of int
        Degrees of freedom of ``se`` (replicates − 1); 0 where nothing was sampled.
    method : ndarray of str
        What was done: ``"exact"`` (a finite sum, no sampling or quadrature error),
        ``"quadrature"`` (an adaptive rule to 1e-6 relative: over a 1-D conditional, or a continuous
        target's predictive-mixture entropy), ``"mc"`` (Monte Carlo).
    diagnostics : dict of str to ndarray
        Extra per-cell numbers an estimator reports, e.g. ``aleatoric_change`` and
        ``epistemic_change`` (the BALD split of a Bayesian predictor's EIG).
    """

    value: np.ndarray
    se: np.ndarray
    dof: np.ndarray
    method: np.ndarray
    diagnostics: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def empty(cls, n: int, n_candidates: int) -> "ValueEstimate":
        return cls(value=np.full((n, n_candidates), np.nan), se=np.zeros((n, n_candidates)),
                   dof=np.zeros((n, n_candidates), dtype=np.int64), method=np.full((n, n_candidates), "", dtype=object))

    def fill(self, cells: np.ndarray, other: "ValueEstimate") -> None:
        """Copy ``other``'s values into the boolean ``cells`` of this estimate."""
        self.value[cells] = other.value[cells]
        self.se[cells] = other.se[cells]
        self.dof[cells] = other.dof[cells]
        self.method[cells] = other.method[cells]
        for name, array in other.diagnostics.items():
            mine = self.diagnostics.setdefault(name, np.full(self.value.shape, np.nan))
            mine[cells] = array[cells]

    def interval(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """``value ∓ t_{dof}(level)·se``: the interval its degrees of freedom call for (a point where dof = 0)."""
        half = t_quantile(level, self.dof) * self.se
        return self.value - half, self.value + half


class ValueContext(Protocol):
    """What an estimator reads from the engine (:class:`acquire.engine.ValueOfInformation` is one)."""

    predictor: Any
    conditional: Any
    spec: Spec
    objective: str
    n_draws: int
    n_replicates: int
    seed: int


class ValueEstimator(ABC):
    """Base class: values the cells of a batch of cases × candidates that it is given.

    Subclasses set the class attributes that say what they support and implement
    :meth:`estimate`. An instance is built from the engine (a :class:`ValueContext`),
    whose public parameters (predictor, conditional, spec, objective, draws, seed) it reads.
    """

    #: name used by ``method=`` and in messages
    name: ClassVar[str]
    #: a capability the predictor must declare (``Predictor.capabilities``), or None for any
    predictor_capability: ClassVar[str | None] = None
    #: a capability the conditional model must declare, or None for any
    conditional_capability: ClassVar[str | None] = None
    candidate_kinds: ClassVar[frozenset[str]] = frozenset(CANDIDATE_KINDS)
    objectives: ClassVar[frozenset[str]] = frozenset({"eig", "evsi"})
    target_kinds: ClassVar[frozenset[str]] = frozenset({"binary", "multiclass", "continuous"})

    def __init__(self, engine: ValueContext) -> None:
        self.engine = engine

    @classmethod
    def supports(cls, predictor: Any, conditional: Any, *, objective: str, candidate: str) -> bool:
        """Whether this estimator can value a ``candidate`` kind under ``objective`` for these models."""
        return ((cls.predictor_capability is None or cls.predictor_capability in getattr(predictor, "capabilities", ()))
                and (cls.conditional_capability is None
                     or cls.conditional_capability in getattr(conditional, "capabilities", ()))
                and candidate in cls.candidate_kinds and objective in cls.objectives
                and predictor.kind_ in cls.target_kinds)

    @abstractmethod
    def estimate(self, X: np.ndarray, columns: Sequence[Sequence[int]], cells: np.ndarray,
                 open_: np.ndarray) -> ValueEstimate:
        """Value candidate ``u`` of case ``i`` wherever ``cells[i, u]`` is True.

        ``X`` is ``(n, p)`` encoded cases (NaN = not measured); ``columns[u]`` lists candidate
        ``u``'s columns, of which those open in each row (``open_[i]``: not measured, not tried)
        are valued together.
        """


def open_columns(open_row: np.ndarray, columns: Sequence[int]) -> list[int]:
    """The columns of ``columns`` that are open (may be acquired) in a case's row of ``open_``."""
    return [c for c in columns if open_row[c]]
