"""Scale-out on Dask: the same ranking on many workers, with results identical to a local run.

- :func:`rank_dask_frame` — :func:`acquire.pipeline.frame.rank_frame` over a Dask DataFrame
  (``map_partitions``); :func:`acquire.pipeline.rank_frame` dispatches to it when given one.
- :func:`map_chunks` — rank (and render) an ordered stream of pandas chunks on a cluster, yielding
  results in input order with a bounded number in flight (memory stays flat); ``acquire batch
  --scheduler`` passes :func:`cluster_mapper` to :func:`acquire.pipeline.batch.run_batch`.
  Workers render CSV text themselves, so the client only reads and appends.

A row's result never depends on how rows are chunked or partitioned (exact values and seeded
common random numbers), so the output is byte-identical to a local run. Each worker ranks with
one numba thread: the cluster supplies the parallelism. Workers need acquire installed (same
version); the model travels to them once (``Client.scatter``).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Iterable, Iterator

import pandas as pd

from acquire.exceptions import AcquireError
from acquire.pipeline.batch import ChunkMapper, process_chunk
from acquire.pipeline.frame import rank_frame

__all__ = ["client_for", "cluster_mapper", "map_chunks", "rank_dask_frame"]


def _one_thread(fn, *args):
    """Run ``fn`` with one numba thread: the workers are the parallelism."""
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return fn(*args)
    finally:
        numba.set_num_threads(previous)


def _rank_partition(part: pd.DataFrame, model: Any, options: dict) -> pd.DataFrame:
    return _one_thread(lambda: rank_frame(model, part, **options))


def _process_chunk(chunk: pd.DataFrame, model: Any, options: dict, render_csv: bool):
    return _one_thread(process_chunk, model, chunk, options, render_csv)


def rank_dask_frame(model: Any, ddf: Any, **options: Any) -> Any:
    """``rank_frame`` on every partition of a Dask DataFrame (lazy; call ``.compute()``)."""
    meta = rank_frame(model, ddf._meta, **(options | {"errors": "report"}))
    meta.attrs = {}
    return ddf.map_partitions(_rank_partition, model, options, meta=meta)


def client_for(scheduler: str, n_workers: int = 2, *, timeout: float = 10.0, quiet: bool = False) -> Any:
    """A Dask client: ``"local"`` starts a LocalCluster of ``n_workers`` single-threaded processes;
    anything else is a scheduler address such as ``tcp://10.0.0.5:8786``, reached within ``timeout``
    seconds or refused in one line. ``quiet`` keeps Dask's own log lines and warnings off stderr."""
    import logging
    import warnings

    from distributed import Client, LocalCluster

    if quiet:
        for name in ("distributed", "bokeh", "tornado"):
            logging.getLogger(name).setLevel(logging.ERROR)
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
        if scheduler == "local":
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
            return Client(cluster)
        if "://" not in scheduler or not scheduler.rsplit(":", 1)[-1].isdigit():
            raise AcquireError(f"--scheduler {scheduler[:100]!r}: not a scheduler address; give 'local' or an "
                               f"address with its port, like tcp://10.0.0.5:8786")
        try:
            return Client(scheduler, timeout=timeout)
        except Exception as exc:  # OSError, TimeoutError, a peer that is not a Dask scheduler, ...
            reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise AcquireError(f"--scheduler {scheduler[:100]}: could not connect to a Dask scheduler there within "
                               f"{timeout:g} s ({reason}); check the address and that the scheduler runs") from None


def map_chunks(client: Any, model: Any, chunks: Iterable[pd.DataFrame], options: dict, render_csv: bool,
               window: int | None = None) -> Iterator[tuple]:
    """Yield :func:`acquire.pipeline.batch.process_chunk` results in input order, computed on the cluster;
    at most ``window`` chunks (default: twice the workers) are in flight."""
    window = window or 2 * max(1, len(client.scheduler_info().get("workers", {})))
    remote_model = client.scatter(model, broadcast=True)
    pending: deque = deque()
    for chunk in chunks:
        pending.append(client.submit(_process_chunk, chunk, remote_model, options, render_csv, pure=False))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def cluster_mapper(client: Any) -> ChunkMapper:
    """A chunk mapper for :func:`acquire.pipeline.batch.run_batch` that ranks on ``client``'s cluster."""
    return lambda model, chunks, options, render_csv: map_chunks(client, model, chunks, options, render_csv)
