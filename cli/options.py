"""Options shared by every command (``--seed``, ``--quiet``, ``--format``) and the data sources."""

from __future__ import annotations

import click

FORMATS = ("table", "json", "csv")
#: every command takes the same seeds (NumPy and XGBoost both accept 0 .. 2**32 - 1)
SEED = click.IntRange(0, 2**32 - 1)


def common(formats: tuple[str, ...] | None = FORMATS):
    """Add ``--seed`` and ``--quiet`` (and ``--format`` when the command prints results)."""

    def decorate(f):
        f = click.option("--quiet", "-q", is_flag=True, help="No progress or notes on stderr.")(f)
        f = click.option("--seed", type=SEED, default=0, show_default=True, help="Seed for every random step.")(f)
        if formats:
            f = click.option("--format", "fmt", type=click.Choice(formats), default=formats[0], show_default=True,
                             help="Output format.")(f)
        return f

    return decorate


def note(quiet: bool, message: str) -> None:
    """An informational line on stderr (suppressed by --quiet)."""
    if not quiet:
        click.echo(message, err=True)


def split_names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def read_table(path: str):
    """A CSV (or Parquet) file as a DataFrame; read errors are one-line input errors."""
    import pandas as pd

    from acquire.exceptions import DataError
    from acquire.pipeline.reading import file_kind

    if path.lower().endswith((".parquet", ".pq", ".csv", ".txt")):
        file_kind(path)  # the name and the first bytes agree
    try:
        if path.lower().endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except ImportError:
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    except FileNotFoundError:
        raise DataError(f"{path}: no such data file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise DataError(f"{path}: cannot read data: {str(exc).strip().splitlines()[0] if str(exc) else type(exc).__name__}") from None


def load_source(dataset: str | None, data: str | None, spec: str | None, model: str | None = None):
    """Resolve ``--dataset NAME`` or ``--data FILE [--spec SPEC | --model DIR]`` to (frame, spec)."""
    from acquire import datasets, load_spec

    if dataset is not None:
        if data is not None or spec is not None or model is not None:
            raise click.UsageError("give either --dataset, or --data with --spec/--model, not both")
        return datasets.load(dataset)
    if data is None:
        raise click.UsageError("give --dataset NAME, or --data FILE with --spec SPEC")
    frame = read_table(data)
    return frame, (load_spec(spec, frame=frame) if spec is not None else None)



def case_options(f):
    """The options that name a model and one case (shared by ``rank`` and ``explain``)."""
    for option in reversed([
        click.option("--dataset", help="A bundled dataset; the model is fitted on its other rows."),
        click.option("--model", "model_dir", type=click.Path(file_okay=False), help="A model folder from `acquire fit`."),
        click.option("--data", type=click.Path(dir_okay=False), help="Cases file (CSV/Parquet) for --model."),
        click.option("--row", type=int, help="0-based row of the data."),
        click.option("--observed", help="Comma-separated features counted as measured (default: all non-missing)."),
        click.option("--case", "case_json", help="The case as a JSON object or a JSON file (instead of --row)."),
    ]):
        f = option(f)
    return f


def model_and_case(dataset, model_dir, data, row, observed, case_json, seed, quiet):
    """Resolve the case options to (model, case, label): load the model folder, or the dataset's
    model fitted without the case's row (cached; :func:`acquire.bundled.model_for_row`)."""
    from acquire import load_model
    from acquire.bundled import model_for_row
    from acquire.cases import case_from_json, case_from_row

    if (row is None) == (case_json is None):
        raise click.UsageError("give exactly one of --row N or --case JSON")
    if observed is not None and row is None:
        raise click.UsageError("--observed goes with --row")
    if dataset is not None and model_dir is not None:
        raise click.UsageError("give either --dataset or --model, not both")
    if dataset is None and model_dir is None:
        raise click.UsageError("give --dataset NAME, or --model DIR (with --data FILE for --row)")
    model = load_model(model_dir) if model_dir is not None else None
    if model is not None:
        frame = load_source(None, data, None)[0] if data is not None else None
        spec = model.spec
    else:
        frame, spec = load_source(dataset, data, None)
    if row is not None:
        if frame is None:
            raise click.UsageError("--row needs --data FILE with --model")
        case = case_from_row(spec, frame, row, split_names(observed))
        label = f"row {row} of {dataset or data}"
    else:
        case = case_from_json(case_json)
        label = "from --case"
    spec.encode_case(case)  # fail fast on a bad case, before any fitting
    if model is None:
        model = model_for_row(dataset, row, seed=seed, progress=lambda message: note(quiet, message))
    return model, case, label


#: Monte Carlo draws come as 8 scrambled Sobol replicates of a power-of-two size
REPLICATES = 8
MAX_DRAWS = 1 << 20


def draws_option(default: int, help_text: str):
    """``--draws N``: used as given; N must be 8 × a power of two (16, 32, ..., 1048576)."""

    def check(ctx, param, value):
        per = value // REPLICATES
        if per * REPLICATES != value or per < 2 or per & (per - 1) or value > MAX_DRAWS:
            allowed = ", ".join(str(REPLICATES * (1 << k)) for k in range(1, 9))
            raise click.BadParameter(f"{value} is not 8 x a power of two; use one of {allowed}, ... up to {MAX_DRAWS}")
        return value

    return click.option("--draws", type=int, default=default, show_default=True, callback=check,
                        help=f"{help_text} (8 scrambled Sobol replicates: 16, 32, ..., 1024, 2048, ...).")
