"""``acquire check``: the outer-alignment checker, a gate for a pipeline's CI with --strict."""

from __future__ import annotations

import sys

import click

from acquire.cli.options import common, load_source, note


@click.command()
@click.option("--dataset", help="A bundled dataset (a model is fitted on 70 %; its predictions are judged on the rest).")
@click.option("--model", "model_dir", type=click.Path(file_okay=False), help="A model folder from `acquire fit`.")
@click.option("--data", type=click.Path(dir_okay=False), help="Cases with the target, for --model.")
@click.option("--use-case", type=click.Choice(["risk_prediction", "benchmarking", "treatment"]),
              help="Override the spec's use case.")
@click.option("--strict", is_flag=True, help="Exit 3 when a high-severity finding remains.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), help="Write report.md and report.json here.")
@common(("table", "json", "markdown"))
def check(dataset, model_dir, data, use_case, strict, report_dir, fmt, seed, quiet) -> None:
    """Check that what the ranking optimizes matches what the use case values.

    \b
    Examples:
      acquire check --dataset kidney_treatment
      acquire check --model models/mine --data cases.csv --strict
    """
    from acquire import load_model
    from acquire.checks import check as run
    from acquire.checks import check_held_out
    from acquire.cli.render import table, to_json

    from acquire._io import check_output_directory

    if (dataset is None) == (model_dir is None):
        raise click.UsageError("give --dataset NAME, or --model DIR with --data FILE")
    if report_dir:
        check_output_directory(report_dir, marker="report.json")  # before any work, not after it
    if model_dir is not None:
        if data is None:
            raise click.UsageError("--model needs --data FILE (cases with the target)")
        # the model's predictions are cross-fitted when the data holds rows it was fitted on (fingerprint)
        report = run(load_model(model_dir), load_source(None, data, None)[0], use_case=use_case, seed=seed,
                     progress=lambda m: note(quiet, m))
    else:
        frame, spec = load_source(dataset, None, None)
        report = check_held_out(frame, spec, seed=seed, use_case=use_case, progress=lambda m: note(quiet, f"{dataset}: {m}"))
    if fmt == "json":
        click.echo(to_json(report.to_dict()))
    elif fmt == "markdown":
        click.echo(report.to_markdown())
    else:
        frame_ = report.to_frame()
        click.echo(f"Alignment check for use case {report.use_case!r}: {len(frame_)} finding(s)")
        if report.protocol:
            click.echo(report.protocol)
        if len(frame_):
            click.echo(table(frame_[["severity", "id", "features"]].values.tolist(), ["severity", "check", "features"],
                             "lll"))
    if report_dir:  # after the findings are shown: a failure here loses nothing
        import matplotlib

        matplotlib.use("Agg")
        report.write(report_dir)
        note(quiet, f"report written to {report_dir}")
    if strict and report.worst == "high":
        note(False, "check failed: high-severity findings remain (--strict)")
        sys.exit(3)
