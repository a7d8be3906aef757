"""Stable import path for the Shapley games (``from acquire.shapley import shapley_values``); they live in :mod:`acquire.engine.shapley`."""

from acquire.engine.shapley import (Game, PathDependentTreeGame, PredictionGame, ShapleyResult, ValueOfInformationGame,
                                    shapley_values)

__all__ = ["Game", "ValueOfInformationGame", "PredictionGame", "PathDependentTreeGame", "ShapleyResult",
           "shapley_values"]
