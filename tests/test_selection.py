"""Predictor selection (``fit --predictor auto``): the one-standard-error rule, the table, the
prevalence check and ``--strict``."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import acquire
from acquire.cli.main import cli
from acquire.exceptions import AcquireError, AcquireWarning
from acquire.selection import Candidate, one_standard_error_choice, select_predictor


def test_one_standard_error_rule():
    per_fold = pd.DataFrame({"copula": [0.50, 0.54, 0.47], "xgboost": [0.49, 0.515, 0.485]})
    assert one_standard_error_choice(per_fold) == "copula"  # 0.0067 worse on average, within one paired s.e. (0.0117)
    per_fold = pd.DataFrame({"copula": [0.55, 0.57, 0.54], "xgboost": [0.49, 0.515, 0.485]})
    assert one_standard_error_choice(per_fold) == "xgboost"  # clearly worse: the best wins
    per_fold = pd.DataFrame({"a": [0.6, 0.6], "b": [0.5, 0.5], "c": [0.5, 0.5]})
    assert one_standard_error_choice(per_fold) == "b"  # exact tie: the earlier


def noise_frame(n=240, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    frame["y"] = np.where(rng.uniform(size=n) < 0.3, "yes", "no")
    spec = acquire.load_spec({"target": {"name": "y", "kind": "binary", "classes": ["no", "yes"]},
                              "features": [{"name": c, "type": "continuous", "cost": 1} for c in "abc"],
                              "use_case": {"kind": "risk_prediction", "nats_per_cost": 0.01}})
    return frame, spec


def test_selection_table_scores_every_candidate_and_the_baselines_on_the_same_folds():
    frame, spec = acquire.datasets.load("pima")
    model = acquire.fit_model(frame, spec, seed=0, holdout=0)
    selection = model.metrics["selection"]
    table = pd.DataFrame(selection["table"])
    assert set(table["candidate"]) == {"copula", "xgboost(max_depth=1, n_estimators=400)", "xgboost(max_depth=2)",
                                       "xgboost(max_depth=4)", "prevalence (baseline)", "logistic (baseline)"}
    random = table[table["curriculum"] == "random"]
    assert sorted(set(random["missing_fraction"])) == [0.0, 0.25, 0.5, 0.75]
    assert {"log_loss", "brier", "auroc"} <= set(table.columns)
    chosen = table[table["chosen"]]["candidate"].unique().tolist()
    assert chosen == [selection["chosen"]] and model.predictor.name == selection["predictor"]
    # the choice is scored on the greedy-order curriculum: one row per candidate, its states' mean hidden share
    assert selection["curriculum"] == "greedy order" and "greedy value-of-information policy" in selection["protocol"]
    greedy = table[table["curriculum"] == "greedy order"].set_index("candidate")
    assert len(greedy) == 6 and greedy["missing_fraction"].between(0.05, 0.95).all()
    assert greedy["missing_fraction"].nunique() == 1  # every candidate scored on the same states
    assert greedy.loc[selection["chosen"], "log_loss"] < greedy.loc["prevalence (baseline)", "log_loss"]
    assert selection["beats_prevalence"]


def test_the_curriculum_follows_the_greedy_policys_order_case_by_case():
    """greedy_states: each held-out case gives one state per step, nothing observed first, and each next state
    adds exactly the members of the test the reference's greedy policy recommends in the state before."""
    from acquire.model import Model
    from acquire.predictors import CopulaClassifier
    from acquire.selection import greedy_states

    frame, spec = acquire.datasets.load("pima")
    spec = spec.with_classes_from(frame[spec.target_name])
    X, y = spec.encode(frame), spec.encode_target(frame[spec.target_name])
    train, test = np.arange(400), np.arange(400, 420)
    reference = CopulaClassifier(pooling=0.5, shrinkage=0.1).fit(X[train], y[train], kind="binary")
    states, labels = greedy_states(reference, spec, X[train], y[train], X[test], y[test], seed=0,
                                   discrete=[f.is_discrete for f in spec.features])
    ranker = Model(spec, reference, reference.conditional_model()).ranker(exchange_rate=0.0, include_groups=False,
                                                                         n_draws=64)
    starts = np.flatnonzero(np.isnan(states).all(axis=1))
    assert starts.size == 20 and starts[0] == 0  # one run of states per case, each from nothing observed
    ends = np.append(starts[1:], len(states))
    for case, (a, b) in enumerate(zip(starts, ends)):
        assert (labels[a:b] == y[test][case]).all()
        for k in range(a, b - 1):
            batch = ranker.rank_batch(states[k][None])
            unit = batch.units[int(batch.decision.recommended[0])]
            added = np.flatnonzero(np.isnan(states[k]) & ~np.isnan(states[k + 1]))
            assert sorted(spec.feature_names[j] for j in added) == sorted(unit.members)
            np.testing.assert_array_equal(states[k + 1][added], X[test][case, added])


def test_settings_for_one_predictor_keep_the_selection_to_it():
    frame, spec = acquire.datasets.load("pima")
    X, y = spec.encode(frame), spec.encode_target(frame[spec.target_name])
    units = [[j] for j in range(X.shape[1])]
    sel = select_predictor(X, y, kind="binary", n_classes=2, units=units, discrete=[True] + [False] * 6,
                           fixed={"n_estimators": 20}, folds=3)
    assert {c.split("(")[0] for c in sel.table["candidate"] if "baseline" not in c} == {"xgboost"}
    assert sel.curriculum == "random"  # no spec: no costs, no policy to order the cases


def test_the_choice_is_made_on_the_greedy_curriculum_by_the_one_standard_error_rule():
    frame, spec = acquire.datasets.load("pima")
    spec = spec.with_classes_from(frame[spec.target_name])
    X, y = spec.encode(frame), spec.encode_target(frame[spec.target_name])
    units = [[j] for j in range(X.shape[1])]
    sel = select_predictor(X, y, kind="binary", n_classes=2, units=units, discrete=[f.is_discrete for f in spec.features],
                           folds=3, spec=spec, candidates=[Candidate("xgboost", {"max_depth": 4, "n_estimators": 50}),
                                                           Candidate("copula")])
    greedy = sel.table[sel.table["curriculum"] == "greedy order"].set_index("candidate")["log_loss"]
    np.testing.assert_allclose(sel.per_fold.mean(axis=0), greedy[sel.per_fold.columns], rtol=1e-12)
    assert sel.chosen.label == one_standard_error_choice(sel.per_fold)
    np.testing.assert_allclose(sel.mean_scores()[sel.per_fold.columns], greedy[sel.per_fold.columns], rtol=1e-12)
    with pytest.raises(AcquireError, match="no candidate predictor takes the settings"):
        select_predictor(X, y, kind="binary", n_classes=2, units=units, discrete=[False] * 7, fixed={"colour": 1},
                         candidates=[Candidate("copula")])


def test_a_model_no_better_than_the_prevalence_is_warned_about_and_refused_with_strict(tmp_path):
    frame, spec = noise_frame()
    with pytest.warns(AcquireWarning, match="no candidate predictor beats predicting the prevalence"):
        acquire.fit_model(frame, spec, seed=0, holdout=0)
    with pytest.raises(AcquireError, match=r"refused: --strict"):
        acquire.fit_model(frame, spec, seed=0, holdout=0, strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(AcquireError, match=r"no better than predicting the prevalence.*refused \(--strict\)"):
            acquire.fit_model(frame, spec, predictor="xgboost", seed=0, holdout=0.3, strict=True)
    frame.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "spec.json").write_text(acquire._json.dumps(spec.to_dict()))
    result = CliRunner().invoke(cli, ["fit", "--data", str(tmp_path / "d.csv"), "--spec", str(tmp_path / "spec.json"),
                                      "--out", str(tmp_path / "m"), "--strict", "-q"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert "refused: --strict" in result.output and not (tmp_path / "m").exists()
