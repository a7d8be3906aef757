"""acquire: rank which costly measurement to collect next by its value of information per unit cost.

The public API:

- :func:`load_spec`, :class:`Spec` — the problem declaration (target, tests, costs, use case);
- :mod:`acquire.datasets` — bundled datasets with real costs and provenance;
- :func:`fit_model`, :func:`load_model`, :class:`Model` — predictor + conditional model bundle;
- :class:`ValueOfInformation`, :class:`Ranking` — the engine and its answer (:mod:`acquire.engine`);
- :func:`check` — the outer-alignment checker (findings with numeric evidence);
- :mod:`acquire.pipeline`, :mod:`acquire.simulate`, :mod:`acquire.shapley` — frames and files,
  policy simulation, Shapley splits.

Names are imported on first use (PEP 562), so ``import acquire`` and the command line's
``--help`` stay fast: nothing here loads numba, pandas or the predictors until it is needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from acquire._version import __version__
from acquire.exceptions import AcquireError, DataError, ModelError, NotFittedError, SpecError

#: public name → the module that defines it
_LAZY = {
    "Model": "acquire.model", "fit_model": "acquire.model", "load_model": "acquire.model",
    "Spec": "acquire.spec", "load_spec": "acquire.spec",
    "Ranking": "acquire.engine", "ValueOfInformation": "acquire.engine",
    "check": "acquire.checks",
}

__all__ = ["__version__", "AcquireError", "DataError", "ModelError", "NotFittedError", "SpecError", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from acquire.checks import check
    from acquire.engine import Ranking, ValueOfInformation
    from acquire.model import Model, fit_model, load_model
    from acquire.spec import Spec, load_spec


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'acquire' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
