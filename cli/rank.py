"""``acquire rank``: rank the missing tests of one case by value of information per cost."""

from __future__ import annotations

import click

from acquire.cli.options import common, load_source, note, split_names
from acquire.cli.render import csv_text, ranking_table, to_json


@click.command()
@click.option("--dataset", help="A bundled dataset; the model is fitted on its other rows.")
@click.option("--model", "model_dir", type=click.Path(file_okay=False), help="A model folder from `acquire fit`.")
@click.option("--data", type=click.Path(dir_okay=False), help="Cases file (CSV/Parquet) for --model.")
@click.option("--row", type=int, help="0-based row of the data to rank.")
@click.option("--observed", help="Comma-separated features counted as measured (default: all non-missing).")
@click.option("--case", "case_json", help="The case as a JSON object or a JSON file (instead of --row).")
@click.option("--objective", type=click.Choice(["eig", "evsi"]), default="eig", show_default=True,
              help="Information gain (nats) or decision value under the use case's utilities.")
@click.option("--budget", type=click.FloatRange(min=0), help="Money left for this case.")
@click.option("--exchange-rate", type=click.FloatRange(min=0),
              help="λ in net value = value − cost·λ (default: the spec's).")
@click.option("--draws", type=click.IntRange(min=16), default=1024, show_default=True,
              help="Monte Carlo draws per candidate (8 scrambled Sobol replicates).")
@click.option("--method", type=click.Choice(["auto", "exact", "mc"]), default="auto", show_default=True,
              help="auto: exact for single tests of a tree model, Monte Carlo for panels and groups.")
@common()
def rank(dataset, model_dir, data, row, observed, case_json, objective, budget, exchange_rate, draws, method,
         fmt, seed, quiet) -> None:
    """Rank the missing measurements of one case and say whether to stop.

    \b
    Examples:
      acquire rank --dataset pima --row 0 --observed age,bmi,npreg
      acquire rank --model models/pima --case '{"age": 50, "bmi": 31.2}' --objective evsi
    """
    from acquire import fit_model, load_model
    from acquire.cases import case_from_json, case_from_row

    if (row is None) == (case_json is None):
        raise click.UsageError("give exactly one of --row N or --case JSON")
    if observed is not None and row is None:
        raise click.UsageError("--observed goes with --row")
    if dataset is not None and model_dir is not None:
        raise click.UsageError("give either --dataset or --model, not both")
    if dataset is None and model_dir is None:
        raise click.UsageError("give --dataset NAME, or --model DIR (with --data FILE for --row)")
    if model_dir is not None:
        model = load_model(model_dir)
        frame = load_source(None, data, None)[0] if data is not None else None
        spec = model.spec
    else:
        frame, spec = load_source(dataset, data, None)
    if row is not None:
        if frame is None:
            raise click.UsageError("--row needs --data FILE with --model")
        case = case_from_row(spec, frame, row, split_names(observed))
        label = f"row {row}" + (f" of {dataset}" if dataset else f" of {data}")
    else:
        case = case_from_json(case_json)
        label = "from --case"
    spec.encode_case(case)  # fail fast on a bad case, before any fitting
    if dataset is not None:
        train = frame.drop(index=frame.index[row]) if row is not None else frame
        left_out = " (the ranked row left out)" if row is not None else ""
        model = fit_model(train, spec, seed=seed, holdout=0,
                          progress=lambda message: note(quiet, f"{dataset}{left_out}: {message}"))
    per = max(2, 1 << (max(draws // 8, 2).bit_length() - 1))
    ranking = model.rank(case, case_id=row if row is not None else None, objective=objective, budget=budget,
                         exchange_rate=exchange_rate, n_draws=per * 8, n_replicates=8, seed=seed,
                         method=method)
    if fmt == "json":
        click.echo(to_json(ranking.to_dict()))
    elif fmt == "csv":
        click.echo(csv_text(ranking.to_frame()), nl=False)
    else:
        click.echo(ranking_table(ranking, label))
