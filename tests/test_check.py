"""The alignment checker: planted problems are found with numbers; clean data is not flagged."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import acquire
from acquire import datasets, load_spec
from acquire.checks import check
from acquire.cli import cli


@pytest.fixture(scope="module")
def kidney_report():
    frame, spec = datasets.load("kidney_treatment")
    model = acquire.fit_model(frame, spec, seed=0, holdout=0, predictor_params={"n_estimators": 60})
    return check(model, frame, seed=0)


def test_planted_problems_are_found(kidney_report):
    found = {f.id: f for f in kidney_report.findings}
    assert kidney_report.worst == "high"
    assert found["leaky_features.after_decision"].features == ["icu_days"]
    t = found["treatment_confounding"]
    assert t.severity == "high" and t.features == ["aggressive_treatment"]
    # ground truth: treatment helps (log-odds −0.9) but is given to the sickest
    assert t.evidence["naive_risk_difference"] > 0.1 and t.evidence["naive_ci95"][0] > 0
    assert t.evidence["stratified_risk_difference"] < 0 and t.evidence["stratified_ci95"][1] < 0
    assert t.evidence["sign_reverses"] is True
    p = found["sensitive_proxies"]
    assert p.features == ["neighborhood_income"] and p.evidence["per_feature_auroc"]["neighborhood_income"]["auroc"] > 0.9
    assert p.evidence["per_feature_auroc"]["creatinine"]["ci95"][0] < 0.56  # no other feature is a proxy


def test_clean_data_is_not_flagged(pima_model, pima):
    frame, _ = pima
    report = check(pima_model, frame, seed=0)
    assert {f.id for f in report.findings} <= {"objective_disagreement"}  # no leak, no treatment, no sensitive column


def randomized_trial(seed, n=2000):
    """Treatment given at random and without effect: nothing to reverse."""
    rng = np.random.default_rng(seed)
    s = rng.normal(size=n)
    t = rng.binomial(1, 0.5, n)
    y = rng.binomial(1, 1 / (1 + np.exp(-(-1 + 1.5 * s))))
    frame = pd.DataFrame({"lab": s + rng.normal(0, 0.5, n), "treated": t, "death": y})
    spec = load_spec({"target": {"name": "death", "kind": "binary", "classes": [0, 1]},
                      "features": [{"name": "lab", "type": "continuous", "cost": 1.0},
                                   {"name": "treated", "type": "binary", "levels": [0, 1], "cost": 0.0,
                                    "role": "treatment"}],
                      "use_case": {"kind": "treatment"}})
    return frame, spec


def test_no_false_reversals_when_treatment_is_randomized():
    reversals = 0
    for seed in range(5):
        frame, spec = randomized_trial(seed)
        model = acquire.fit_model(frame, spec, seed=0, holdout=0, predictor_params={"n_estimators": 20})
        t = next(f for f in check(model, frame, seed=seed, checks=["treatment_confounding"]).findings)
        reversals += t.evidence["sign_reverses"]
        assert abs(t.evidence["stratified_risk_difference"]) < 0.06
    assert reversals == 0  # false-positive rate of the reversal: 0 of 5


def test_check_cli_strict_report_and_formats(tmp_path):
    run = CliRunner().invoke
    strict = run(cli, ["check", "--dataset", "kidney_treatment", "--strict", "-q", "--report", str(tmp_path / "r")])
    assert strict.exit_code == 3
    assert "treatment_confounding" in (tmp_path / "r" / "report.md").read_text()
    assert json.loads((tmp_path / "r" / "report.json").read_text())["worst"] == "high"
    ok = run(cli, ["check", "--dataset", "pima", "--strict", "-q", "--format", "json"])
    assert ok.exit_code == 0 and json.loads(ok.output)["worst"] in ("warning", "info", None)
    bad = run(cli, ["check", "--dataset", "pima", "--model", "x"])
    assert bad.exit_code == 2 and bad.output.startswith("Error: ")


def care_generator():
    import importlib.util

    from acquire.datasets import _root

    with __import__("importlib").resources.as_file(_root().joinpath("care_management", "generate.py")) as path:
        module_spec = importlib.util.spec_from_file_location("care_generate", path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    return module.main


def _care_report(frame, seed=0):
    from acquire.checks import check_held_out

    _, spec = datasets.load("care_management")
    return check_held_out(frame, spec, seed=seed, checks=["proxy_target", "testing_burden", "sensitive_proxies"])


def test_care_management_planted_proxy_burden_and_hole():
    frame, _ = datasets.load("care_management")
    found = {f.id: f for f in _care_report(frame).findings}
    proxy = found["proxy_target"]
    # ground truth: B is sicker (+0.4 SD of need) and costs less at the same need
    assert proxy.severity == "high" and proxy.features == ["group"]
    b = proxy.evidence["by_group"]["group=B"]
    assert b["calibration_gap"] > 0.3 and b["ci95"][0] > 0
    assert b["share_flagged"] < b["share_high_need"] - 0.05
    burden = found["testing_burden"]
    assert burden.severity == "warning" and burden.evidence["by_group"]["group=B"]["ci95"][0] > 0
    hole = found["subgroup_performance"]
    assert list(hole.evidence["holes"]) == ["clinic=5"] and hole.evidence["holes"]["clinic=5"]["auroc"] < 0.65
    assert found["sensitive_proxies"].evidence["shapley_share_of_prediction"]["prior_cost"] > 0.1


def test_care_management_clean_twin_is_not_flagged():
    frame = care_generator()(seed=3, planted=False)
    flagged = {f.id for f in _care_report(frame, seed=3).findings if f.severity != "info"}
    assert not flagged & {"proxy_target", "testing_burden", "subgroup_performance"}


def test_randomized_treatment_in_pbc_does_not_reverse():
    frame, spec = datasets.load("pbc")
    model = acquire.fit_model(frame, spec, seed=0, holdout=0, predictor_params={"n_estimators": 60})
    (finding,) = check(model, frame, seed=0, checks=["treatment_confounding"]).findings
    assert finding.severity == "warning" and finding.evidence["sign_reverses"] is False  # risk use case: a warning only
    assert finding.evidence["stratified_ci95"][0] < 0 < finding.evidence["stratified_ci95"][1]


def test_report_folder_has_table_first_and_a_figure_per_finding(kidney_report, tmp_path):
    out = kidney_report.write(tmp_path / "report")
    text = (out / "report.md").read_text()
    lines = text.splitlines()
    assert lines[2] == "Data: kidney_treatment · 4,000 rows"
    assert "cross-fitted" in lines[4]  # how the predictions were judged, in words, then the findings table
    assert lines[6].startswith("| # | severity |")
    figures = sorted(p.name for p in out.glob("*.png"))
    assert len(figures) >= 3 and any("treatment_confounding" in f for f in figures)
    for name in figures:
        assert f"]({name})" in text and (out / name).stat().st_size > 5000
        assert (out / name).with_suffix(".svg").read_text().lstrip().startswith("<?xml")  # and an SVG beside it
    # evidence as Markdown tables for people: no Python reprs, intervals as ranges beside their value
    body = [line for line in lines if not line.startswith(("#", "!["))]
    assert not any(c in line for line in body for c in "{[") and not any("': " in line for line in body)
    assert "| evidence | value |" in text and "| naive risk difference (95 % CI) |" in text
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(acquire.AcquireError, match="refusing to overwrite"):
        kidney_report.write(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_check_with_a_use_case_does_not_modify_the_callers_model(pima, pima_model):
    frame, _ = pima
    before = (pima_model.spec.use_case.copy(), pima_model.spec.to_dict())
    report = check(pima_model, frame, use_case="treatment", checks=["leaky_features"])
    assert report.use_case == "treatment"
    assert (pima_model.spec.use_case, pima_model.spec.to_dict()) == before


def test_a_strong_marker_is_evidence_not_a_leak():
    """Severity follows what the spec says of a feature's timing (issue: good data must pass --strict)."""
    from types import SimpleNamespace

    from acquire.checks.leakage import leaky_features

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    strong = y * 2.6 + rng.normal(size=y.size)         # AUROC about 0.97: a real marker can be this good
    perfect = y + 0.01 * rng.normal(size=y.size)       # AUROC 1: set by the outcome
    frame = pd.DataFrame({"y": y, "strong": strong, "vouched": strong, "perfect": perfect})
    spec = load_spec({"target": {"name": "y", "kind": "binary", "classes": [0, 1]},
                      "features": [{"name": "strong", "type": "continuous", "cost": 1.0},
                                   {"name": "vouched", "type": "continuous", "cost": 1.0,
                                    "available": "before_decision"},
                                   {"name": "perfect", "type": "continuous", "cost": 1.0}]})
    found = {f.features[0]: f for f in leaky_features(SimpleNamespace(spec=spec), frame, rng)}
    assert 0.95 < found["strong"].evidence["single_feature_auroc"] < 0.99
    assert found["strong"].severity == "warning" and "declare" in found["strong"].advice
    assert found["vouched"].severity == "info"
    assert found["perfect"].severity == "high" and "not declared" in found["perfect"].advice


def test_breast_cancer_passes_strict():
    """Strong cytology markers are warnings, not a failed CI gate."""
    result = CliRunner().invoke(cli, ["check", "--dataset", "breast_cancer", "--strict", "-q", "--format", "json"])
    assert result.exit_code == 0, result.output
    findings = json.loads(result.output)["findings"]
    assert any(f["id"] == "leaky_features.too_predictive" and f["severity"] == "warning" for f in findings)


def test_check_refuses_a_report_folder_it_cannot_write_before_any_work(tmp_path, monkeypatch):
    import acquire.checks as checks

    def no_work(*args, **kwargs):
        raise AssertionError("the check ran before the output path was validated")

    monkeypatch.setattr(checks, "check_held_out", no_work)
    result = CliRunner().invoke(cli, ["check", "--dataset", "pima", "--report", str(tmp_path / "no" / "such" / "r")])
    assert result.exit_code == 2 and "does not exist" in result.output
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep me")
    result = CliRunner().invoke(cli, ["check", "--dataset", "pima", "--report", str(tmp_path / "notes")])
    assert result.exit_code == 2 and "refusing to overwrite" in result.output
    assert (tmp_path / "notes" / "mine.txt").read_text() == "keep me"


def test_evidence_reads_as_markdown_tables():
    from acquire.checks.report import evidence_markdown, number

    lines = evidence_markdown({"cases": 600, "mean_cost": 1.23456, "auroc": 0.81234, "auroc_ci95": [0.7, 0.9],
                               "flag": True, "by_group": {"sex=F": {"rows": 1200, "mean_cost": 2.0, "ci95": [1.5, 2.5]},
                                                          "sex=M": {"rows": 34, "mean_cost": 3.25}}})
    assert lines[:6] == ["| evidence | value |", "| --- | ---: |", "| cases | 600 |", "| mean cost | 1.235 |",
                         "| auroc (95 % CI) | 0.8123 (0.7 to 0.9) |", "| flag | yes |"]
    assert lines[7:] == ["**by group**", "", "| | rows | mean cost (95 % CI) | mean cost |",
                         "| --- | ---: | ---: | ---: |", "| sex=F | 1,200 | 2 (1.5 to 2.5) | – |",
                         "| sex=M | 34 | – | 3.25 |"]
    assert [number(v) for v in (1234567, 0.5, 2.0, 1e-5, float("nan"))] == ["1,234,567", "0.5", "2", "1e-05", "–"]


def test_metric_frame_is_a_group_by_with_bootstrap_intervals():
    from scipy.stats import bootstrap

    from acquire.checks._stats import metric_frame
    from acquire.metrics import case_bootstrap

    rng = np.random.default_rng(0)
    cost = np.r_[rng.normal(2, 1, 300), rng.normal(5, 1, 100)]
    labels = np.array(["A"] * 300 + ["B"] * 100 + [None] * 0, dtype=object)
    table = metric_frame({"mean_cost": lambda r: cost[r].mean()}, labels, np.random.default_rng(1),
                         differences=("mean_cost",))
    expected = pd.Series(cost).groupby(labels).mean()  # what a group-by gives
    assert np.allclose(table["mean_cost"], expected) and list(table["rows"]) == [300, 100]
    assert table.loc["B", "mean_cost_difference_vs_rest"] == pytest.approx(cost[300:].mean() - cost[:300].mean())
    for name in ("mean_cost", "mean_cost_difference_vs_rest"):
        assert (table[f"{name}_ci_lower_95"] < table[name]).all() and (table[name] < table[f"{name}_ci_upper_95"]).all()
    # B's mean cost interval is about ±1.96 · sd/√n wide
    half = (table.loc["B", "mean_cost_ci_upper_95"] - table.loc["B", "mean_cost_ci_lower_95"]) / 2
    assert half == pytest.approx(1.96 * cost[300:].std() / 10, rel=0.3)
    # the helper is scipy's bootstrap over case positions: the same interval from the same stream
    lo, hi, dist = case_bootstrap(lambda r: cost[r].mean(), 400, 7, n_boot=300)
    ref = bootstrap((np.arange(400),), lambda r: cost[r].mean(), n_resamples=300, vectorized=False,
                    method="percentile", rng=np.random.default_rng(7), batch=50)
    assert (lo, hi) == (ref.confidence_interval.low, ref.confidence_interval.high) and dist.shape == (300,)
