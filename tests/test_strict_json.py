"""Every JSON the project writes is strict JSON: no NaN or Infinity (strict parsers reject them)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from acquire._json import dumps
from acquire.cli import cli
from acquire.simulate import Simulation


def strict_loads(text: str):
    def refuse(constant):
        raise ValueError(f"non-strict JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def test_the_strict_parser_refuses_nan():
    with pytest.raises(ValueError):
        strict_loads('{"a": NaN}')


def test_dumps_writes_null_for_non_finite_numbers():
    out = strict_loads(dumps({"a": float("nan"), "b": [np.inf, np.float32(1.5)], "c": np.array([np.nan, 2.0])}))
    assert out == {"a": None, "b": [None, 1.5], "c": [None, 2.0]}


def test_simulation_summary_with_a_policy_that_never_reaches_99_percent():
    summary = pd.DataFrame({"policy": ["greedy"], "normalized_auc": [0.8], "cost_to_99pct": [np.nan]})
    sim = Simulation(steps=pd.DataFrame(), curves=pd.DataFrame(), summary=summary, metric="auroc",
                     full_metric=0.83, total_cost=np.float64(25.1), split={"seed": 0, "x": float("inf")})
    data = strict_loads(sim.to_json())
    assert data["policies"][0]["cost_to_99pct"] is None and data["split"]["x"] is None


def test_cli_json_outputs_parse_strictly(pima_model_dir, tmp_path):
    runner = CliRunner()
    rank = runner.invoke(cli, ["rank", "--model", str(pima_model_dir), "--case", '{"age": 50}', "--format", "json",
                               "-q"])
    assert rank.exit_code == 0, rank.output
    assert strict_loads(rank.output)["candidates"]
    for name in ("manifest.json", "metrics.json", "spec.json", "conditional.json"):
        strict_loads((pima_model_dir / name).read_text("utf-8"))
