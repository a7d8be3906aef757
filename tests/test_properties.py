"""Property-based tests: whatever the input, no traceback reaches the user.

The normal suite runs a small profile (40 examples per property). For the full run:
    ACQUIRE_HYPOTHESIS_PROFILE=exhaustive pytest tests/test_properties.py     # 10,000 examples each
"""


import pandas as pd
from click.testing import CliRunner
from hypothesis import given
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
