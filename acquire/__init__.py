"""acquire: rank which costly measurement to collect next by its value of information per unit cost.

The public API:

- :func:`load_spec`, :class:`Spec` — the problem declaration (target, tests, costs, use case);
- :mod:`acquire.datasets` — bundled datasets with real costs and provenance;
- :func:`fit_model`, :func:`load_model`, :class:`Model` — predictor + conditional model bundle;
- :class:`ValueOfInformation`, :class:`Ranking` — the engine and its answer;
- :func:`check` — the outer-alignment checker (findings with numeric evidence).
"""

from acquire._version import __version__
from acquire.exceptions import AcquireError, DataError, ModelError, NotFittedError, SpecError
from acquire.model import Model, fit_model, load_model
from acquire.spec import Spec, load_spec
from acquire.voi import Ranking, ValueOfInformation
from acquire.checks import check

__all__ = [
    "__version__", "AcquireError", "DataError", "ModelError", "NotFittedError", "SpecError",
    "Model", "fit_model", "load_model", "Spec", "load_spec", "Ranking", "ValueOfInformation", "check",
]
