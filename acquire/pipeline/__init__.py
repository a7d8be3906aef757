"""The pipeline: the engine over frames, files and clusters.

- :mod:`.frame` — :func:`rank_frame` (pandas in, pandas out) and :class:`NextTestTransformer`;
- :mod:`.batch` — :func:`run_batch`: a file in, a file out, chunk by chunk, per-row errors, atomic outputs;
- :mod:`.distributed` — the same on Dask (a Dask DataFrame, or a file's chunks on a cluster).

Imports point one way: ``distributed → batch → frame → acquire.engine``. ``rank_frame`` here
also accepts a Dask DataFrame and hands it to :mod:`.distributed`.
"""

from __future__ import annotations

import functools
from typing import Any

from acquire.pipeline import frame as _frame
from acquire.pipeline.frame import LONG_COLUMNS, LONG_TYPES, NEXT_COLUMNS, NEXT_TYPES, NextTestTransformer

__all__ = ["rank_frame", "NextTestTransformer", "NEXT_COLUMNS", "NEXT_TYPES", "LONG_COLUMNS", "LONG_TYPES"]


@functools.wraps(_frame.rank_frame)
def rank_frame(model: Any, frame: Any, **options: Any) -> Any:
    if type(frame).__module__.startswith("dask"):
        from acquire.pipeline.distributed import rank_dask_frame

        return rank_dask_frame(model, frame, **options)
    return _frame.rank_frame(model, frame, **options)
