"""``acquire explain``: the Shapley split of a case's value of information (or of its prediction)."""

from __future__ import annotations

from pathlib import Path

import click

from acquire.cli.options import case_options, common, draws_option, REPLICATES, model_and_case, note
from acquire.cli.render import csv_text, table, to_json

#: the figure formats --plot writes (from the file's extension)
PLOT_FORMATS = (".png", ".svg", ".pdf")


def plot_path_checked(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--plot: a file whose extension names the format; checked before any work is done."""
    if value is None:
        return None
    suffix = Path(value).suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise click.BadParameter(f"{value!r} ends in {suffix or 'no extension'}; name the file .png, .svg or .pdf "
                                 f"(the extension is the format)", ctx, param)
    from acquire._io import check_output_file
    from acquire.exceptions import AcquireError

    try:
        check_output_file(value)
    except AcquireError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
    return value


@click.command()
@case_options
@click.option("--game", type=click.Choice(["voi", "prediction"]), default="voi", show_default=True,
              help="voi: split the value of acquiring every missing test; prediction: split the current risk "
                   "over the observed features.")
@click.option("--objective", type=click.Choice(["eig", "evsi"]), default="eig", show_default=True)
@click.option("--method", type=click.Choice(["auto", "exact", "enumerated", "permutation", "kernel"]), default="auto",
              show_default=True, help="exact/enumerated: every coalition (up to 20 players); auto: every coalition "
                                      "up to 14 players, permutation sampling beyond.")
@click.option("--tol", type=click.FloatRange(min=0, min_open=True), help="Sample until every SE is below this.")
@draws_option(512, "Draws of the missing tests per coalition")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), callback=plot_path_checked,
              help="Save a bar plot (.png, .svg or .pdf).")
@common()
def explain(dataset, model_dir, data, row, observed, case_json, game, objective, method, tol, draws, plot_path,
            fmt, seed, quiet) -> None:
    """Split a case's value of information fairly among its missing tests (Shapley values).

    Tests that are worthless alone but decisive together share the credit for what they reveal
    together. With --game prediction, split the current prediction over the observed features.

    \b
    Examples:
      acquire explain --dataset pima --row 0 --observed age,bmi,npreg --plot voi.png
      acquire explain --dataset pima --row 4 --game prediction
    """
    from acquire.engine.shapley import PredictionGame, ValueOfInformationGame, shapley_values

    model, case, label = model_and_case(dataset, model_dir, data, row, observed, case_json, seed, quiet)
    if game == "voi":
        ranker = model.ranker(objective=objective, n_draws=draws, n_replicates=REPLICATES, seed=seed)
        the_game = ValueOfInformationGame(ranker, case)
        unit = "nats" if objective == "eig" else "utility"
    else:
        the_game = PredictionGame(model.predictor, model.spec, case)
        unit = "probability" if model.spec.target_kind != "continuous" else model.spec.target_name
    result = shapley_values(the_game, method=method, tol=tol, seed=seed)
    result.unit = unit
    if plot_path:
        what = None if game == "voi" else (f"Shapley split of the prediction ({unit}): {result.v_empty:.3g} with "
                                           f"nothing observed, {result.v_full:.3g} with all observed")
        signs = ("adds value", "takes value away") if game == "voi" else ("raises the prediction", "lowers it")
        save_plot(result, plot_path, case=f"case: {label}" + (f"; observed {observed}" if observed else ""),
                  what=what, signs=signs)
    if fmt == "json":
        click.echo(to_json(result.to_dict() | {"case": label, "game": game}))
    elif fmt == "csv":
        click.echo(csv_text(result.to_frame()), nl=False)
    else:
        what = "value of acquiring every missing test" if game == "voi" else "prediction"
        click.echo(f"Case {label}: Shapley split of the {what} ({unit}), by {result.method}")
        click.echo(f"v(none) = {result.v_empty:.4g}, v(all) = {result.v_full:.4g}; "
                   f"{result.n_evaluations} coalitions evaluated")
        click.echo("")
        frame = result.to_frame()
        columns = ["player", "shapley", "se", "dof", "ci_lower", "ci_upper", "share"]
        click.echo(table(frame[columns].values.tolist(), columns, formats=[None, ".4g", ".2g", "d", ".4g", ".4g", ".1%"]))
        click.echo(f"ci_lower/ci_upper: the {result.level:.0%} interval value ∓ t(dof)·se (dof 0: no sampling error)")
    if plot_path:
        note(quiet, f"plot saved to {plot_path}")


def save_plot(result, path: str, *, case: str | None = None, what: str | None = None,
              signs: tuple[str, str] = ("adds value", "takes value away")) -> None:
    """Write the bar plot atomically, in the format the file's extension names (the user chose it)."""
    import matplotlib

    matplotlib.use("Agg")
    import acquire.plots as plots

    fig = result.plot(case=case, what=what, signs=signs).figure
    try:
        plots.save(fig, path, formats=(Path(path).suffix.lower().lstrip("."),))
    finally:
        plots.close(fig)
