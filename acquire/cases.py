"""Build a case (feature → value) from a data row, a JSON object or a JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from acquire.exceptions import DataError
from acquire.spec import Spec

__all__ = ["case_from_row", "case_from_json"]


def case_from_row(spec: Spec, frame: pd.DataFrame, row: int, observed: Sequence[str] | None = None) -> dict:
    """Row ``row`` (0-based position) of ``frame`` as a case.

    With ``observed``, only those features count as measured (the rest are hidden, as if
    not yet ordered); without it, every non-missing feature value counts as measured.
    """
    if not 0 <= row < len(frame):
        raise DataError(f"row {row} is out of range; the data has rows 0..{len(frame) - 1}")
    record = frame.iloc[row]
    names = spec.feature_names if observed is None else list(observed)
    spec.index_of(names)
    return {n: _scalar(record[n]) for n in names if n in record.index and not pd.isna(record[n])}


def case_from_json(text_or_path: str) -> dict:
    """A case from inline JSON (``'{"age": 50}'``) or from a JSON file holding one object."""
    source: str | None = text_or_path
    if not text_or_path.lstrip().startswith("{"):
        path = Path(text_or_path)
        try:
            source = path.read_text("utf-8") if path.is_file() else None
        except (OSError, UnicodeDecodeError, ValueError):  # unreadable, not text, a NUL byte in the path
            source = None
        if source is None:
            raise DataError(f"--case: {text_or_path!r} is neither a JSON object nor a readable JSON file")
    try:
        case = json.loads(source or "")
    except json.JSONDecodeError as exc:
        raise DataError(f"--case: not valid JSON: {exc}") from None
    if not isinstance(case, dict):
        raise DataError(f"--case: expected a JSON object of feature: value, got {type(case).__name__}")
    return {k: (np.nan if v is None else v) for k, v in case.items()}


def _scalar(v):
    return v.item() if isinstance(v, np.generic) else v
