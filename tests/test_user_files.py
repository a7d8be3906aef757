"""A user's own CSV and spec: every problem in one run, class order fixed at fit, no silent defaults."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

import acquire
from acquire import datasets, load_spec
from acquire.cli.main import cli
from acquire.exceptions import AcquireWarning, DataError, SpecError
from acquire.pipeline import rank_frame
from acquire.simulate import simulate

SPEC = {
    "target": {"name": "outcome", "kind": "binary"},
    "features": [
        {"name": "age_band", "type": "ordinal", "cost": 0.0, "levels": ["<=20", "20-50", ">50"]},
        {"name": "marker", "type": "continuous", "cost": 1.0},
        {"name": "site", "type": "categorical", "cost": 0.5, "levels": ["A", "B"]},
    ],
    "use_case": {"kind": "risk_prediction", "nats_per_cost": 0.01},
}


def user_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    marker = rng.normal(size=n)
    return pd.DataFrame({
        "age_band": rng.choice(["<=20", "20-50", ">50"], n), "marker": marker, "site": rng.choice(["A", "B"], n),
        "outcome": np.where(marker + 0.5 * rng.normal(size=n) > 0, "died", "alive"),
    })


def spec_with(**changes) -> dict:
    spec = json.loads(json.dumps(SPEC))
    for key, value in changes.items():
        node, *path = key.split("__")
        target = spec[node]
        for part in path[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        last = path[-1] if path else None
        if last is None:
            spec[node] = value
        elif value is None:
            target.pop(int(last) if last.isdigit() else last)
        else:
            target[int(last) if last.isdigit() else last] = value
    return spec


def write(tmp_path, spec: dict, frame: pd.DataFrame) -> tuple[str, str]:
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    frame.to_csv(tmp_path / "cases.csv", index=False)
    return str(tmp_path / "spec.yaml"), str(tmp_path / "cases.csv")


# ---- spec and labels ---------------------------------------------------------------------

def test_every_spec_problem_is_reported_in_one_run_one_line_each(tmp_path):
    spec = spec_with(features__1__cost=-1, features__2__levels=None,
                     use_case={"kind": "treatment", "actions": ["wait", "treat"], "utility": [[1, 0], [0, 1]]})
    spec_path, data_path = write(tmp_path, spec, user_frame())
    result = CliRunner().invoke(cli, ["fit", "--data", data_path, "--spec", spec_path, "--out", str(tmp_path / "m")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert all(line.startswith("Error: spec.yaml: ") for line in lines), lines
    assert any("features[1].cost: -1 is less than the minimum of 0" in line for line in lines)
    assert any("features[2].levels" in line and 'levels: ["A", "B"]' in line for line in lines)  # the data's values
    assert any("target.classes: required when use_case.utility is given" in line for line in lines)
    assert not (tmp_path / "m").exists()


def test_a_text_column_without_levels_gets_the_line_to_add():
    spec = load_spec(spec_with(features__0__levels=None))
    with pytest.raises(DataError) as err:
        spec.encode(user_frame())
    message = str(err.value)
    assert "column 'age_band'" in message and "\n" not in message
    assert 'add levels: ["20-50", "<=20", ">50"] (in the order of the scale) under features[0]' in message
    without = load_spec(spec_with(features__2__levels=None, features__2__type="continuous"))
    with pytest.raises(DataError, match=r"declared continuous; if it is a category, set type: categorical and "
                                        r'levels: \["A", "B"\] under features\[2\]'):
        without.encode(user_frame())


def test_class_order_is_fixed_at_fit_and_never_read_from_later_data(tmp_path):
    frame = user_frame()
    spec = load_spec(SPEC)  # no target.classes
    with pytest.raises(DataError, match="declares no target.classes"):
        spec.encode_target(frame["outcome"])
    with pytest.warns(AcquireWarning, match=r"class order \['alive', 'died'\]"):
        model = acquire.fit_model(frame, spec, seed=0, holdout=0)
    assert model.spec.classes == ["alive", "died"]
    model.save(tmp_path / "m")
    again = acquire.load_model(tmp_path / "m")
    only_died = frame[frame["outcome"] == "died"]
    np.testing.assert_array_equal(again.spec.encode_target(only_died["outcome"]), 1)  # a one-class slice: no flip
    only_alive = frame[frame["outcome"] == "alive"]
    np.testing.assert_array_equal(again.spec.encode_target(only_alive["outcome"]), 0)


def test_rank_prints_class_names(tmp_path):
    spec_path, data_path = write(tmp_path, spec_with(target={"name": "outcome", "kind": "binary",
                                                             "classes": ["alive", "died"]}), user_frame())
    assert CliRunner().invoke(cli, ["fit", "-q", "--data", data_path, "--spec", spec_path,
                                    "--out", str(tmp_path / "m")]).exit_code == 0
    result = CliRunner().invoke(cli, ["rank", "-q", "--model", str(tmp_path / "m"), "--data", data_path, "--row", "0",
                                      "--observed", "age_band"])
    assert result.exit_code == 0, result.output
    assert "P(outcome=alive)=" in result.output and "P(outcome=died)=" in result.output
    assert "P(0)" not in result.output


# ---- defaults that silently do nothing -------------------------------------------------------

def test_a_spec_without_an_exchange_rate_is_refused_naming_the_key(tmp_path):
    spec = spec_with(use_case={"kind": "risk_prediction"})
    frame = user_frame()
    with pytest.raises(SpecError, match=r"use_case.nats_per_cost is not set"):
        simulate(frame, load_spec(spec), ["greedy", "all"], max_cases=5, n_boot=10)
    spec_path, data_path = write(tmp_path, spec, frame)
    result = CliRunner().invoke(cli, ["simulate", "-q", "--data", data_path, "--spec", spec_path])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "use_case.nats_per_cost is not set" in result.output
    model = acquire.fit_model(frame, load_spec(spec_with(target={"name": "outcome", "kind": "binary",
                                                                 "classes": ["alive", "died"]},
                                                         use_case={"kind": "treatment", "actions": ["wait", "treat"],
                                                                   "utility": [[0, -10], [-2, -3]]})), holdout=0)
    with pytest.raises(SpecError, match=r"use_case.cost_per_utility is not set"):
        model.rank({"age_band": "<=20"}, objective="evsi")
    assert model.rank({"age_band": "<=20"}, exchange_rate=0.0).exchange_rate == 0.0  # an explicit rate is used


def test_a_rate_that_decides_every_stop_is_warned_about():
    frame = user_frame()
    never = load_spec(spec_with(use_case={"kind": "risk_prediction", "nats_per_cost": 0.0}))
    with pytest.warns(AcquireWarning, match="every case bought every test"):
        sim = simulate(frame, never, ["greedy"], max_cases=20, n_boot=10, predictor="xgboost")
    assert sim.split["exchange_rates"] == {"greedy": 0.0}
    always = load_spec(spec_with(use_case={"kind": "risk_prediction", "nats_per_cost": 50.0}))
    with pytest.warns(AcquireWarning, match="no paid test was worth its cost for any case"):
        simulate(frame, always, ["greedy"], max_cases=20, n_boot=10, predictor="xgboost")
    for rate in (0.05, 0.42):  # every case buys some tests but not all; some cases buy, some do not
        fine = load_spec(spec_with(use_case={"kind": "risk_prediction", "nats_per_cost": rate}))
        with warnings.catch_warnings():
            warnings.simplefilter("error", AcquireWarning)
            sim = simulate(frame, fine, ["greedy"], max_cases=20, n_boot=10, predictor="xgboost")  # the cases decided: no warning
        spent = sim.steps.groupby("case")["cumulative_cost"].max()
        assert (spent > 0).any() and (rate == 0.05 or (spent == 0).any())
    model = acquire.fit_model(frame, always, predictor="xgboost", holdout=0)
    cases = frame.drop(columns="outcome").head(5).assign(marker=np.nan)
    with pytest.warns(AcquireWarning, match=r"no test is worth its cost for any of the 5 rows.*breaks even at"):
        rank_frame(model, cases)
    with pytest.warns(AcquireWarning, match="exchange rate 0"):
        rank_frame(model, cases, exchange_rate=0.0)


def test_rank_says_the_rate_in_use_and_where_a_stop_would_turn(tmp_path):
    spec = spec_with(target={"name": "outcome", "kind": "binary", "classes": ["alive", "died"]},
                     use_case={"kind": "risk_prediction", "nats_per_cost": 50.0})
    spec_path, data_path = write(tmp_path, spec, user_frame())
    assert CliRunner().invoke(cli, ["fit", "-q", "--data", data_path, "--spec", spec_path,
                                    "--out", str(tmp_path / "m")]).exit_code == 0
    args = ["rank", "-q", "--model", str(tmp_path / "m"), "--data", data_path, "--row", "0", "--observed", "age_band"]
    result = CliRunner().invoke(cli, args)
    assert "exchange rate 50 nats per cost units" in result.output
    assert "Stop: no affordable candidate has positive net value." in result.output
    assert "(The best, marker, would be worth its cost at an exchange rate below" in result.output
    zero = CliRunner().invoke(cli, args + ["--exchange-rate", "0"])
    assert "Warning: exchange rate 0: the stop rule never fires" in zero.output


# ---- the checker's protocol --------------------------------------------------------------------

def noise_file(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Labels independent of every feature: any AUROC above 0.5 is the model remembering its rows."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"lab{j}" for j in range(5)])
    frame["sex"] = rng.choice(["F", "M"], n)
    frame["outcome"] = rng.choice(["no", "yes"], n)
    spec = {"target": {"name": "outcome", "kind": "binary", "classes": ["no", "yes"]},
            "features": [{"name": "sex", "type": "categorical", "cost": 0, "levels": ["F", "M"], "sensitive": True}]
            + [{"name": f"lab{j}", "type": "continuous", "cost": 1.0} for j in range(5)],
            "use_case": {"kind": "risk_prediction", "nats_per_cost": 0.0001}}
    return frame, spec


def test_the_model_folder_stores_a_fingerprint_of_its_training_rows(tmp_path):
    frame, spec = noise_file()
    model = acquire.fit_model(frame.iloc[:400], load_spec(spec), holdout=0)
    model.save(tmp_path / "m")
    stored = json.loads((tmp_path / "m" / "training_rows.json").read_text())
    assert len(stored["rows"]) == 400 and "lab0" not in json.dumps(stored)  # hashes only, never values
    loaded = acquire.load_model(tmp_path / "m")
    trained = loaded.trained_on(frame)
    assert trained[:400].all() and not trained[400:].any()
    changed = frame.iloc[:400].assign(lab0=frame["lab0"].iloc[:400] + 1e-9)  # one value differs: another row
    assert not loaded.trained_on(changed).any()


def test_check_on_the_training_file_cross_fits_the_prediction_checks(tmp_path):
    frame, spec = noise_file()
    model = acquire.fit_model(frame, load_spec(spec), holdout=0, predictor_params={"n_estimators": 400, "max_depth": 6})
    from acquire.checks import check

    report = check(model, frame, checks=["testing_burden"], seed=0)
    assert "600 of the 600 rows trained the model" in report.protocol and "cross-fitted: 5 models" in report.protocol
    burden = next(f for f in report.findings if f.id == "testing_burden")
    assert burden.evidence["auroc"] < 0.62  # noise labels: no model can rank them on rows it did not see
    as_given = acquire.Model(model.spec, model.predictor, model.conditional)  # no fingerprint: judged in-sample
    with pytest.warns(AcquireWarning, match="no training-row fingerprint"):
        naive = check(as_given, frame, checks=["testing_burden"], seed=0)
    assert next(f for f in naive.findings if f.id == "testing_burden").evidence["auroc"] > 0.8  # what it hid
    assert "optimistic" in naive.protocol
    spec_path, data_path = write(tmp_path, spec, frame)
    model.save(tmp_path / "m")
    result = CliRunner().invoke(cli, ["check", "--model", str(tmp_path / "m"), "--data", data_path, "--format", "json",
                                      "-q"])
    assert result.exit_code == 0, result.output
    assert "cross-fitted" in json.loads(result.output)["protocol"]


def test_fit_says_when_the_model_loses_to_the_simplest_baselines():
    """Pure noise features: the trees fit noise and lose to the training prevalence on held-out rows;
    fit must say so (it printed nothing), and the report scores both baselines on the same rows."""
    frame, spec = noise_file()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = acquire.fit_model(frame, acquire.load_spec(spec), seed=0, holdout=0.3)
    said = [str(w.message) for w in caught if "held-out log_loss is worse than" in str(w.message)]
    row = model.metrics["by_missingness"][0]
    assert row["log_loss"] > row["prevalence_log_loss"]
    assert any("predicting the training prevalence" in m for m in said), said
    assert {"prevalence", "logistic"} <= set(model.metrics["baselines"])
    # a model that beats both says nothing
    pima_frame, pima_spec = datasets.load("pima")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        good = acquire.fit_model(pima_frame, pima_spec, seed=0, holdout=0.3)
    prevalence_said = [w for w in caught if "training prevalence" in str(w.message)]
    assert good.metrics["by_missingness"][0]["log_loss"] < good.metrics["by_missingness"][0]["prevalence_log_loss"]
    assert not prevalence_said


def test_a_continuous_target_is_checked_against_a_linear_regression(tmp_path):
    """A continuous target's logistic counterpart: a linear regression on the same rows. On a linear
    target the trees lose to it, and fit says so on stderr in one line, shows it in the selection table
    and the held-out report, explains the columns for a continuous target (there is no Brier score and
    no class share), and does not call its unstratified folds stratified."""
    from acquire.metrics import baseline_models

    rng = np.random.default_rng(0)
    X = rng.standard_normal((4000, 3))
    y = 1.5 * X[:, 0] - X[:, 1] + 0.5 * rng.standard_normal(4000)
    linear = baseline_models(X, y, "continuous", 0)["linear"]
    pred = linear(X)
    assert pred.shape == (4000, 2) and pred[0, 1] == pytest.approx(0.25, rel=0.06)  # the residual variance, not var(y)
    exact = baseline_models(X, 1.5 * X[:, 0] - X[:, 1], "continuous", 0)["linear"](X[:5])
    np.testing.assert_allclose(exact[:, 0], 1.5 * X[:5, 0] - X[:5, 1], atol=1e-9)
    X[rng.uniform(size=X.shape) < 0.2] = np.nan  # missing inputs: mean-imputed with indicators, still a prediction
    assert np.isfinite(baseline_models(X, y, "continuous", 0)["linear"](X)).all()

    frame = pd.DataFrame(rng.standard_normal((400, 4)), columns=list("abcd"))
    frame["y"] = 2 * frame["a"] + frame["b"] + 0.5 * frame["c"] + 0.5 * rng.standard_normal(400)
    frame.to_csv(tmp_path / "cases.csv", index=False)
    (tmp_path / "spec.yaml").write_text(
        "target: {name: y, kind: continuous}\nuse_case: {kind: risk_prediction, nats_per_cost: 0.01}\nfeatures:\n"
        + "".join(f"  - {{name: {f}, type: continuous, cost: 1}}\n" for f in "abcd"))
    argv = ["acquire", "fit", "--data", "cases.csv", "--spec", "spec.yaml", "--out", "m", "--quiet"]
    run = subprocess.run([sys.executable, "-c", f"import sys; sys.argv = {argv!r}; from acquire.cli import main; main()"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    said = [line for line in run.stderr.splitlines() if "linear regression" in line]
    assert len(said) == 1 and said[0].startswith("Warning: the model's held-out rmse is worse than a linear regression")
    assert "linear (baseline)" in run.stdout and "linear_rmse" in run.stdout and "linear_nll" in run.stdout
    assert "prevalence_*: the training mean" in run.stdout and "brier" not in run.stdout
    assert "5-fold cross-validation" in run.stdout and "stratified" not in run.stdout
    # simulate reads an error the right way up: a lower nAUC of RMSE is better, and no AUROC target
    argv = ["acquire", "simulate", "--data", "cases.csv", "--spec", "spec.yaml", "--policies", "random",
            "--bootstrap", "10", "--quiet"]
    run = subprocess.run([sys.executable, "-c", f"import sys; sys.argv = {argv!r}; from acquire.cli import main; main()"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "rmse-vs-cost curve / total cost; lower is better)" in run.stdout
    assert "cost→99%: AUROC only (none for rmse)" in run.stdout


def test_the_reported_brier_score_is_the_usual_binary_one():
    """It was the sum over both classes (twice the usual score) under the name 'brier'."""
    from sklearn.metrics import brier_score_loss

    from acquire.metrics import _scores

    p1 = np.array([0.9, 0.2, 0.6, 0.4])
    y = np.array([1, 0, 0, 1])
    scores = _scores(np.column_stack([1 - p1, p1]), y, "binary")
    assert scores["brier"] == pytest.approx(brier_score_loss(y, p1)) == pytest.approx(np.mean((p1 - y) ** 2))
    three = _scores(np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]), np.array([0, 2]), "multiclass")
    assert "brier" not in three and three["brier_multiclass"] == pytest.approx((0.09 + 0.04 + 0.01 + 0.01 + 0.01 + 0.04) / 2)
