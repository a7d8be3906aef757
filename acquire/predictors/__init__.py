"""Predictors of ``p(y | x)`` that accept missing inputs, behind one interface (:class:`Predictor`)."""

from acquire.predictors.base import Predictor
from acquire.predictors.bayesian import BayesianPredictor
from acquire.predictors.copula_classifier import CopulaClassifier
from acquire.predictors.xgboost import XGBoostPredictor

#: name → class; ``acquire fit --predictor NAME`` looks names up here.
PREDICTORS: dict[str, type[Predictor]] = {"xgboost": XGBoostPredictor, "copula": CopulaClassifier,
                                          "bayes": BayesianPredictor}

__all__ = ["PREDICTORS", "Predictor", "BayesianPredictor", "CopulaClassifier", "XGBoostPredictor"]
