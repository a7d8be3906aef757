"""Batch throughput and memory: `acquire batch` on flchain and on a 1,000,000-row synthetic file,
locally and on a Dask LocalCluster with 1 and 2 workers.

    python benchmarks/bench_batch.py [--rows 1000000] [--workdir /tmp/acquire-bench]

Each run is a separate `acquire batch` process; peak memory is its maximum resident set size.
The Dask runs rank the same file; the script checks their output is byte-identical to the local
run's and prints the speed-up of 2 workers over 1.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import acquire
from acquire import datasets
from acquire.synthetic import generate


def run(args: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (GiB) of one `acquire batch` process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-I", "-c", "from acquire.cli import main; main()", "batch", "-q", *args])
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"acquire batch failed: {args}")
    return time.perf_counter() - t0, usage.ru_maxrss / 2**20


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--workdir", default="/tmp/acquire-bench")
    a = ap.parse_args()
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    frame, spec = datasets.load("flchain")
    model_dir = work / "model"
    acquire.fit_model(frame, spec, seed=0, holdout=0).save(model_dir)
    model = acquire.load_model(model_dir)
    real = work / "flchain.csv"
    frame.to_csv(real, index=False)
    big = work / f"synthetic_{a.rows}.csv"
    if not big.exists():
        t0 = time.perf_counter()
        generate(model, a.rows, seed=0, missing=0.3).to_csv(big, index=False)
        print(f"generated {a.rows:,} synthetic rows in {time.perf_counter() - t0:.0f} s ({big.stat().st_size / 2**20:.0f} MiB)")
    common = ["--model", str(model_dir), "--chunk-size", "20000"]
    run(common + ["--in", str(real), "--out", str(work / "warm.csv")])  # numba cache warm

    t, mem = run(common + ["--in", str(real), "--out", str(work / "flchain_out.csv")])
    print(f"flchain ({len(frame):,} rows), local: {t:.1f} s, {len(frame) / t:,.0f} rows/s, peak {mem:.2f} GiB")
    t_local, mem = run(common + ["--in", str(big), "--out", str(work / "local.csv")])
    print(f"synthetic ({a.rows:,} rows), local (numba, 2 threads): {t_local:.1f} s, {a.rows / t_local:,.0f} rows/s, "
          f"peak {mem:.2f} GiB")
    times = {}
    for workers in (1, 2):
        out = work / f"dask{workers}.csv"
        times[workers], mem = run(common + ["--in", str(big), "--out", str(out), "--scheduler", "local",
                                            "--workers", str(workers)])
        same = sha(out) == sha(work / "local.csv")
        print(f"synthetic, Dask LocalCluster {workers} worker(s): {times[workers]:.1f} s, "
              f"{a.rows / times[workers]:,.0f} rows/s, client peak {mem:.2f} GiB, identical to local: {same}")
    print(f"Dask speed-up, 2 workers over 1: {times[1] / times[2]:.2f}x")


if __name__ == "__main__":
    main()
