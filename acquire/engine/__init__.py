"""The value engine: value estimators behind one interface, pricing and the stop rule, Shapley games.

- :mod:`.estimator` — :class:`ValueEstimator` (what an estimator supports, one result type
  :class:`ValueEstimate`); the estimators: :mod:`.exact_tree` (single tests of a tree ensemble,
  exact), :mod:`.posterior` (Bayesian classifiers, quadrature and the BALD split),
  :mod:`.monte_carlo` (anything, common random numbers);
- :mod:`.pricing` — prices with shared costs, order, budget and the stop rule, vectorised;
- :mod:`.ranking` — :class:`ValueOfInformation` walks :data:`ESTIMATORS` and returns a
  :class:`Ranking` for one case or a :class:`BatchRanking` for many;
- :mod:`.shapley` — coalition games over a case's tests and their Shapley values;
- :mod:`.draws` — the cached common random numbers.

The numba kernels live in :mod:`acquire.estimators`.
"""

from acquire.engine.draws import standard_normal_draws
from acquire.engine.estimator import ValueEstimate, ValueEstimator
from acquire.engine.pricing import STOP_REASONS, CostTable, Decision, decide, price
from acquire.engine.ranking import ESTIMATORS, BatchRanking, CandidateValue, Ranking, ValueOfInformation

__all__ = ["BatchRanking", "CandidateValue", "CostTable", "Decision", "ESTIMATORS", "Ranking", "STOP_REASONS",
           "ValueEstimate", "ValueEstimator", "ValueOfInformation", "decide", "price", "standard_normal_draws"]
