"""Issue 15's regressions: outputs never lost or clobbered, crafted model folders and specs refused in
one line (exit 2), other user mistakes exit 2."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from acquire import AcquireError, load_model, load_spec
from acquire._io import output_lock
from acquire.cli.main import cli
from acquire.exceptions import ModelError, SpecError
from acquire.pipeline.batch import run_batch


def one_line_exit_2(result):
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("Error: "), result.stderr


@pytest.fixture
def cases(tmp_path, pima):
    frame, _ = pima
    path = tmp_path / "cases.csv"
    frame.drop(columns="type").head(30).assign(glu=np.nan).to_csv(path, index=False)
    return path


# ---- data loss with exit 0 -------------------------------------------------------------------------

def test_a_second_batch_to_the_same_output_is_refused_while_the_first_runs(pima_model, cases, tmp_path):
    out = tmp_path / "next.csv"
    with output_lock(out):  # a first run holds the output
        with pytest.raises(AcquireError, match="another acquire run is writing this output now"):
            run_batch(pima_model, cases, out)
    assert not out.exists()
    run_batch(pima_model, cases, out)  # once it is done, the next run goes ahead
    assert len(pd.read_csv(out)) == 30


def test_equal_paths_are_refused_after_resolving_links(pima_model_dir, cases, tmp_path):
    out = tmp_path / "next.csv"
    (tmp_path / "link.csv").symlink_to(out)
    runner = CliRunner()
    before = cases.read_bytes()
    base = ["batch", "--model", str(pima_model_dir), "--in", str(cases)]
    for extra, words in [(["--out", str(out), "--errors", str(out)], "--errors and --out name the same file"),
                         (["--out", str(out), "--errors", str(tmp_path / "link.csv")], "--errors and --out"),
                         (["--out", str(cases)], "--out and --in name the same file"),
                         (["--out", str(out), "--errors", str(cases)], "--errors and --in")]:
        result = runner.invoke(cli, base + extra)
        one_line_exit_2(result)
        assert words in result.stderr
    assert cases.read_bytes() == before and not out.exists()  # nothing written, the input untouched


def test_non_regular_targets_are_refused(pima_model_dir, cases, tmp_path):
    runner = CliRunner()
    batch = runner.invoke(cli, ["batch", "--model", str(pima_model_dir), "--in", str(cases), "--out", os.devnull])
    one_line_exit_2(batch)
    assert "is not a regular file" in batch.stderr
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    plot = runner.invoke(cli, ["explain", "--model", str(pima_model_dir), "--data", str(cases), "--row", "0",
                               "--plot", str(fifo), "-q"])
    one_line_exit_2(plot)
    assert "is not a regular file" in plot.stderr and fifo.is_fifo()


# ---- model folders ----------------------------------------------------------------------------------

def reseal(folder):
    """Recompute every checksum, as whoever edits a folder can."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"] = {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in manifest["files"]}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def edit_trees(folder, edit):
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(str(folder / "predictor.ubj"))
    model = json.loads(bytes(booster.save_raw("json")))
    edit(model["learner"]["gradient_booster"]["model"]["trees"][0])
    crafted = xgb.Booster()
    crafted.load_model(bytearray(json.dumps(model).encode()))  # XGBoost itself takes it
    crafted.save_model(str(folder / "predictor.ubj"))
    reseal(folder)


@pytest.mark.parametrize("edit, words", [
    (lambda t: t["split_indices"].__setitem__(0, 10**6), "feature index outside"),
    (lambda t: t["split_indices"].__setitem__(0, -5), "feature index outside"),
    (lambda t: t["left_children"].__setitem__(0, 0), r"points back \(a cycle\)"),
    (lambda t: t["right_children"].__setitem__(0, 10**6), "out of range"),
    (lambda t: t["left_children"].__setitem__(t["left_children"].index(-1), -880851), "negative but not -1"),
])
def test_crafted_trees_are_refused_before_any_kernel(pima_model_dir, tmp_path, edit, words):
    folder = tmp_path / "m"
    shutil.copytree(pima_model_dir, folder)
    edit_trees(folder, edit)
    with pytest.raises(ModelError, match=words):
        load_model(folder)
    one_line_exit_2(CliRunner().invoke(cli, ["rank", "--model", str(folder), "--case", '{"age": 30}']))


def test_flipped_bytes_in_the_predictor_never_crash_the_process(pima_model_dir, tmp_path):
    """XGBoost's own UBJSON loader trusts the file's lengths: one flipped byte could kill the process.
    300 corrupted copies (checksums recomputed) are loaded and ranked in a child process, which must
    finish: every copy is refused in one line or still ranks."""
    import subprocess
    import sys

    script = f"""
import hashlib, json, random, shutil, pathlib
from acquire import load_model, AcquireError
src, rng = pathlib.Path({str(pima_model_dir)!r}), random.Random(0)
raw0 = (src / "predictor.ubj").read_bytes()
refused = ranked = 0
for i in range(300):
    d = pathlib.Path({str(tmp_path)!r}) / f"m{{i}}"
    shutil.copytree(src, d)
    raw = bytearray(raw0)
    at = rng.randrange(len(raw))
    if i % 3:
        raw[at:at + 4] = bytes(rng.randrange(256) for _ in range(4))
    else:
        raw = raw[:at]
    (d / "predictor.ubj").write_bytes(bytes(raw))
    m = json.loads((d / "manifest.json").read_text())
    m["files"] = {{n: hashlib.sha256((d / n).read_bytes()).hexdigest() for n in m["files"]}}
    (d / "manifest.json").write_text(json.dumps(m))
    try:
        load_model(d).rank({{"age": 30.0}}, seed=0)
        ranked += 1
    except AcquireError as exc:
        assert len(str(exc).splitlines()) == 1, exc
        refused += 1
    shutil.rmtree(d)
print(refused, ranked)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])  # -11 was a segfault
    refused, ranked = map(int, done.stdout.split())
    assert refused + ranked == 300 and refused > 0


def test_garbage_predictor_and_unlisted_files_are_refused(pima_model_dir, tmp_path, monkeypatch):
    folder = tmp_path / "m"
    shutil.copytree(pima_model_dir, folder)
    (folder / "predictor.ubj").write_bytes(os.urandom(4096))
    reseal(folder)
    one_line_exit_2(CliRunner().invoke(cli, ["rank", "--model", str(folder), "--case", '{"age": 30}']))
    for dropped in ("spec.json", "predictor.ubj"):
        shutil.rmtree(folder)
        shutil.copytree(pima_model_dir, folder)
        manifest = json.loads((folder / "manifest.json").read_text())
        del manifest["files"][dropped]  # its content would be read unchecked
        (folder / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(ModelError, match=f"does not list {dropped}|predictor's files are not all listed"):
            load_model(folder)
    shutil.rmtree(folder)
    shutil.copytree(pima_model_dir, folder)
    monkeypatch.setattr("acquire.model.MAX_MODEL_FILE", 100)
    with pytest.raises(ModelError, match="more than a model file can be"):
        load_model(folder)


# ---- specs --------------------------------------------------------------------------------------------

def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    rows = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    rows += [f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")]
    (tmp_path / "bomb.yaml").write_text("\n".join(rows))  # 9^9 strings once expanded
    start = time.perf_counter()
    with pytest.raises(SpecError, match="expands to more than 100,000 values"):
        load_spec(tmp_path / "bomb.yaml")
    assert time.perf_counter() - start < 5  # not the minutes and gigabytes of expanding it


@pytest.mark.parametrize("text, words", [
    ("target: !!int pima", "not valid YAML"),
    ("target: !!bool maybe\nfeatures: []", "not valid YAML"),
    ("target: !!timestamp maybe", "not valid YAML"),
    ("a: " + "[" * 3000 + "]" * 3000, "not valid YAML|Additional properties"),  # depth: the stack decides
    ("target: {name: y, kind: binary}\nfeatures: [{name: a, type: continuous, cost: " + "9" * 400 + "}]",
     r"features\[0\].cost: must be a finite number"),
    ("target: {name: y, kind: binary}\nfeatures: [{name: a, type: continuous, cost: .nan}]",
     r"features\[0\].cost: must be a finite number"),
    ("target: {name: y, kind: binary}\ngroups: {g: {shared_cost: .inf}}\nfeatures: [{name: a, type: continuous, cost: 1}]",
     r"groups.g.shared_cost: must be a finite number"),
    ("target: {name: y, kind: binary}\nfeatures: [{name: a, type: continuous, cost: 1}]\nuse_case: {kind: risk_prediction, nats_per_cost: .nan}",
     r"use_case.nats_per_cost: must be a finite number"),
    ("target: {name: y, kind: binary}\ngroups: {a: {shared_cost: 1}}\nfeatures: [{name: a, type: continuous, cost: 1, group: a}]",
     r"groups.a: group name 'a' is also a feature name"),
    ("target: {name: y, kind: binary}\nfeatures: [{name: a, type: continuous, cost: 1, panel: y}]",
     r"panel name 'y' is also the target's name"),
])
def test_malformed_specs_exit_2_in_one_line(tmp_path, pima, text, words):
    (tmp_path / "spec.yaml").write_text(text)
    pima[0].to_csv(tmp_path / "d.csv", index=False)
    result = CliRunner().invoke(cli, ["fit", "--data", str(tmp_path / "d.csv"), "--spec", str(tmp_path / "spec.yaml"),
                                      "--out", str(tmp_path / "m")])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert all(line.startswith("Error: ") for line in result.stderr.splitlines())
    import re

    assert re.search(words, result.stderr), result.stderr


# ---- whole file lost for one cell ------------------------------------------------------------------

def _damaged_cases(cases, tmp_path):
    """The cases file with a row of 9 fields, a short row, a 310-digit integer and `true` in a number column."""
    lines = cases.read_text().splitlines()
    header = lines[0].split(",")
    lines[2] += ",7"  # row 1: one field too many
    lines[3] = "1,2"  # row 2: cut short
    cells = lines[4].split(",")
    cells[header.index("bp")] = "9" * 310  # row 3
    lines[4] = ",".join(cells)
    cells = lines[25].split(",")
    cells[header.index("npreg")] = "true"  # row 24: in the last chunk of 8
    lines[25] = ",".join(cells)
    path = tmp_path / "damaged.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_malformed_row_is_its_own_error_and_the_rest_is_ranked(pima_model, cases, tmp_path):
    src = _damaged_cases(cases, tmp_path)
    summary = run_batch(pima_model, src, tmp_path / "out.csv", errors_path=tmp_path / "err.csv", chunk_size=8)
    assert (summary.rows, summary.ranked, summary.failed) == (30, 26, 4)
    errors = pd.read_csv(tmp_path / "err.csv")
    assert list(errors["row"]) == [1, 2, 3, 24]
    reasons = list(errors["reason"])
    assert "9 fields where the header has 8" in reasons[0] and "2 fields where the header has 8" in reasons[1]
    assert "'bp': infinite value (or a number too large" in reasons[2]
    assert reasons[3] == "data: row 24, column 'npreg': 'true' is not a number"
    out = pd.read_csv(tmp_path / "out.csv")
    assert len(out) == 30 and list(out.index[out["error"].notna()]) == [1, 2, 3, 24]  # one output row per input row
    assert out.loc[out["error"].isna(), "stop"].notna().all()


def test_parsing_and_output_bytes_do_not_depend_on_the_chunk_size(pima_model, cases, tmp_path):
    src = _damaged_cases(cases, tmp_path)
    digests = set()
    for size in (1, 3, 8, 1000):
        run_batch(pima_model, src, tmp_path / f"o{size}.csv", errors_path=tmp_path / f"e{size}.csv", chunk_size=size)
        digests.add((hashlib.sha256((tmp_path / f"o{size}.csv").read_bytes()).hexdigest(),
                     hashlib.sha256((tmp_path / f"e{size}.csv").read_bytes()).hexdigest()))
    assert len(digests) == 1  # `true` is "not a number" even alone in a chunk of 1


@pytest.mark.parametrize("view", ["next", "long"])
def test_parquet_output_has_one_schema_whatever_a_chunk_holds(pima_model, cases, tmp_path, view):
    import pyarrow.parquet as pq

    src = _damaged_cases(cases, tmp_path)  # chunk 0 has errors, chunk 1 has none: the error column is all-empty there
    run_batch(pima_model, src, tmp_path / "o.parquet", errors_path=tmp_path / "e.parquet", chunk_size=1, view=view)
    run_batch(pima_model, src, tmp_path / "o.csv", chunk_size=1000, view=view)
    table = pq.read_table(tmp_path / "o.parquet")
    if view == "next":
        assert str(table.schema.field("error").type) == "string" and str(table.schema.field("stop").type) == "bool"
        assert str(table.schema.field("glu").type) == "string"  # CSV cells are carried through as written
        assert table.to_pandas().to_csv(index=False, lineterminator="\n") == (tmp_path / "o.csv").read_text()
    else:
        assert str(table.schema.field("row").type) == "int64" and str(table.schema.field("dof").type) == "int64"
    assert list(pd.read_parquet(tmp_path / "e.parquet")["row"]) == [1, 2, 3, 24]


def test_parquet_input_keeps_its_types_and_an_empty_input_still_writes_its_columns(pima_model, cases, tmp_path):
    import pyarrow.parquet as pq

    frame = pd.read_csv(cases)
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    run_batch(pima_model, tmp_path / "in.parquet", tmp_path / "o.parquet", chunk_size=7)
    schema = pq.read_schema(tmp_path / "o.parquet")
    assert str(schema.field("npreg").type) == "int64" and str(schema.field("glu").type) == "double"
    assert len(pd.read_parquet(tmp_path / "o.parquet")) == 30
    frame.head(0).to_parquet(tmp_path / "none.parquet", index=False)
    (tmp_path / "none.csv").write_text(cases.read_text().splitlines()[0] + "\n")
    for src in ("none.parquet", "none.csv"):
        for out in ("e.parquet", "e.csv"):
            summary = run_batch(pima_model, tmp_path / src, tmp_path / out)
            assert summary.rows == 0
            assert "next_test" in (pd.read_parquet if out.endswith("parquet") else pd.read_csv)(tmp_path / out).columns


def test_a_file_whose_name_and_bytes_disagree_is_refused_in_one_line(pima_model_dir, cases, tmp_path):
    runner = CliRunner()
    fake = tmp_path / "cases.parquet"
    shutil.copy(cases, fake)
    batch = runner.invoke(cli, ["batch", "--model", str(pima_model_dir), "--in", str(fake), "--out", str(tmp_path / "o.csv")])
    one_line_exit_2(batch)
    assert "is not a Parquet file" in batch.stderr and "rename it to .csv" in batch.stderr
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1" + os.urandom(200))  # the right magic, then garbage
    batch = runner.invoke(cli, ["batch", "--model", str(pima_model_dir), "--in", str(broken), "--out", str(tmp_path / "o.csv")])
    one_line_exit_2(batch)
    assert "cannot read Parquet" in batch.stderr
    spec = str(pima_model_dir / "spec.json")
    fit = runner.invoke(cli, ["fit", "--data", str(fake), "--spec", spec, "--out", str(tmp_path / "m")])
    one_line_exit_2(fit)
    assert "is not a Parquet file" in fit.stderr


# ---- other user mistakes -----------------------------------------------------------------------------

def test_other_mistakes_exit_2_and_acquire_alone_prints_help():
    runner = CliRunner()
    alone = runner.invoke(cli, [])
    assert alone.exit_code == 0 and "Commands:" in alone.output
    for argv in (["fit", "--dataset", "pima", "--seed", "-1", "--out", "x"], ["rank", "--dataset", "pima", "--row", "0",
                 "--seed", str(2**63)], ["simulate", "--dataset", "pima", "--policies", ""],
                 ["fit", "--dataset", "pima", "--predictor", "bayes", "--draws", str(10**12), "--out", "x"]):
        one_line_exit_2(runner.invoke(cli, argv))


def test_too_few_rows_or_none_exit_2_naming_the_option(pima, pima_model_dir, tmp_path):
    frame, _ = pima
    spec = str(pima_model_dir / "spec.json")
    small, empty = tmp_path / "small.csv", tmp_path / "empty.csv"
    frame.head(12).to_csv(small, index=False)  # No: 8, Yes: 4
    frame.head(0).to_csv(empty, index=False)
    runner = CliRunner()
    cases = {
        ("fit", "--data", str(small), "--spec", spec, "--out", str(tmp_path / "m"), "--holdout", "0.9"):
            r"--holdout 0\.9 cannot split 12 rows \(No: 8, Yes: 4\).*choose --holdout between 0\.17 and 0\.83",
        ("simulate", "--data", str(small), "--spec", spec, "--test-size", "0.9"): r"--test-size 0\.9 cannot split 12",
        ("simulate", "--data", str(small), "--spec", spec, "--folds", "5"):
            r"--folds 5 needs at least 5 rows of every class; its smallest class has 4.*choose --folds 4 or fewer",
        ("simulate", "--data", str(empty), "--spec", spec): r"no rows",
        ("check", "--model", str(pima_model_dir), "--data", str(empty)): r"no rows",
    }
    import re

    for argv, words in cases.items():
        result = runner.invoke(cli, [*argv, "-q"])
        one_line_exit_2(result)
        assert re.search(words, result.stderr), result.stderr
    # the smallest workable share still fits
    assert runner.invoke(cli, ["fit", "--data", str(small), "--spec", spec, "--out", str(tmp_path / "m"), "-q",
                               "--holdout", "0.2"]).exit_code == 0


def test_a_test_done_once_fits_whatever_class_or_split_its_value_falls_in(pima, pima_model_dir, tmp_path):
    """Found by the exhaustive property profile: one value of a column (here bp) in one class only made
    the class-conditional model, or the held-out report's model, fail with a message naming no column."""
    import warnings

    import acquire
    from acquire.exceptions import AcquireWarning

    frame, spec = pima
    frame = frame.head(60).copy()
    frame["bp"] = np.nan
    frame.loc[frame.index[frame["type"] == "Yes"][0], "bp"] = 70.0
    model = acquire.fit_model(frame, spec, seed=0, holdout=0)  # the class "No" never had bp: pooled marginal
    assert np.isfinite(model.rank({"age": 30.0}).to_frame()["value"]).all()
    for seed in range(6):  # some seed holds the one bp value out: the report is skipped, with a warning
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fitted = acquire.fit_model(frame, spec, seed=seed, holdout=0.3)
        said = [str(w.message) for w in caught if issubclass(w.category, AcquireWarning) and "held-out" in str(w.message)]
        if said:
            assert "'bp' has no value in the training part" in said[0] and "by_missingness" not in fitted.metrics
            break
    else:
        pytest.fail("no seed held the only bp value out")


def test_plot_names_and_scheduler_addresses_are_checked_before_any_work(pima_model_dir, cases, tmp_path):
    from acquire.pipeline.distributed import client_for

    runner = CliRunner()
    (tmp_path / "a.b").mkdir()
    for plot in ("out.xyz", str(tmp_path / "a.b" / "out")):  # a dot in a folder name is not an extension
        result = runner.invoke(cli, ["explain", "--model", str(pima_model_dir), "--data", str(cases), "--row", "0",
                                     "--plot", plot])
        one_line_exit_2(result)
        assert "name the file .png, .svg or .pdf" in result.stderr
    result = runner.invoke(cli, ["batch", "--model", str(pima_model_dir), "--in", str(cases), "--out",
                                 str(tmp_path / "o.csv"), "--scheduler", "garbage"])
    one_line_exit_2(result)
    assert "not a scheduler address" in result.stderr
    start = time.perf_counter()
    with pytest.raises(AcquireError, match="could not connect to a Dask scheduler there within 1 s"):
        client_for("tcp://127.0.0.1:9", timeout=1, quiet=True)  # nothing listens on the discard port
    assert time.perf_counter() - start < 30


def test_edited_spec_or_conditional_model_is_refused(pima_model_dir, tmp_path):
    folder = tmp_path / "m"
    edits = {
        "spec.json": lambda d: d.__setitem__("features", d["features"][::-1]),  # reversed: answers would change
        "conditional.json": lambda d: d["components"][0]["correlation"][0].__setitem__(1, float("nan")),
    }
    for name, edit in edits.items():
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(pima_model_dir, folder)
        data = json.loads((folder / name).read_text())
        edit(data)
        (folder / name).write_text(json.dumps(data))
        reseal(folder)
        with pytest.raises(ModelError):
            load_model(folder)
    shutil.rmtree(folder)
    shutil.copytree(pima_model_dir, folder)
    data = json.loads((folder / "conditional.json").read_text())
    corr = data["components"][0]["correlation"]
    corr[0][1] = corr[1][0] = 0.999
    corr[0][2] = corr[2][0] = -0.999
    corr[1][2] = corr[2][1] = 0.999  # symmetric, unit diagonal, not positive definite
    (folder / "conditional.json").write_text(json.dumps(data))
    reseal(folder)
    with pytest.raises(ModelError, match="positive-definite"):
        load_model(folder)


def test_the_strict_ubjson_reader_round_trips_and_refuses_bad_lengths(pima_model_dir):
    from acquire.predictors.ubjson import UBJSONError, decode, encode

    raw = (pima_model_dir / "predictor.ubj").read_bytes()
    doc = decode(raw)
    assert decode(encode(doc))["learner"]["learner_model_param"] == doc["learner"]["learner_model_param"]
    small = {"a": [1, 2.5, None, True, "x"], "b": {"c": np.arange(5, dtype=np.int32)}}
    back = decode(encode(small))
    assert back["a"] == small["a"] and back["b"]["c"].tolist() == [0, 1, 2, 3, 4]
    for bad in (raw[:-1], raw + b"Z", b"[$d#L\x7f\xff\xff\xff\xff\xff\xff\xff", b"S" + b"L\xff" * 4, b"[" * 100 + b"]" * 100,
                b"{L\x00\x00\x00\x00\x00\x00\x00\x01a" + b"Q"):
        with pytest.raises(UBJSONError):
            decode(bad)


def test_a_huge_cell_is_quoted_short_in_its_error_reason(pima_model, cases, tmp_path):
    lines = cases.read_text().splitlines()
    cells = lines[1].split(",")
    cells[1] = "x" * 100_000  # npreg
    lines[1] = ",".join(cells)
    src = tmp_path / "huge.csv"
    src.write_text("\n".join(lines) + "\n")
    run_batch(pima_model, src, tmp_path / "o.csv", errors_path=tmp_path / "e.csv")
    reason = pd.read_csv(tmp_path / "e.csv")["reason"].iloc[0]
    assert len(reason) < 300 and "(100,000 characters)" in reason, reason[:300]
