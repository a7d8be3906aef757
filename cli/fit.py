"""``acquire fit``: fit a predictor and the conditional model, write a model directory."""

from __future__ import annotations

import click

from acquire.cli.options import common, load_source, note
from acquire.cli.render import table, to_json
from acquire.predictors import PREDICTORS
from acquire.exceptions import AcquireWarning
from acquire.predictors.bayesian import ConvergenceWarning


@click.command()
@click.option("--dataset", help="A bundled dataset (see `acquire datasets list`).")
@click.option("--data", type=click.Path(dir_okay=False), help="A CSV/Parquet file of cases with the target.")
@click.option("--spec", "spec_path", type=click.Path(dir_okay=False), help="The spec (YAML/JSON) for --data.")
@click.option("--predictor", default="auto", show_default=True, type=click.Choice(["auto", *PREDICTORS]),
              help="Predictor of the outcome. auto: the candidate (copula classifier, XGBoost at depths 1, 2, 4) "
                   "with the least cross-validated log loss on the states a greedy acquisition policy creates (each "
                   "held-out case at every step of its order); or name one: gradient-boosted "
                   "trees, the copula classifier, a Bayesian GLM (PyMC).")
@click.option("--strict", is_flag=True, help="Refuse (exit 2) when the model is no better than predicting the prevalence.")
@click.option("--inference", type=click.Choice(["nuts", "advi"]), default="nuts", show_default=True,
              help="bayes: NUTS sampling, or ADVI (faster, approximate).")
@click.option("--draws", type=click.IntRange(50, 100_000), default=500, show_default=True, help="bayes: posterior draws per chain.")
@click.option("--tune", type=click.IntRange(50, 100_000), default=500, show_default=True, help="bayes: NUTS tuning steps per chain.")
@click.option("--components", type=click.IntRange(0, 8), default=None,
              help="copula: Gaussians per class (default 1; 0: chosen by cross-validation from 1 and 2). More than "
                   "one fits a class whose cases form subgroups; it is fitted by EM and takes seconds.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Model folder to write (atomically).")
@click.option("--holdout", default=0.2, show_default=True, type=click.FloatRange(0, 1, max_open=True),
              help="Share of rows held out for the calibration report (0: no report).")
@common(("table", "json"))
def fit(dataset, data, spec_path, predictor, strict, inference, draws, tune, components, out, holdout, fmt, seed,
        quiet) -> None:
    """Fit a model on a bundled dataset or your own data and save it to OUT.

    \b
    Examples:
      acquire fit --dataset pima --out models/pima
      acquire fit --data cases.csv --spec spec.yaml --out models/mine
      acquire fit --dataset pima --predictor bayes --out models/pima-bayes
      acquire fit --dataset breast_cancer --predictor copula --components 2 --out models/bc2
      acquire fit --data cases.csv --spec spec.yaml --out models/mine --strict
    """
    import sys
    import warnings

    from acquire import fit_model

    frame, spec = load_source(dataset, data, spec_path)
    if spec is None:
        raise click.UsageError("--data needs --spec SPEC")
    params = None
    if components is not None:
        if predictor != "copula":
            raise click.UsageError("--components sets the copula classifier: add --predictor copula")
        params = {"components": components or None}
    if predictor == "bayes":
        params = {"inference": inference, "draws": draws, "tune": tune,
                  "progressbar": not quiet and sys.stderr.isatty()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = fit_model(frame, spec, predictor=predictor, seed=seed, holdout=holdout, predictor_params=params,
                          progress=lambda message: note(quiet, message), strict=strict)
    for w in caught:  # recorded to keep PyMC's chatter out; what the library says to the user is shown
        if issubclass(w.category, ConvergenceWarning):
            note(False, f"warning: {w.message}")
        elif issubclass(w.category, AcquireWarning):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    model.save(out)
    report = model.metrics.get("by_missingness", [])
    if fmt == "json":
        click.echo(to_json({"model": str(out), "predictor": predictor, "metrics": model.metrics}))
        return
    click.echo(f"wrote {out}: {model!r}")
    selection = model.metrics.get("selection")
    if selection:
        keys = [k for k in ("log_loss", "brier", "brier_multiclass", "auroc", "nll", "rmse") if k in selection["table"][0]]
        click.echo(f"predictor chosen by {selection['protocol']} (least mean {selection['score']}; * = chosen):")
        def states(r: dict) -> str:
            hidden = f"{r['missing_fraction']:.0%}"
            return f"greedy order ({hidden} hidden)" if r.get("curriculum") == "greedy order" else hidden

        click.echo(table([[("* " if r["chosen"] else "  ") + r["candidate"], states(r)]
                          + [r[k] for k in keys] for r in selection["table"]], ["candidate", "missing"] + keys))
    diagnostics = getattr(model.predictor, "diagnostics_", None)
    if diagnostics:
        click.echo("posterior: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                             for k, v in diagnostics.items()))
    if report:
        keys = [k for k in ("log_loss", "auroc", "accuracy", "brier", "brier_multiclass", "rmse", "nll")
                if k in report[0]]
        keys += [k for k in ("prevalence_log_loss", "logistic_log_loss", "logistic_auroc", "prevalence_rmse",
                             "linear_rmse", "linear_nll") if k in report[0]]
        click.echo(f"held-out calibration ({report[0]['n']} rows) with tests hidden at random:")
        click.echo(table([[f"{r['missing_fraction']:.0%}"] + [r[k] for k in keys] for r in report], ["missing"] + keys))
        if "rmse" in report[0]:
            click.echo("prevalence_*: the training mean (and variance) of the target for every case; linear_*: a "
                       "linear regression on the same rows (mean-imputed, with missing-value indicators; its "
                       "residual variance for nll)")
        else:
            click.echo("brier: mean squared error of P(positive class); prevalence_*: the training class shares for "
                       "every case; logistic_*: a logistic regression on the same rows (mean-imputed, with missing-"
                       "value indicators)")
        if selection:
            click.echo("the held-out rows also took part in choosing the predictor (the cross-validation above), so "
                       "this report is slightly optimistic about the choice; the cross-validated table is not")
