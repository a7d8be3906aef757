"""``acquire batch``: a file of cases in, a file of rankings out, bad rows reported."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from acquire.cli.options import SEED, note, split_names


@click.command()
@click.option("--model", "model_dir", required=True, type=click.Path(file_okay=False), help="A model folder from `acquire fit`.")
@click.option("--in", "in_path", required=True, type=click.Path(dir_okay=False), help="Cases (CSV or Parquet).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Output (CSV or Parquet), written atomically.")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False), help="Bad rows: row number and reason (CSV).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=10_000, show_default=True, help="Rows read at a time.")
@click.option("--view", type=click.Choice(["next", "long"]), default="next", show_default=True,
              help="next: the input with the recommended test added; long: one row per (case, candidate).")
@click.option("--objective", type=click.Choice(["eig", "evsi"]), default="eig", show_default=True)
@click.option("--budget", type=click.FloatRange(min=0), help="Money left per case.")
@click.option("--observed", help="Comma-separated features counted as measured (default: all non-missing).")
@click.option("--groups/--no-groups", default=False, show_default=True,
              help="Also offer whole shared-cost groups (Monte Carlo: much slower).")
@click.option("--scheduler", help="Rank on Dask: 'local' (a LocalCluster on this machine) or a scheduler address "
                                  "(tcp://HOST:8786). Output is identical to a run without it.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Worker processes for --scheduler local.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed for every random step.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary on stderr.")
def batch(model_dir, in_path, out_path, errors_path, chunk_size, view, objective, budget, observed, groups, scheduler,
          workers, seed, quiet) -> None:
    """Rank every case of a file; memory stays flat as the file grows.

    \b
    Examples:
      acquire batch --model models/flchain --in open_cases.csv --out next_tests.csv --errors bad_rows.csv
      acquire batch --model models/flchain --in big.parquet --out next.parquet --scheduler tcp://10.0.0.5:8786
    """
    from tqdm import tqdm

    from acquire import load_model
    from acquire.pipeline.batch import count_rows, run_batch

    model = load_model(model_dir)
    client = mapper = None
    if scheduler is not None:
        from acquire.pipeline.distributed import client_for, cluster_mapper

        client = client_for(scheduler, workers, quiet=quiet)
        mapper = cluster_mapper(client)
    show = not quiet and sys.stderr.isatty()
    bar = tqdm(total=count_rows(Path(in_path)) if show else None, unit="rows",
               disable=not show, file=sys.stderr, dynamic_ncols=True)
    try:
        summary = run_batch(model, in_path, out_path, errors_path=errors_path, chunk_size=chunk_size, view=view,
                            progress=bar.update, mapper=mapper, objective=objective, budget=budget,
                            observed=split_names(observed), include_groups=groups, seed=seed)
    finally:
        bar.close()
        if client is not None:
            client.close()
    note(quiet, f"ranked {summary.ranked:,} of {summary.rows:,} rows in {summary.seconds:.1f} s "
                f"({summary.rows_per_second:,.0f} rows/s); {summary.failed:,} bad row(s)"
                + (f" listed in {errors_path}" if errors_path else "") + f"; wrote {out_path}")
