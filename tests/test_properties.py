"""Property-based tests: whatever the input, no traceback reaches the user.

The normal suite runs a small profile (40 examples per property). For the full run:
    ACQUIRE_HYPOTHESIS_PROFILE=exhaustive pytest tests/test_properties.py     # 10,000 examples each
"""


import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import event, given
from hypothesis import strategies as st

from acquire import AcquireError, load_spec
from acquire.cli import cli
from acquire.pipeline import rank_frame

cell = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
                 st.text(max_size=6), st.booleans(), st.sampled_from(["F", "M", "X", "", "nan", "1e999"]))


@given(st.lists(st.fixed_dictionaries({c: cell for c in ["npreg", "glu", "bp", "skin", "bmi", "ped", "age"]}),
                min_size=1, max_size=8))
def test_any_frame_is_ranked_or_reported_row_by_row(pima_model, rows):
    frame = pd.DataFrame(rows)
    out = rank_frame(pima_model, frame, view="next", errors="report")
    assert len(out) == len(frame)
    for _, row in out.iterrows():  # every row is either ranked (stop decided) or carries its error
        assert pd.isna(row["error"]) != pd.isna(row["stop"])


spec_value = st.recursive(st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), st.integers(), st.text(max_size=8)),
                          lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                          max_leaves=12)


@given(st.dictionaries(st.sampled_from(["target", "features", "groups", "use_case", "name", "extra"]), spec_value,
                       max_size=5))
def test_any_spec_is_loaded_or_rejected_one_line_per_problem(data):
    try:
        load_spec(data)
    except AcquireError as exc:
        lines = str(exc).splitlines()
        assert lines and all(line.startswith("<spec>: ") for line in lines), lines
        assert len(lines) == len(set(lines))


option_value = st.one_of(st.text(max_size=12), st.integers(-5, 10**6).map(str), st.floats(allow_nan=True).map(str),
                         st.sampled_from(["pima", "breast_cancer", "nope", "-1", "nan", "inf", "{}", '{"glu": 1e9}',
                                          "age,bmi", "age,zzz", "eig", "evsi", "json", "csv"]))


@given(st.lists(st.tuples(st.sampled_from(["--dataset", "--row", "--observed", "--case", "--objective", "--budget",
                                           "--exchange-rate", "--draws", "--method", "--format", "--seed", "--model"]),
                          option_value), max_size=5))
def test_any_rank_arguments_exit_0_or_2_without_traceback(args):
    argv = ["rank", "-q"] + [a for pair in args for a in pair]
    result = CliRunner().invoke(cli, argv, catch_exceptions=True)
    assert result.exit_code in (0, 2), (argv, result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("Error: "), result.output


# ---- valid but unusual user files ------------------------------------------------------------------
# What new users hand us: single-class slices, all-missing columns, levels unseen in the model's data,
# a utility matrix under which one action always wins, a spec without an exchange rate. Whatever
# the mix: exit 0 or 2, no traceback, one line per message, strict JSON, a shared cost paid once.

import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from hypothesis import settings  # noqa: E402


@st.composite
def unusual_user_file(draw):
    n = draw(st.integers(40, 120))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    levels = draw(st.sampled_from([["<=20", "20-50", ">50"], ["lo", "hi"], ["a", "b", "c", "d"]]))
    features = [
        {"name": "band", "type": "ordinal", "cost": 0.0, "levels": levels},
        {"name": "lab_a", "type": "continuous", "cost": draw(st.sampled_from([0.5, 1.0, 3.0])), "group": "draw"},
        {"name": "lab_b", "type": "continuous", "cost": 1.0, "group": "draw"},
        {"name": "scan", "type": "continuous", "cost": draw(st.sampled_from([2.0, 10.0]))},
    ]
    frame = pd.DataFrame({
        "band": rng.choice(levels, n), "lab_a": rng.normal(size=n), "lab_b": rng.normal(size=n),
        "scan": rng.normal(size=n),
    })
    if draw(st.booleans()):
        frame["scan"] = np.nan  # a column nobody measured
    missing = draw(st.sampled_from([0.0, 0.3, 0.9]))
    frame.loc[rng.uniform(size=n) < missing, "lab_b"] = np.nan
    frame["outcome"] = np.where(frame["lab_a"] + rng.normal(size=n) > 0, "yes", "no")
    if draw(st.booleans()):
        frame.loc[frame.index[:2], "outcome"] = ["no", "yes"]  # both classes at least once
    use_case: dict = {"kind": draw(st.sampled_from(["risk_prediction", "treatment", "benchmarking"]))}
    if draw(st.booleans()):
        use_case["nats_per_cost"] = draw(st.sampled_from([0.0, 1e-4, 0.01, 5.0]))
    if draw(st.booleans()):
        dominant = draw(st.booleans())
        use_case |= {"actions": ["wait", "treat"],
                     "utility": [[0.0, -1.0], [-5.0, -6.0]] if dominant else [[0.0, -10.0], [-2.0, -3.0]],
                     "cost_per_utility": 0.1}
    target = {"name": "outcome", "kind": "binary"}
    if "utility" in use_case or draw(st.booleans()):
        target["classes"] = ["no", "yes"]
    spec = {"target": target, "groups": {"draw": {"shared_cost": 2.0}}, "features": features, "use_case": use_case}
    cases = frame.drop(columns="outcome").head(6).copy()
    if draw(st.booleans()):
        cases.loc[cases.index[0], "band"] = "unseen"  # a level the spec does not declare
    slice_class = draw(st.sampled_from([None, "no", "yes"]))
    check_rows = frame if slice_class is None else frame[frame["outcome"] == slice_class]  # one class only
    return spec, frame, cases, check_rows


def _strict(text):
    return json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(f"bare {c} in JSON")))


def _messages_are_one_line_each(result):
    for line in result.stderr.splitlines():
        assert line.startswith(("Error: ", "Warning: ")), line
    assert "Traceback" not in result.output


@settings(max_examples=6 if os.environ.get("ACQUIRE_HYPOTHESIS_PROFILE", "default") == "default" else 300)
@given(unusual_user_file())
def test_unusual_but_valid_user_files_never_crash(tmp_path_factory, case):
    spec, frame, cases, check_rows = case
    tmp = tmp_path_factory.mktemp("user")
    (tmp / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    frame.to_csv(tmp / "train.csv", index=False)
    cases.to_csv(tmp / "cases.csv", index=False)
    check_rows.to_csv(tmp / "slice.csv", index=False)
    runner = CliRunner()
    run = lambda *args: runner.invoke(cli, [*args, "-q"], catch_exceptions=True)

    fitted = run("fit", "--data", str(tmp / "train.csv"), "--spec", str(tmp / "spec.yaml"), "--out", str(tmp / "m"),
                 "--format", "json")
    _messages_are_one_line_each(fitted)
    assert fitted.exit_code in (0, 2), fitted.output
    if fitted.exit_code == 2:  # the only refusal of such a file: a column with no value at all, named
        empty = [f["name"] for f in spec["features"] if frame[f["name"]].isna().all()]
        assert empty and "hold no value in any row" in fitted.stderr, fitted.stderr
        assert all(repr(name) in fitted.stderr for name in empty), fitted.stderr
        return
    _strict(fitted.stdout)
    model_spec = json.loads((tmp / "m" / "spec.json").read_text())
    assert model_spec["target"]["classes"] == ["no", "yes"]  # fixed at fit, whatever the spec said

    has_rate = "nats_per_cost" in spec["use_case"]
    ranked = run("rank", "--model", str(tmp / "m"), "--data", str(tmp / "cases.csv"), "--row", "1", "--format", "json")
    _messages_are_one_line_each(ranked)
    assert ranked.exit_code == (0 if has_rate else 2), ranked.output
    if has_rate:
        answer = _strict(ranked.stdout)
        assert set(answer["current"]["probabilities"]) == {"no", "yes"}
    else:
        assert "use_case.nats_per_cost is not set" in ranked.stderr

    batch = run("batch", "--model", str(tmp / "m"), "--in", str(tmp / "cases.csv"), "--out", str(tmp / "next.csv"),
                "--errors", str(tmp / "bad.csv"))
    _messages_are_one_line_each(batch)
    assert batch.exit_code == (0 if has_rate else 2), batch.output
    if has_rate and cases["band"].iloc[0] == "unseen":
        assert "unknown level 'unseen'" in (tmp / "bad.csv").read_text()  # reported; the other rows finished
        out = pd.read_csv(tmp / "next.csv")
        assert out["error"].notna().tolist() == [True] + [False] * (len(cases) - 1)
        assert out["stop"].iloc[1:].notna().all()

    checked = run("check", "--model", str(tmp / "m"), "--data", str(tmp / "slice.csv"), "--format", "json")
    _messages_are_one_line_each(checked)
    assert checked.exit_code in (0, 2), checked.output
    if checked.exit_code == 0:
        report = _strict(checked.stdout)
        assert report["protocol"]

    sim = run("simulate", "--data", str(tmp / "train.csv"), "--spec", str(tmp / "spec.yaml"), "--policies",
              "greedy,all", "--bootstrap", "10", "--jobs", "1", "--out", str(tmp / "sim"), "--format", "json")
    _messages_are_one_line_each(sim)
    assert sim.exit_code == (0 if has_rate else 2), sim.output
    if has_rate:
        _strict(sim.stdout)
        _strict((tmp / "sim" / "summary.json").read_text())
        steps = pd.read_csv(tmp / "sim" / "steps.csv")
        paid = steps.groupby(["policy", "case"])["cost"].sum()
        everything = sum(f["cost"] for f in spec["features"]) + 2.0  # each test once, the draw's cost once
        assert (paid <= everything + 1e-9).all() and not math.isnan(paid.max())


# ---- properties that reach a fitted model ---------------------------------------------------------
# The argument property above mostly stops at parsing. These always name a real model folder and
# case, so every example gets to the engine: ranking, Shapley, tampered folders, output paths.

import hashlib  # noqa: E402
import shutil  # noqa: E402

FEATURES = ["npreg", "glu", "bp", "skin", "bmi", "ped", "age"]
number_text = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32).map(repr),
                        st.integers(-10, 10**4).map(str), st.sampled_from(["", "1e999", "-0", "0.0001"]))
subset = st.lists(st.sampled_from(FEATURES + ["zzz"]), max_size=8).map(",".join)


@pytest.fixture(scope="module")
def case_file(pima, tmp_path_factory):
    path = tmp_path_factory.mktemp("cases") / "cases.csv"
    pima[0].drop(columns="type").head(5).to_csv(path, index=False)
    return path


def _engine_argv(command, data, choices):
    argv = [command, "-q", "--model", str(data[0]), "--data", str(data[1])]
    for option, value in choices:
        argv += [option, value]
    return argv


valid_subset = st.lists(st.sampled_from(FEATURES), min_size=1, max_size=7, unique=True).map(",".join)
#: mostly values a user would pass (so most examples reach the engine), sometimes anything
rank_choice = st.one_of(
    st.tuples(st.just("--observed"), valid_subset),
    st.tuples(st.just("--budget"), st.floats(0, 50).map(repr)),
    st.tuples(st.just("--exchange-rate"), st.floats(0, 0.05).map(repr)),
    st.tuples(st.just("--objective"), st.sampled_from(["eig", "evsi"])),
    st.tuples(st.just("--method"), st.sampled_from(["exact", "mc", "auto"])),
    st.tuples(st.just("--format"), st.sampled_from(["json", "csv", "table"])),
    st.tuples(st.just("--draws"), st.integers(64, 512).map(str)),
    st.tuples(st.sampled_from(["--row", "--observed", "--objective", "--budget", "--exchange-rate", "--draws",
                               "--method", "--format", "--seed"]), st.one_of(number_text, subset)),
)


@given(st.lists(rank_choice, max_size=5), st.integers(0, 4))
def test_rank_on_a_fitted_model_exits_0_or_2_and_json_is_strict(pima_model_dir, case_file, choices, row):
    argv = _engine_argv("rank", (pima_model_dir, case_file), [("--row", str(row))] + choices)
    result = CliRunner().invoke(cli, argv, catch_exceptions=True)
    event(f"exit {result.exit_code}")  # --hypothesis-show-statistics: how many reached a ranking
    assert result.exit_code in (0, 2), (argv, result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("Error: "), result.stderr
    elif [v for o, v in zip(argv, argv[1:]) if o == "--format"][-1:] == ["json"]:
        json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))


explain_choice = st.tuples(st.sampled_from(["--observed", "--game", "--method", "--tol", "--draws", "--format"]),
                           st.one_of(number_text, subset, st.sampled_from(["voi", "prediction", "exact", "kernel",
                                                                           "permutation", "json", "csv"])))


@settings(max_examples=8 if os.environ.get("ACQUIRE_HYPOTHESIS_PROFILE", "default") == "default" else 500)
@given(st.lists(explain_choice, max_size=4), st.integers(0, 4))
def test_explain_on_a_fitted_model_exits_0_or_2(pima_model_dir, case_file, choices, row):
    argv = _engine_argv("explain", (pima_model_dir, case_file), [("--row", str(row)), ("--draws", "64")] + choices)
    result = CliRunner().invoke(cli, argv, catch_exceptions=True)
    event(f"exit {result.exit_code}")
    assert result.exit_code in (0, 2), (argv, result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output


json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                        st.text(max_size=5), st.lists(st.integers(-3, 3), max_size=3))


def _paths(data, prefix=()):
    """Every (path to a leaf) in parsed JSON."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, prefix + (i,))
    else:
        yield prefix


tamper = st.one_of(
    st.tuples(st.just("json"), st.sampled_from(["spec.json", "conditional.json", "manifest.json", "metrics.json"]),
              st.integers(0, 10**6), json_scalar),
    st.tuples(st.just("bytes"), st.sampled_from(["predictor.ubj", "conditional.json", "spec.json"]),
              st.integers(0, 10**6), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("truncate"), st.sampled_from(["predictor.ubj", "conditional.json", "manifest.json"]),
              st.integers(0, 10**6), st.none()),
)


@settings(max_examples=25 if os.environ.get("ACQUIRE_HYPOTHESIS_PROFILE", "default") == "default" else 2000)
@given(st.lists(tamper, min_size=1, max_size=3), st.booleans())
def test_a_tampered_model_folder_is_refused_or_still_ranks(pima_model_dir, tmp_path_factory, edits, reseal):
    """Edits anywhere in the folder, with the checksums recomputed (as whoever edits a folder can):
    loading refuses in one line, or the model loads and ranks a case. Never another exception."""
    from acquire import load_model

    folder = tmp_path_factory.mktemp("tampered") / "m"
    shutil.copytree(pima_model_dir, folder)
    for how, name, where, value in edits:
        path = folder / name
        if how == "json":
            try:
                data = json.loads(path.read_bytes())
            except ValueError:  # an earlier edit broke it: nothing to walk
                continue
            leaves = list(_paths(data))
            if not leaves:
                continue
            *parents, last = leaves[where % len(leaves)] or (None,)
            node = data
            for key in parents:
                node = node[key]
            if last is None:
                data = value
            else:
                node[last] = value
            path.write_text(json.dumps(data))
        elif how == "bytes":
            raw = bytearray(path.read_bytes())
            at = where % max(1, len(raw))
            raw[at:at + len(value)] = value
            path.write_bytes(bytes(raw))
        else:
            raw = path.read_bytes()
            path.write_bytes(raw[: where % max(1, len(raw))])
    if reseal:
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            manifest["files"] = {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in manifest["files"]}
            (folder / "manifest.json").write_text(json.dumps(manifest))
        except Exception:  # a manifest too broken to reseal stays as it is
            pass
    try:
        model = load_model(folder)
        event("loaded")
    except AcquireError as exc:  # one line, or one line per spec problem
        event("refused")
        assert str(exc) and all(0 < len(line) <= 2000 for line in str(exc).splitlines())
        return
    ranking = model.rank({"age": 30.0, "bmi": 25.0}, seed=0)  # a folder that loads must still answer
    assert np.isfinite(ranking.to_frame()["value"]).all()


@given(st.lists(st.sampled_from(["in.csv", "out.csv", "err.csv", "link.csv", "out2.csv"]), min_size=3, max_size=3))
def test_equal_or_linked_output_paths_never_lose_data(pima_model, tmp_path_factory, names):
    """--in/--out/--errors drawn from a few names (one a symlink to the input): either three distinct
    files and a run that writes two, or a one-line refusal; the input is never changed."""
    from acquire.pipeline.batch import run_batch

    folder = tmp_path_factory.mktemp("paths")
    src = folder / "in.csv"
    src.write_text("npreg,glu,bp,skin,bmi,ped,age\n1,,70,30,30.0,0.5,40\n")
    (folder / "link.csv").symlink_to(src)
    before = src.read_bytes()
    src_name, out_name, err_name = names
    try:
        summary = run_batch(pima_model, folder / src_name, folder / out_name, errors_path=folder / err_name)
    except AcquireError as exc:
        assert len(str(exc).splitlines()) == 1
        assert src_name not in ("in.csv", "link.csv") or "same file" in str(exc) or "no such input" in str(exc)
    else:
        assert summary.rows == 1 and len({(folder / n).resolve() for n in names}) == 3
    assert src.read_bytes() == before
