"""``acquire rank``: rank the missing tests of one case by value of information per cost."""

from __future__ import annotations

import click

from acquire.cli.options import case_options, common, draws_option, REPLICATES, model_and_case, note
from acquire.cli.render import csv_text, ranking_table, to_json


@click.command()
@case_options
@click.option("--objective", type=click.Choice(["eig", "evsi"]), default="eig", show_default=True,
              help="Information gain (nats) or decision value under the use case's utilities.")
@click.option("--budget", type=click.FloatRange(min=0), help="Money left for this case.")
@click.option("--exchange-rate", type=click.FloatRange(min=0),
              help="λ in net value = value − cost·λ (default: the spec's).")
@draws_option(1024, "Monte Carlo draws per candidate")
@click.option("--method", type=click.Choice(["auto", "exact", "mc"]), default="auto", show_default=True,
              help="auto: exact for single tests of a tree model, Monte Carlo for panels and groups.")
@click.option("--allow-after-decision", is_flag=True,
              help="Use values of features known only after the decision (left out by default, with a warning).")
@common()
def rank(dataset, model_dir, data, row, observed, case_json, objective, budget, exchange_rate, draws, method,
         allow_after_decision, fmt, seed, quiet) -> None:
    """Rank the missing measurements of one case and say whether to stop.

    \b
    Examples:
      acquire rank --dataset pima --row 0 --observed age,bmi,npreg
      acquire rank --model models/pima --case '{"age": 50, "bmi": 31.2}' --objective evsi
    """
    model, case, label = model_and_case(dataset, model_dir, data, row, observed, case_json, seed, quiet)
    ranking = model.rank(case, case_id=row, objective=objective, budget=budget, exchange_rate=exchange_rate,
                         n_draws=draws, n_replicates=REPLICATES, seed=seed, method=method,
                         allow_after_decision=allow_after_decision)
    if ranking.exchange_rate == 0 and ranking.candidates:
        note(False, "Warning: exchange rate 0: the stop rule never fires; every test with any value is worth buying")
    if fmt == "json":
        click.echo(to_json(ranking.to_dict()))
    elif fmt == "csv":
        click.echo(csv_text(ranking.to_frame()), nl=False)
    else:
        click.echo(ranking_table(ranking, label))
