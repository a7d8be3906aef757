"""Options shared by every command (``--seed``, ``--quiet``, ``--format``) and the data sources."""

from __future__ import annotations

import click

FORMATS = ("table", "json", "csv")


def common(formats: tuple[str, ...] | None = FORMATS):
    """Add ``--seed`` and ``--quiet`` (and ``--format`` when the command prints results)."""

    def decorate(f):
        f = click.option("--quiet", "-q", is_flag=True, help="No progress or notes on stderr.")(f)
        f = click.option("--seed", type=int, default=0, show_default=True, help="Seed for every random step.")(f)
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
    return frame, (load_spec(spec) if spec is not None else None)

