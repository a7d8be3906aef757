"""Wall time of the command line's light and warm paths: median of 5 runs each.

    python benchmarks/bench_startup.py

- ``acquire --help`` and ``acquire datasets list``: the lazy package ``__init__`` (no engine import);
- ``acquire rank --dataset breast_cancer --row 7 --observed mean_radius``, warm: the model fitted
  without row 7 comes from the user cache folder (one untimed run fills it first);
- ``acquire rank --model DIR --case ...``: a saved model folder.
Each run is a fresh process, as a user types it.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time


def median_seconds(argv: list[str], env: dict, runs: int = 5) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main() -> None:
    exe = shutil.which("acquire") or "acquire"
    cache = tempfile.mkdtemp()
    env = dict(os.environ, ACQUIRE_CACHE_DIR=cache)
    rank = [exe, "rank", "--dataset", "breast_cancer", "--row", "7", "--observed", "mean_radius", "-q"]
    subprocess.run(rank, env=env, check=True, stdout=subprocess.DEVNULL)  # fills the cache (and numba's)
    model_dir = os.path.join(cache, "bc")
    subprocess.run([exe, "fit", "--dataset", "breast_cancer", "--holdout", "0", "--out", model_dir, "-q"], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    cases = {
        "acquire --help": [exe, "--help"],
        "acquire datasets list": [exe, "datasets", "list"],
        "acquire rank --dataset breast_cancer --row 7 --observed mean_radius (warm cache)": rank,
        "acquire rank --model DIR --case '{\"mean_radius\": 17.9}'": [exe, "rank", "--model", model_dir, "--case",
                                                                   '{"mean_radius": 17.9}', "-q"],
    }
    for label, argv in cases.items():
        med, times = median_seconds(argv, env)
        print(f"{label}: median {med:.2f} s of 5 (runs: {', '.join(f'{t:.2f}' for t in times)})")
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
