"""pandas API, batch files, failure-proof I/O."""

import hashlib
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

import acquire
from acquire import DataError, load_model
from acquire.pipeline.batch import run_batch
from acquire.pipeline import NEXT_COLUMNS, NextTestTransformer, rank_frame
from acquire.synthetic import generate


def with_holes(frame, spec, rate=0.5, seed=0):
    out = frame.copy()
    rng = np.random.default_rng(seed)
    for c in spec.feature_names:
        out[c] = out[c].astype(object) if out[c].dtype == object else out[c]
        out.loc[rng.uniform(size=len(out)) < rate, c] = np.nan
    return out


def test_rank_frame_equals_rank_row_by_row(pima_model, pima):
    frame, spec = pima
    sub = with_holes(frame.head(25), spec)
    long = rank_frame(pima_model, sub, include_groups=True)
    for i, row in sub.iterrows():
        case = {k: row[k] for k in spec.feature_names if not pd.isna(row[k])}
        ranking = pima_model.rank(case, include_groups=True)
        mine = long[long["row"] == i]
        assert list(mine["feature"]) == [c.feature for c in ranking.candidates]
        np.testing.assert_allclose(mine["value"], [c.value for c in ranking.candidates], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(mine["cost"], [c.cost for c in ranking.candidates])
        rec = mine.loc[mine["recommended"], "feature"].tolist()
        assert (rec[0] if rec else None) == ranking.recommendation


def test_next_view_carries_columns_and_respects_observed(pima_model, pima):
    frame, spec = pima
    out = rank_frame(pima_model, frame.head(30), view="next", observed=["age", "bmi"])
    assert list(out.columns) == list(frame.columns) + NEXT_COLUMNS
    pd.testing.assert_frame_equal(out[frame.columns], frame.head(30))  # carried through untouched
    assert out["n_candidates"].eq(5).all()  # every other test is hidden, so a candidate
    assert set(out["next_test"].dropna()) <= set(spec.feature_names) - {"age", "bmi"}


def test_errors_raise_or_report(pima_model, pima):
    frame, spec = pima
    bad = frame.head(10).copy()
    bad["glu"] = bad["glu"].astype(object)
    bad.loc[3, "glu"] = "high"
    bad.loc[7, "bp"] = 900
    with pytest.raises(DataError, match="row 3, column 'glu': 'high' is not a number"):
        rank_frame(pima_model, bad)
    long = rank_frame(pima_model, bad, errors="report", observed=["age", "npreg"])
    assert [e["row"] for e in long.attrs["errors"]] == [3, 7] and set(long["row"]) == set(range(10)) - {3, 7}
    nxt = rank_frame(pima_model, bad, view="next", errors="report")
    assert nxt["error"].notna().tolist() == [i in (3, 7) for i in range(10)]


def test_transformer_in_a_sklearn_pipeline(pima_model_dir, pima):
    from sklearn.pipeline import Pipeline

    frame, spec = pima
    pipe = Pipeline([("next_test", NextTestTransformer(model_dir=str(pima_model_dir), observed=["age", "npreg"]))])
    out = pipe.fit_transform(frame.head(20))
    assert out["next_test"].notna().all() and "source" in out.columns
    assert pipe.get_params()["next_test__observed"] == ["age", "npreg"]


def test_synthetic_generator_is_seeded(flchain_model_dir):
    model = load_model(flchain_model_dir)
    a, b = generate(model, 500, seed=3, missing=0.2), generate(model, 500, seed=3, missing=0.2)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(generate(model, 500, seed=4, missing=0.2))
    assert set(a["sex"].dropna()) <= {"F", "M"} and a["death"].isin([0, 1]).all()
    model.spec.encode(a)  # every generated value is valid for the spec


def _sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_batch_with_corrupted_rows(flchain_model_dir, tmp_path):
    model = load_model(flchain_model_dir)
    frame = generate(model, 3000, seed=0, missing=0.3)
    rng = np.random.default_rng(1)
    bad = np.sort(rng.choice(len(frame), 30, replace=False))  # 1 %
    frame["age"] = frame["age"].astype(object)
    frame.loc[bad[:10], "age"] = "unknown"
    frame.loc[bad[10:20], "kappa"] = -1.0
    frame.loc[bad[20:], "sex"] = "X"
    src = tmp_path / "in.csv"
    frame.to_csv(src, index=False)
    before = _sha(src)
    summary = run_batch(model, src, tmp_path / "out.csv", errors_path=tmp_path / "err.csv", chunk_size=700)
    assert (summary.rows, summary.ranked, summary.failed) == (3000, 2970, 30)
    errors = pd.read_csv(tmp_path / "err.csv")
    assert list(errors["row"]) == list(bad)
    assert errors["reason"].str.contains("'unknown' is not a number|outside the spec's range|unknown level 'X'").all()
    out = pd.read_csv(tmp_path / "out.csv")
    assert len(out) == 3000 and out["error"].notna().sum() == 30
    good = out[out["error"].isna()]
    assert good["stop"].notna().all()
    assert _sha(src) == before  # the input is only read


def test_batch_is_deterministic_across_chunks_runs_and_formats(flchain_model_dir, tmp_path):
    model = load_model(flchain_model_dir)
    src = tmp_path / "in.csv"
    generate(model, 2000, seed=5, missing=0.4).to_csv(src, index=False)
    run_batch(model, src, tmp_path / "a.csv", chunk_size=97)
    run_batch(model, src, tmp_path / "b.csv", chunk_size=5000)
    run_batch(model, src, tmp_path / "c.csv", chunk_size=97)
    assert _sha(tmp_path / "a.csv") == _sha(tmp_path / "b.csv") == _sha(tmp_path / "c.csv")
    run_batch(model, src, tmp_path / "a.parquet", chunk_size=300)
    as_csv = pd.read_parquet(tmp_path / "a.parquet").to_csv(index=False, lineterminator="\n")
    assert as_csv == (tmp_path / "a.csv").read_text()
    long = tmp_path / "long.csv"
    run_batch(model, src, long, view="long", chunk_size=333)
    assert set(pd.read_csv(long).columns) >= {"row", "rank", "feature", "value", "recommended"}


def test_batch_refuses_to_overwrite_its_input(flchain_model_dir, tmp_path):
    model = load_model(flchain_model_dir)
    src = tmp_path / "in.csv"
    generate(model, 10, seed=0).to_csv(src, index=False)
    with pytest.raises(acquire.AcquireError, match="--out and --in name the same file"):
        run_batch(model, src, src)


def test_kill_9_leaves_no_partial_output_and_rerun_is_identical(flchain_model_dir, tmp_path):
    model = load_model(flchain_model_dir)
    src = tmp_path / "in.csv"
    generate(model, 60_000, seed=2, missing=0.5).to_csv(src, index=False)
    # -I: the repository's own acquire/ folder must not shadow the installed package
    cmd = [sys.executable, "-I", "-c", "from acquire.cli import main; main()", "batch", "--model", str(flchain_model_dir),
           "--in", str(src), "--chunk-size", "500", "-q"]
    out = tmp_path / "out.csv"
    proc = subprocess.Popen(cmd + ["--out", str(out)])
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until some chunks have been written to the temporary file
        partial = list(tmp_path.glob(".out.csv.*.partial"))
        if partial and partial[0].stat().st_size > 200_000:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert partial, "the batch never started writing"
    assert not out.exists()  # no partial output under the final name
    subprocess.run(cmd + ["--out", str(out)], check=True)
    assert not list(tmp_path.glob(".out.csv.*.partial"))  # the stale temporary file is gone
    subprocess.run(cmd + ["--out", str(tmp_path / "clean.csv")], check=True)
    assert _sha(out) == _sha(tmp_path / "clean.csv")


@pytest.fixture(scope="module")
def dask_client():
    from acquire.pipeline.distributed import client_for

    client = client_for("local", n_workers=2)
    yield client
    client.close()


def test_dask_batch_and_frame_match_the_local_run(flchain_model_dir, tmp_path, dask_client):
    from acquire.pipeline.distributed import cluster_mapper

    import dask.dataframe as dd

    model = load_model(flchain_model_dir)
    src = tmp_path / "in.csv"
    frame = generate(model, 3000, seed=7, missing=0.4)
    frame["age"] = frame["age"].astype(object)
    frame.loc[[5, 2500], "age"] = "?"  # bad rows are reported the same way on the cluster
    frame.to_csv(src, index=False)
    for view in ("next", "long"):
        run_batch(model, src, tmp_path / f"local_{view}.csv", errors_path=tmp_path / "e1.csv", chunk_size=400, view=view)
        run_batch(model, src, tmp_path / f"dask_{view}.csv", errors_path=tmp_path / "e2.csv", chunk_size=400, view=view,
                  mapper=cluster_mapper(dask_client))
        assert _sha(tmp_path / f"local_{view}.csv") == _sha(tmp_path / f"dask_{view}.csv")
        assert _sha(tmp_path / "e1.csv") == _sha(tmp_path / "e2.csv")
    assert list(pd.read_csv(tmp_path / "e2.csv")["row"]) == [5, 2500]
    clean = generate(model, 1500, seed=8, missing=0.4)
    local = rank_frame(model, clean, view="long")
    distributed = rank_frame(model, dd.from_pandas(clean, npartitions=3), view="long").compute(scheduler=dask_client.get)
    pd.testing.assert_frame_equal(distributed.reset_index(drop=True), local.reset_index(drop=True))
