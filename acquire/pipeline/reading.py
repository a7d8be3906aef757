"""Read a cases file chunk by chunk, so that what a row holds never depends on how the file is cut.

- A CSV is read with every cell as text: a cell is parsed once, later, by the spec's own types
  (:meth:`acquire.Spec.encode_rows`), never by a per-chunk type guess. ``true`` in a numeric column is
  "not a number" whatever the chunk size; a 310-digit integer is an infinite value of its row only.
- A row with more or fewer fields than the header is that row's error (with its row number); the
  rest of the file is read. Blank lines are skipped, as pandas does.
- Cells that pandas reads as missing by default (``""``, ``NA``, ``NaN``, ``null``, ...) are missing.
- A Parquet file keeps its own column types (one schema for the whole file). A file whose name says
  Parquet but whose bytes do not (or the reverse) is refused in one line.

Every chunk's index is the 0-based position of its rows in the whole input; rows whose shape was
wrong are all-missing in the chunk and listed in ``chunk.attrs["row_problems"]`` (position → reason).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Iterator

import pandas as pd

from acquire.exceptions import AcquireError, DataError

__all__ = ["NA_TEXT", "ROW_PROBLEMS", "file_kind", "read_chunks"]

#: pandas' default missing-value strings (``pandas.read_csv``'s ``na_values`` documentation)
NA_TEXT = frozenset(["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                     "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"])
#: the chunk attribute that lists rows whose shape was wrong (position → reason)
ROW_PROBLEMS = "row_problems"
#: the longest cell accepted (characters); a longer one stops the read with a one-line error
MAX_CELL = 1 << 20
_PARQUET_MAGIC = b"PAR1"


def file_kind(path: Path | str, *, must_exist: bool = True) -> str:
    """``"csv"`` or ``"parquet"`` from the name; an existing file's first bytes must agree."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        kind = "csv"
    elif suffix in (".parquet", ".pq"):
        kind = "parquet"
    else:
        raise AcquireError(f"{path}: unknown file type {suffix!r}; use .csv or .parquet")
    if must_exist and path.is_file():
        with open(path, "rb") as fh:
            head = fh.read(4)
        if kind == "parquet" and head != _PARQUET_MAGIC:
            raise DataError(f"{path}: named {suffix} but is not a Parquet file (it does not start with PAR1); "
                            f"if it is a CSV, rename it to .csv")
        if kind == "csv" and head == _PARQUET_MAGIC:
            raise DataError(f"{path}: named {suffix} but is a Parquet file; rename it to .parquet")
    return kind


def read_chunks(path: Path | str, chunk_size: int) -> Iterator[pd.DataFrame]:
    """Yield the file's rows ``chunk_size`` at a time (see the module docstring)."""
    path = Path(path)
    if file_kind(path) == "parquet":
        yield from _parquet_chunks(path, chunk_size)
    else:
        yield from _csv_chunks(path, chunk_size)


def _parquet_chunks(path: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    offset = 0
    try:
        source = pq.ParquetFile(path)
        for batch in source.iter_batches(batch_size=chunk_size):
            chunk = batch.to_pandas()
            chunk.index = pd.RangeIndex(offset, offset + len(chunk))
            offset += len(chunk)
            yield chunk
        if offset == 0:  # no rows: one empty chunk, so the output still has its columns
            yield source.schema_arrow.empty_table().to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: cannot read Parquet: {_first_line(exc)}") from None


def _header(path: Path, reader: Iterator[list[str]]) -> list[str]:
    header = next(reader, None)
    if header is None:
        raise DataError(f"{path}: the file is empty (no header line)")
    names = [name if name != "" else f"Unnamed: {i}" for i, name in enumerate(header)]  # as pandas names them
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(f"{path}: the header names column {name[:80]!r} twice; give each column its own name")
        seen.add(name)
    return names


def _csv_chunks(path: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    limit = csv.field_size_limit()
    csv.field_size_limit(min(MAX_CELL, sys.maxsize))
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, strict=False)
            names = _header(path, reader)
            width = len(names)
            rows: list[list[str] | None] = []
            problems: dict[int, str] = {}
            start = 0
            for record in reader:
                if not record:  # a blank line
                    continue
                position = start + len(rows)
                if len(record) != width:
                    problems[position] = _shape_problem(position, len(record), width)
                    rows.append(None)
                else:
                    rows.append(record)
                if len(rows) == chunk_size:
                    yield _frame(rows, names, start, problems)
                    start, rows, problems = start + len(rows), [], {}
            if rows or start == 0:  # no rows at all: one empty chunk, so the output still has its columns
                yield _frame(rows, names, start, problems)
    except FileNotFoundError:
        raise DataError(f"{path}: no such input file") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV") from None
    except csv.Error as exc:
        raise DataError(f"{path}: cannot read CSV: {_first_line(exc)}") from None
    finally:
        csv.field_size_limit(limit)


def _shape_problem(position: int, fields: int, width: int) -> str:
    if fields > width:
        fix = "quote any field that contains a comma"
    else:
        fix = "write an empty field for each test not done (e.g. 1,,3)"
    return f"data: row {position}: {fields} fields where the header has {width}; {fix}"


def _frame(rows: list[list[str] | None], names: list[str], start: int, problems: dict[int, str]) -> pd.DataFrame:
    """A chunk of text cells (missing-value strings as NaN; wrongly shaped rows all-missing)."""
    blank = [""] * len(names)
    chunk = pd.DataFrame([blank if r is None else r for r in rows], columns=names,
                         index=pd.RangeIndex(start, start + len(rows)), dtype=object)
    chunk = chunk.mask(chunk.isin(NA_TEXT))
    chunk.attrs[ROW_PROBLEMS] = dict(problems)
    return chunk


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
