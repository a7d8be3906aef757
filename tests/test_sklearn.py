"""scikit-learn's own estimator checks, and the pipelines users build: AcquireClassifier and
NextTestTransformer as scikit-learn expects them (clone, set_params, set_output, ColumnTransformer,
cross_val_score, CalibratedClassifierCV)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from acquire.classifier import AcquireClassifier
from acquire.pipeline import NEXT_COLUMNS, NextTestTransformer

#: checks that cannot apply to the transformer, by name and reason: its output is a table holding
#: text columns by design (next_test, stop_reason, error), and these checks compare outputs with
#: numeric tolerances; test_transformer_outputs_are_deterministic_and_row_wise checks the same
#: properties with table equality
TEXT_OUTPUT = "the output holds text columns by design; the check compares outputs numerically (see below)"
TRANSFORMER_CANNOT_APPLY = {name: TEXT_OUTPUT for name in (
    "check_pipeline_consistency", "check_estimators_pickle", "check_transformer_data_not_an_array",
    "check_transformer_general", "check_methods_sample_order_invariance", "check_methods_subset_invariance",
    "check_fit_idempotent")}


def _expected_failures(estimator):
    return TRANSFORMER_CANNOT_APPLY if isinstance(estimator, NextTestTransformer) else {}


@parametrize_with_checks([AcquireClassifier(predictor="xgboost", predictor_params={"n_estimators": 10}),
                          NextTestTransformer(exchange_rate=0.01, predictor="xgboost", predictor_params={"n_estimators": 10})],
                         expected_failed_checks=_expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_transformer_outputs_are_deterministic_and_row_wise(pima):
    frame, spec = pima
    X, y = frame[spec.feature_names].head(120), frame["type"].head(120)
    cases = X.head(12).assign(glu=np.nan, ped=np.nan)
    small = {"n_estimators": 20}
    fitted = NextTestTransformer(spec=spec, predictor="xgboost", predictor_params=small).fit(X, y)
    once = fitted.transform(cases)
    pd.testing.assert_frame_equal(once, fitted.transform(cases))  # deterministic
    pd.testing.assert_frame_equal(NextTestTransformer(spec=spec, predictor="xgboost", predictor_params=small).fit(X, y).transform(cases),
                                  once)  # fit idempotent
    order = np.random.default_rng(0).permutation(len(cases))
    pd.testing.assert_frame_equal(fitted.transform(cases.iloc[order]), once.iloc[order])  # row order
    pd.testing.assert_frame_equal(fitted.transform(cases.iloc[:5]), once.iloc[:5])  # a subset: the same rows


def test_pipelines_users_build(pima, pima_model):
    frame, spec = pima
    X, y = frame[spec.feature_names], frame["type"]
    cases = frame.head(20).assign(glu=np.nan)
    # a ColumnTransformer in front (it drops the id-like 'source' column), default numpy output
    front = ColumnTransformer([("keep", FunctionTransformer(), spec.feature_names)], remainder="drop")
    pipe = Pipeline([("front", front), ("next", NextTestTransformer(model=pima_model))])
    out = pipe.fit(cases).transform(cases)
    assert list(out.columns) == spec.feature_names + NEXT_COLUMNS and out["stop"].notna().all()
    # pandas output, with ColumnTransformer's prefixed names: those are not the spec's names, so the
    # transformer says which names it needs instead of ranking the wrong columns
    pandas_pipe = clone(pipe).set_output(transform="pandas")
    with pytest.raises(ValueError, match="missing column"):
        pandas_pipe.fit(cases).transform(cases)
    named = Pipeline([("front", ColumnTransformer([("keep", FunctionTransformer(), spec.feature_names)],
                                                  verbose_feature_names_out=False)),
                      ("next", NextTestTransformer(model=pima_model))]).set_output(transform="pandas")
    pd.testing.assert_frame_equal(named.fit(cases).transform(cases).reset_index(drop=True), out, check_dtype=False)
    assert list(named.get_feature_names_out()) == spec.feature_names + NEXT_COLUMNS
    # parameters as scikit-learn handles them
    with pytest.raises(ValueError, match="Invalid parameter 'bogus'"):
        NextTestTransformer().set_params(bogus=1)
    assert clone(NextTestTransformer(budget=5.0)).get_params()["budget"] == 5.0
    assert "NextTestTransformer" in NextTestTransformer()._repr_html_()
    # the classifier in model selection and calibration
    clf = AcquireClassifier(spec=spec, predictor="xgboost", predictor_params={"n_estimators": 30})
    auc = cross_val_score(clf, X, y, cv=3, scoring="roc_auc")
    assert auc.mean() > 0.75
    calibrated = CalibratedClassifierCV(clf, cv=3).fit(X, y)
    proba = calibrated.predict_proba(X.head(5).assign(glu=np.nan))  # NaN: glu not measured
    assert proba.shape == (5, 2) and np.allclose(proba.sum(axis=1), 1)
    fitted = clone(clf).fit(X, y)
    assert list(fitted.classes_) == ["No", "Yes"] and fitted.model_.rank({"age": 30.0}).candidates



def test_the_classifier_takes_text_columns_as_categorical_tests(pima):
    """pandas 3 reads text as its 'str' dtype (not object): such a column is a categorical test."""
    frame, spec = pima
    X = frame[spec.feature_names].assign(site=np.where(np.arange(len(frame)) % 2, "a", "b"))
    clf = AcquireClassifier(predictor="xgboost", predictor_params={"n_estimators": 10}).fit(X, frame["type"])
    assert clf.model_.spec.features[-1].type == "categorical" and clf.model_.spec.features[-1].levels == ("a", "b")
    assert clf.predict_proba(X.head(3).assign(site=np.nan)).shape == (3, 2)
