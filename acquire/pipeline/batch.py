"""Rank a file of cases chunk by chunk: flat memory, per-row errors, atomic outputs.

Reads CSV or Parquet in chunks (:mod:`acquire.pipeline.reading`: a CSV's cells as text, parsed by the
spec, so a row never depends on the chunking; a row with the wrong number of fields is that row's
error), ranks each chunk with :func:`acquire.pipeline.frame.rank_frame`, and
appends the result to a temporary file beside the output (``.NAME.<random>.partial``). Only when
every chunk is done is the file fsynced and renamed to its final name, so a run that is killed
leaves no partial output; a re-run removes stale ``.partial`` files of the same output and
redoes the work (results are deterministic, so the bytes are the same). A run holds an exclusive
lock on each output (``.NAME.lock`` beside it), so a second run to the same output is refused at
once instead of deleting the first's live file; no two of the input, the output and the errors
file may be the same file (links resolved), and an output must be a regular file. Bad rows go to the
errors file with their 0-based row number in the input and the reason; every good row is ranked.
Parquet output has a schema fixed before the first row (:func:`output_schema`). The input is only read.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pandas as pd

from acquire._io import check_output_file, current_umask, distinct_paths, fsync_dir, output_lock
from acquire.exceptions import AcquireError, DataError
from acquire.pipeline.frame import LONG_TYPES, NEXT_TYPES, rank_frame
from acquire.pipeline.reading import ROW_PROBLEMS, file_kind, read_chunks

__all__ = ["BatchSummary", "ChunkMapper", "run_batch", "count_rows", "output_schema", "process_chunk"]


def _errors_schema() -> Any:
    import pyarrow as pa

    return pa.schema([pa.field("row", pa.int64()), pa.field("reason", pa.string())])

#: ``mapper(model, chunks, options, render_csv)`` yields :func:`process_chunk` results in input order
ChunkMapper = Callable[[Any, Iterator[pd.DataFrame], dict, bool], Iterable[tuple]]


@dataclass
class BatchSummary:
    rows: int
    ranked: int
    failed: int
    seconds: float
    output: str
    errors: str | None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def count_rows(path: Path) -> int | None:
    """Rows in the input (for the progress bar): Parquet metadata, or a fast line count for CSV."""
    if file_kind(path) == "parquet":
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(path).metadata.num_rows
        except Exception:  # the reader says what is wrong, in one line
            return None
    with open(path, "rb") as fh:
        lines = sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))
    return max(lines - 1, 0)


def _arrow_type(name: str) -> Any:
    import pyarrow as pa

    return {"string": pa.string(), "float64": pa.float64(), "int64": pa.int64(), "bool": pa.bool_()}[name]


def output_schema(columns: list[str], view: str, input_schema: Any = None) -> Any:
    """The Parquet schema of a batch output, fixed before any row is read: the columns acquire adds
    have the types of :data:`NEXT_TYPES`/:data:`LONG_TYPES`; the input's own columns keep the
    input file's types (a Parquet input) or its text (a CSV input: cells are carried through as written)."""
    import pyarrow as pa

    if view == "long":
        return pa.schema([pa.field("row", pa.int64())] + [pa.field(n, _arrow_type(t)) for n, t in LONG_TYPES.items()])
    given = {f.name: f.type for f in input_schema} if input_schema is not None else {}
    return pa.schema([pa.field(n, _arrow_type(NEXT_TYPES[n]) if n in NEXT_TYPES else given.get(n, pa.string()))
                      for n in columns])


class _AtomicWriter:
    """Appends chunks to a temporary file beside ``target``; ``commit`` fsyncs and renames it."""

    def __init__(self, target: Path, schema: Callable[[pd.DataFrame], Any] | None = None):
        self.target, self.kind = target, file_kind(target, must_exist=False)  # checked before the lock was taken
        self._make_schema = schema  # frame -> Parquet schema; None: the first chunk's
        for stale in target.parent.glob(f".{target.name}.*.partial"):  # left by a killed run (we hold the lock)
            stale.unlink(missing_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        os.close(fd)
        self.tmp = Path(name)
        self._parquet = None
        self._schema = None
        self._header = True

    def write_text(self, header: str, body: str) -> None:
        """Append rendered CSV text (the header only for the first chunk)."""
        with open(self.tmp, "a", encoding="utf-8", newline="") as fh:
            if self._header:
                fh.write(header)
                self._header = False
            fh.write(body)

    def write(self, frame: pd.DataFrame) -> None:
        if self.kind == "csv":
            frame.to_csv(self.tmp, mode="a", header=self._header, index=False, lineterminator="\n")
            self._header = False
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._schema is None and self._make_schema is not None:
            self._schema = self._make_schema(frame)
        try:
            table = pa.Table.from_pandas(frame, preserve_index=False, schema=self._schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:  # a bug if it happens: the schema is fixed up front
            raise AcquireError(f"{self.target}: a chunk does not fit the output's fixed schema: {exc}") from None
        if self._parquet is None:
            self._schema = table.schema
            self._parquet = pq.ParquetWriter(self.tmp, self._schema)
        self._header = False
        self._parquet.write_table(table)  # type: ignore[attr-defined]

    def commit(self) -> None:
        if self.kind == "parquet" and self._parquet is None:
            raise AcquireError(f"{self.target}: nothing was written")
        if self._parquet is not None:
            self._parquet.close()
        with open(self.tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(self.tmp, 0o666 & ~current_umask())
        os.replace(self.tmp, self.target)
        fsync_dir(self.target.parent)

    def abort(self) -> None:
        if self._parquet is not None:
            try:
                self._parquet.close()
            except Exception:
                pass
        self.tmp.unlink(missing_ok=True)


def process_chunk(model: Any, chunk: pd.DataFrame, options: dict, render_csv: bool) -> tuple[int, pd.DataFrame, Any]:
    """Rank one chunk: ``(rows, problems, payload)``; the payload is the ranked frame, or for CSV
    output its rendered ``(header, body)`` text (so Dask workers, not the client, render it)."""
    shape_problems = chunk.attrs.get(ROW_PROBLEMS, {})  # rows with too many or too few fields
    whole = chunk.index
    if shape_problems:
        chunk = chunk.drop(index=list(shape_problems))
    chunk.attrs = {}
    result = rank_frame(model, chunk, **options)
    if options.get("view") == "long":
        records = result.attrs.get("errors", []) + [{"row": r, "reason": m} for r, m in shape_problems.items()]
        problems = pd.DataFrame(records, columns=["row", "reason"]).sort_values("row", kind="stable")
    else:
        if shape_problems:  # every input row has its output row: a malformed one holds only its error
            result = result.reindex(whole)
            result.loc[list(shape_problems), "error"] = list(shape_problems.values())
        bad = result["error"].notna()
        problems = pd.DataFrame({"row": result.index[bad], "reason": result.loc[bad, "error"]})
        result = result.reset_index(drop=True)
    result.attrs = {}  # the problems are returned; attrs would not survive Parquet's metadata anyway
    if render_csv:
        return len(whole), problems, (result.head(0).to_csv(index=False, lineterminator="\n"),
                                      result.to_csv(index=False, header=False, lineterminator="\n"))
    return len(whole), problems, result


def run_batch(model: Any, in_path: str | os.PathLike, out_path: str | os.PathLike, *,
              errors_path: str | os.PathLike | None = None, chunk_size: int = 10_000, view: str = "next",
              progress: Callable[[int], None] | None = None, mapper: ChunkMapper | None = None,
              **rank_options: Any) -> BatchSummary:
    """Rank every row of ``in_path`` into ``out_path`` (see the module docstring).

    ``rank_options`` go to :func:`acquire.pipeline.rank_frame` (objective, budget, observed, ...).
    ``progress(n)`` is called after each chunk with the rows it held. ``mapper`` ranks the chunks
    elsewhere and yields :func:`process_chunk`'s results in order (e.g.
    :func:`acquire.pipeline.distributed.cluster_mapper` for a Dask cluster); default: here.
    """
    src, dst = Path(in_path), Path(out_path)
    for path in (src, dst) + ((Path(errors_path),) if errors_path else ()):
        if "\x00" in str(path):
            raise AcquireError(f"{str(path)!r}: a path cannot contain a NUL byte")
    if chunk_size < 1:
        raise AcquireError(f"chunk_size == {chunk_size}, must be >= 1")
    if not src.is_file():
        raise DataError(f"{src}: no such input file")
    input_schema = _input_schema(src)  # the name and the first bytes agree; a Parquet file's schema is readable
    distinct_paths({"--in": src, "--out": dst, "--errors": errors_path})
    for target in [dst] + ([Path(errors_path)] if errors_path else []):
        check_output_file(target)  # a regular file in an existing folder, before its lock file is made
        file_kind(target, must_exist=False)
    with ExitStack() as locks:  # one writer per output: a concurrent run is refused, never raced
        for target in [dst] + ([Path(errors_path)] if errors_path else []):
            locks.enter_context(output_lock(target))
        return _run_locked(model, src, dst, errors_path, chunk_size, view, progress, mapper, rank_options,
                           input_schema)


def _input_schema(src: Path) -> Any:
    """A Parquet input's Arrow schema (None for CSV), read before any lock or output is made."""
    if file_kind(src) != "parquet":
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(src).schema_arrow
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{src}: cannot read Parquet: {reason}") from None


def _run_locked(model: Any, src: Path, dst: Path, errors_path: str | os.PathLike | None, chunk_size: int, view: str,
                progress: Callable[[int], None] | None, mapper: ChunkMapper | None, rank_options: dict,
                input_schema: Any) -> BatchSummary:
    out = _AtomicWriter(dst, lambda frame: output_schema(list(frame.columns), view, input_schema))
    err = _AtomicWriter(Path(errors_path), lambda frame: _errors_schema()) if errors_path else None
    start, offset, ranked, failed = time.perf_counter(), 0, 0, 0
    options = dict(rank_options, view=view, errors="report")
    render = out.kind == "csv"
    chunks = read_chunks(src, chunk_size)
    if mapper is None:
        processed: Iterable[tuple] = (process_chunk(model, chunk, options, render) for chunk in chunks)
    else:
        processed = mapper(model, chunks, options, render)
    try:
        for rows, problems, payload in processed:
            if render:
                out.write_text(*payload)
            else:
                out.write(payload)
            if err is not None and len(problems):
                err.write(problems)
            failed += len(problems)
            ranked += rows - len(problems)
            offset += rows
            if progress is not None:
                progress(rows)
        if err is not None and err._header:  # no bad rows: the errors file holds its header only
            err.write(pd.DataFrame({"row": pd.Series([], dtype="int64"), "reason": pd.Series([], dtype=object)}))
        out.commit()
        if err is not None:
            err.commit()
    except BaseException:
        out.abort()
        if err is not None:
            err.abort()
        raise
    return BatchSummary(offset, ranked, failed, time.perf_counter() - start, str(dst),
                        None if errors_path is None else str(errors_path))
