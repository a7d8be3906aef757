"""How long `acquire check --model DIR --data FILE` takes on a user-sized file: 3,000 rows, 10 features
(continuous labs in a shared-cost group, a panel, categorical demographics, a sensitive attribute).

The file is the model's own training file, so the prediction checks are cross-fitted (5 refits).
Prints the wall time of fit and of check, and of each check through the library.

    python benchmarks/bench_check.py [--rows 3000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import yaml


def user_file(n: int, seed: int = 1) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 6)) @ rng.normal(size=(6, 6)) * 0.5
    df = pd.DataFrame(Z, columns=[f"lab{j}" for j in range(6)])
    df["sex"] = rng.choice(["F", "M"], n)
    df["site"] = rng.choice(["s1", "s2", "s3", "s4"], n)
    df["age"] = rng.integers(18, 90, n)
    df["bp"] = rng.normal(120, 15, n)
    logit = Z[:, 0] - 0.5 * Z[:, 1] + 0.02 * (df["age"] - 50) + 0.3 * (df["site"] == "s2")
    df["event"] = np.where(rng.uniform(size=n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    df.loc[rng.uniform(size=n) < 0.1, "lab3"] = np.nan
    lab = lambda j, cost, **kw: {"name": f"lab{j}", "type": "continuous", "cost": cost, **kw}
    spec = {"target": {"name": "event", "kind": "binary", "classes": ["no", "yes"]},
            "groups": {"blood": {"shared_cost": 5.0}},
            "features": [
                {"name": "age", "type": "continuous", "cost": 0, "role": "demographic"},
                {"name": "sex", "type": "categorical", "cost": 0, "levels": ["F", "M"], "role": "demographic",
                 "sensitive": True},
                {"name": "site", "type": "categorical", "cost": 0, "levels": ["s1", "s2", "s3", "s4"]},
                {"name": "bp", "type": "continuous", "cost": 1},
                lab(0, 3, group="blood"), lab(1, 3, group="blood"), lab(2, 2, group="blood", panel="chem"),
                lab(3, 2, group="blood", panel="chem"), lab(4, 8), lab(5, 6)],
            "use_case": {"kind": "risk_prediction", "nats_per_cost": 0.005}}
    return df, spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    args = parser.parse_args()
    frame, spec = user_file(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        frame.to_csv(tmp_path / "cases.csv", index=False)
        (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        run = lambda *a: subprocess.run([sys.executable, "-m", "acquire.cli.main", *a, "-q"], cwd=tmp, check=True,
                                        capture_output=True, text=True)
        t = time.perf_counter()
        run("fit", "--data", "cases.csv", "--spec", "spec.yaml", "--out", "model")
        fit_s = time.perf_counter() - t
        t = time.perf_counter()
        out = run("check", "--model", "model", "--data", "cases.csv").stdout
        check_s = time.perf_counter() - t
        print(f"{args.rows} rows x {len(spec['features'])} features")
        print(f"acquire fit:   {fit_s:6.1f} s")
        print(f"acquire check: {check_s:6.1f} s (prediction checks cross-fitted: 5 refits; target <= 60 s)")
        print("  " + out.strip().splitlines()[1])

        import acquire
        from acquire.checks import CHECKS, check

        model = acquire.load_model(tmp_path / "model")
        model.training_rows = None  # time each check alone, without the refits
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in CHECKS:
                t = time.perf_counter()
                check(model, frame, checks=[name])
                print(f"  {name:24s} {time.perf_counter() - t:6.2f} s")


if __name__ == "__main__":
    main()
