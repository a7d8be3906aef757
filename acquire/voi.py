"""Stable import path for the engine (``from acquire.voi import ValueOfInformation``); it lives in :mod:`acquire.engine`."""

from acquire.engine import CandidateValue, Ranking, ValueOfInformation, standard_normal_draws

__all__ = ["CandidateValue", "Ranking", "ValueOfInformation", "standard_normal_draws"]
