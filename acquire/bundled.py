"""Models of the bundled datasets for one case: fitted without the case's own row, cached on disk.

``acquire rank --dataset NAME --row N`` must not judge row N with a model that has seen its
outcome, so the model is fitted on the dataset's other rows (:func:`fit_without_row`). Refitting
on every call is slow, so :func:`model_for_row` keeps each fitted model in the user cache folder,
keyed by dataset, the dataset's content, the row left out, the seed and the package version;
a changed dataset or a new release fits afresh. The cache is an ordinary model folder (checked
against its manifest when loaded, no pickle); a cache that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable

import pandas as pd

from acquire._version import __version__
from acquire.exceptions import AcquireError, ModelError
from acquire.model import MANIFEST, Model, fit_model, load_model
from acquire.spec import Spec

__all__ = ["cache_dir", "fit_without_row", "model_for_row"]


def cache_dir() -> Path:
    """``$ACQUIRE_CACHE_DIR``, else ``$XDG_CACHE_HOME/acquire``, else ``~/.cache/acquire``."""
    if os.environ.get("ACQUIRE_CACHE_DIR"):
        return Path(os.environ["ACQUIRE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "acquire"


def fit_without_row(frame: pd.DataFrame, spec: Spec, row: int | None, *, seed: int = 0,
                    progress: Callable[[str], None] | None = None) -> Model:
    """A model fitted on every row of ``frame`` but the 0-based ``row`` (every row when None)."""
    train = frame if row is None else frame.drop(index=frame.index[row])
    return fit_model(train, spec, seed=seed, holdout=0, progress=progress)


def model_for_row(name: str, row: int | None, *, seed: int = 0, cache: bool = True,
                  progress: Callable[[str], None] | None = None) -> Model:
    """The model of bundled dataset ``name`` fitted without ``row``, from the cache when it is there.

    Examples
    --------
    >>> import tempfile, os
    >>> os.environ["ACQUIRE_CACHE_DIR"] = tempfile.mkdtemp()
    >>> first = model_for_row("pima", 0)          # fitted on rows 1..531 and cached
    >>> again = model_for_row("pima", 0)          # loaded from the cache
    >>> first.spec.name == again.spec.name == "pima"
    True
    """
    from acquire import datasets

    frame, spec = datasets.load(name)
    if row is not None and not 0 <= row < len(frame):
        raise AcquireError(f"row {row} is out of range; the data has rows 0..{len(frame) - 1}")
    digest = hashlib.sha256(datasets.data_path(name).read_bytes() + repr(spec.to_dict()).encode()).hexdigest()[:12]
    folder = cache_dir() / "models" / f"{name}-{digest}-{'all' if row is None else f'without-row-{row}'}-seed{seed}-v{__version__}"
    if cache and (folder / MANIFEST).is_file():
        try:
            return load_model(folder)
        except ModelError:
            pass  # a damaged cache entry is refitted and replaced
    left_out = "" if row is None else " (the ranked row left out)"
    model = fit_without_row(frame, spec, row, seed=seed,
                            progress=None if progress is None else (lambda m: progress(f"{name}{left_out}: {m}")))
    if cache:
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            model.save(folder)
        except (OSError, AcquireError):
            pass  # a read-only home: work without the cache
    return model
