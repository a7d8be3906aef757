"""Strict JSON for every file and every ``--format json`` the project writes.

Python's ``json`` writes ``NaN`` and ``Infinity``, which strict parsers (JavaScript's
``JSON.parse``, many pipeline tools) reject. :func:`dumps` writes a missing or non-finite number
as ``null`` instead, and turns numpy scalars and arrays into plain JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

__all__ = ["dumps", "strict"]


def strict(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None and numpy values made plain (recursively).

    >>> strict({"a": float("nan"), "b": [1.5, float("inf")], "c": np.float64(2.0)})
    {'a': None, 'b': [1.5, None], 'c': 2.0}
    """
    if isinstance(obj, dict):
        return {str(k) if not isinstance(k, str) else k: strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return strict(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`strict` ``(obj)``, refusing any NaN that slipped through.

    >>> dumps({"auc": float("nan")})
    '{"auc": null}'
    """
    return json.dumps(strict(obj), allow_nan=False, **kwargs)
