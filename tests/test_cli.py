"""The command line: outputs, and one-line errors with exit code 2 for user mistakes."""

import json

import pytest
from click.testing import CliRunner

from acquire.cli import cli


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


def test_help_for_every_command(run):
    for args in ([], ["datasets"], ["datasets", "list"], ["datasets", "show"], ["fit"], ["rank"]):
        result = run(*args, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output


def test_datasets_list_and_show(run):
    out = run("datasets", "list")
    assert out.exit_code == 0 and all(n in out.output for n in ("pima", "breast_cancer", "flchain"))
    info = json.loads(run("datasets", "show", "pima", "--format", "json").output)
    assert info["rows"] == 532 and "Turney" in info["provenance"]
    table = run("datasets", "show", "pima").output
    assert "glu" in table and "15.51" in table and "blood_draw" in table and "2.10" in table


def test_rank_table_fits_80_columns(run):
    result = run("rank", "--dataset", "pima", "--row", 0, "--observed", "age,bmi,npreg", "--quiet")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any(line.startswith("glu ") for line in lines)
    assert lines[-1].startswith(("Next: order", "Stop:"))


def test_rank_json_matches_the_interface(run):
    result = run("rank", "--dataset", "pima", "--row", 0, "--observed", "age,bmi,npreg", "--format", "json", "-q")
    d = json.loads(result.output)
    assert {"case", "objective", "current", "candidates", "stop", "recommendation"} <= set(d)
    assert d["objective"] == "eig" and d["case"]["observed"] == {"npreg": 5, "bmi": 30.2, "age": 24}
    assert {c["feature"] for c in d["candidates"]} == {"glu", "bp", "skin", "ped"}
    for c in d["candidates"]:
        assert {"feature", "cost", "value", "se", "net_value", "value_per_cost"} <= set(c)
    ratios = [c["value_per_cost"] for c in d["candidates"]]
    assert ratios == sorted(ratios, reverse=True)
    again = json.loads(run("rank", "--dataset", "pima", "--row", 0, "--observed", "age,bmi,npreg", "--format", "json", "-q").output)
    assert again == d  # same seed, same ranking


def test_rank_csv_and_evsi_panels(run):
    result = run("rank", "--dataset", "breast_cancer", "--row", 3, "--observed", "mean_radius,radius_error,worst_radius",
                 "--objective", "evsi", "--format", "csv", "-q", "--draws", 256)
    assert result.exit_code == 0
    header, *rows = result.output.splitlines()
    assert header.startswith("feature,kind,members,cost,value,se")
    assert any(r.startswith("area,panel,") for r in rows) and not any(r.startswith("radius,") for r in rows)


def test_fit_then_rank_with_a_model_directory(run, tmp_path):
    out = tmp_path / "pima_model"
    fitted = run("fit", "--dataset", "pima", "--out", out, "-q")
    assert fitted.exit_code == 0 and "held-out calibration" in fitted.output and "auroc" in fitted.output
    case = run("rank", "--model", out, "--case", '{"age": 50, "bmi": 35.5, "glu": 150}', "--format", "json")
    d = json.loads(case.output)
    assert d["case"]["observed"] == {"glu": 150, "bmi": 35.5, "age": 50}
    assert "glu" not in {c["feature"] for c in d["candidates"]}
    data = tmp_path / "cases.csv"
    data.write_text("npreg,glu,bp,skin,bmi,ped,age\n1,,70,,30.1,,40\n")
    by_row = run("rank", "--model", out, "--data", data, "--row", 0, "--format", "json")
    assert {c["feature"] for c in json.loads(by_row.output)["candidates"]} == {"glu", "skin", "ped"}
    # the glucose test's price includes the blood draw: no group member was measured
    assert {c["feature"]: c["cost"] for c in json.loads(by_row.output)["candidates"]}["glu"] == pytest.approx(17.61)


def test_fit_with_own_data_and_spec(run, tmp_path, pima):
    frame, _ = pima
    data = tmp_path / "mine.csv"
    frame.head(200).to_csv(data, index=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text("target: {name: type, kind: binary, classes: ['No', 'Yes']}\n"
                    "features:\n  - {name: glu, type: continuous, cost: 17.61}\n  - {name: bmi, type: continuous, cost: 1}\n")
    result = run("fit", "--data", data, "--spec", spec, "--out", tmp_path / "m", "--format", "json", "-q")
    assert result.exit_code == 0 and json.loads(result.stdout)["metrics"]["n_rows"] == 200


def _one_line_error(result, *fragments):
    assert result.exit_code == 2, (result.exit_code, result.output)
    text = result.output.strip()
    assert "Traceback" not in text
    assert len(text.splitlines()) == 1 and text.startswith("Error: "), text
    for f in fragments:
        assert f in text, text


@pytest.mark.parametrize("args, fragments", [
    (["datasets", "show", "iris"], ["unknown dataset 'iris'", "breast_cancer, care_management, flchain, icu, kidney_treatment, pbc, pima"]),
    (["rank", "--dataset", "pima", "--row", 0, "--observed", "age,glucose"], ["unknown feature name(s) 'glucose'"]),
    (["rank", "--dataset", "pima", "--row", 9999], ["row 9999 is out of range", "0..531"]),
    (["rank", "--dataset", "pima", "--case", '{"glu": 900}'], ["column 'glu': 900 is outside the spec's range [0, 300]"]),
    (["rank", "--dataset", "pima", "--case", '{"glu": "high"}'], ["'high' is not a number"]),
    (["rank", "--dataset", "pima", "--case", "{not json"], ["--case: not valid JSON"]),
    (["rank", "--dataset", "pima", "--case", "[1, 2]"], ["neither a JSON object nor a readable JSON file"]),
    (["rank", "--model", "bad\x00path", "--case", "{}"], ["contains a NUL byte"]),
    (["rank", "--dataset", "pima", "--row", 0, "--budget", -5], ["-5"]),
    (["rank", "--dataset", "pima"], ["exactly one of --row N or --case JSON"]),
    (["rank", "--dataset", "pima", "--row", 0, "--objective", "entropy"], ["'entropy' is not one of"]),
    (["rank", "--model", "/nonexistent/model", "--case", "{}"], ["no such model folder"]),
    (["fit", "--data", "/nonexistent.csv", "--spec", "x.yaml", "--out", "m"], ["no such data file"]),
])
def test_user_errors_are_one_line_exit_2(run, args, fragments):
    _one_line_error(run(*args), *fragments)


def test_malformed_spec_and_corrupt_model(run, tmp_path, pima_model_dir):
    data = tmp_path / "d.csv"
    data.write_text("a,y\n1,0\n2,1\n")
    spec = tmp_path / "bad.yaml"
    spec.write_text("target: {name: y, kind: binary}\nfeatures:\n  - {name: a, type: continuous, cost: -2}\n")
    _one_line_error(run("fit", "--data", data, "--spec", spec, "--out", tmp_path / "m"),
                    "bad.yaml: features[0].cost: -2 is less than the minimum of 0")
    spec.write_text("target: {name: y, kind: binary}\nfeatures:\n  - {name: a, type: continuous, cost: 2, colour: red}\n")
    _one_line_error(run("fit", "--data", data, "--spec", spec, "--out", tmp_path / "m"), "'colour' was unexpected")
    data.write_text("a,y\n1,0\n,1\n2,\n")
    spec.write_text("target: {name: y, kind: binary}\nfeatures:\n  - {name: a, type: continuous, cost: 2}\n")
    _one_line_error(run("fit", "--data", data, "--spec", spec, "--out", tmp_path / "m"), "target 'y' is missing in row 2")
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(pima_model_dir, broken)
    (broken / "predictor.ubj").write_bytes(b"garbage")
    _one_line_error(run("rank", "--model", broken, "--case", '{"age": 40}'), "predictor.ubj does not match its checksum")


def test_inputs_are_never_overwritten(run, tmp_path, pima):
    frame, _ = pima
    data = tmp_path / "in.csv"
    frame.to_csv(data, index=False)
    before = data.read_bytes()
    _one_line_error(run("fit", "--data", data, "--spec", tmp_path / "none.yaml", "--out", data), "")
    assert data.read_bytes() == before


def test_explain_splits_the_value_and_saves_a_plot(run, tmp_path):
    plot = tmp_path / "voi.png"
    result = run("explain", "--dataset", "pima", "--row", 0, "--observed", "age,bmi,npreg", "--format", "json",
                 "--plot", plot, "-q", "--draws", 256)
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    assert d["method"] == "enumerated" and d["unit"] == "nats" and abs(d["efficiency_gap"]) < 1e-9  # MC coalitions
    assert {p["player"] for p in d["players"]} == {"glu", "bp", "skin", "ped"}
    assert all(p["dof"] == 7 and p["ci_lower"] < p["shapley"] < p["ci_upper"] for p in d["players"])
    assert sum(p["shapley"] for p in d["players"]) == pytest.approx(d["v_full"] - d["v_empty"])
    assert plot.stat().st_size > 1000 and plot.read_bytes()[:4] == b"\x89PNG"
    table = run("explain", "--dataset", "pima", "--row", 4, "--game", "prediction", "-q")
    assert table.exit_code == 0 and "Shapley split of the prediction" in table.output and "glu" in table.output
    _one_line_error(run("explain", "--dataset", "pima", "--row", 0, "--method", "magic"), "'magic' is not one of")


def test_rank_warns_in_one_line_about_after_decision_values(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("ACQUIRE_CACHE_DIR", str(tmp_path))
    argv = ["acquire", "rank", "--dataset", "kidney_treatment", "--case", '{"age": 60, "icu_days": 20}', "-q",
            "--format", "json"]
    run = subprocess.run([sys.executable, "-c", f"import sys; sys.argv = {argv!r}; from acquire.cli import main; main()"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Warning: left out icu_days")


def test_a_cached_bundled_model_is_refitted_when_the_fitting_code_changes(tmp_path, monkeypatch):
    """The cache key holds a digest of the fitting code: an entry fitted by other code (a stale XGBoost
    model from before `--predictor auto`, same version number) is never served."""
    import acquire.bundled as bundled

    monkeypatch.setenv("ACQUIRE_CACHE_DIR", str(tmp_path))
    fits = []
    real = bundled.fit_without_row
    monkeypatch.setattr(bundled, "fit_without_row", lambda *a, **k: fits.append(1) or real(*a, **k))
    monkeypatch.setattr(bundled, "fitting_code_digest", lambda: "code-a")
    bundled.model_for_row("pima", 3)
    bundled.model_for_row("pima", 3)
    assert len(fits) == 1  # the second call is served from the cache
    monkeypatch.setattr(bundled, "fitting_code_digest", lambda: "code-b")
    bundled.model_for_row("pima", 3)
    assert len(fits) == 2  # other fitting code: fitted afresh
    assert len(list((tmp_path / "models").iterdir())) == 2


def test_the_fitting_code_digest_covers_the_predictors():
    import acquire.bundled as bundled

    root = __import__("pathlib").Path(bundled.__file__).parent
    assert (root / "predictors" / "copula_classifier.py").is_file() and "predictors" in bundled.FITTING_CODE
    assert len(bundled.fitting_code_digest()) == 64
