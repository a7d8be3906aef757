"""Models of the bundled datasets for one case: fitted without the case's own row, cached on disk.

``acquire rank --dataset NAME --row N`` must not judge row N with a model that has seen its
outcome, so the model is fitted on the dataset's other rows (:func:`fit_without_row`). Refitting
on every call is slow, so :func:`model_for_row` keeps each fitted model in the user cache folder,
keyed by dataset, the dataset's content, the row left out, the seed, the package version and a
digest of the fitting code (:func:`fitting_code_digest`); a changed dataset, a new release or an
edited predictor fits afresh (a stale entry once served an XGBoost model after the default had
become the cross-validated choice). The cache is an ordinary model folder (checked
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


#: the modules whose code decides what ``fit_model`` returns (the predictors, their selection, the
#: conditional models, the spec's encoding): a cached model is reused only if they are unchanged
FITTING_CODE = ("model.py", "selection.py", "spec.py", "splits.py", "predictors", "conditional")


def fitting_code_digest() -> str:
    """SHA-256 of the fitting code's sources (:data:`FITTING_CODE`), so that a cache entry fitted by
    other code (another release, or an edited checkout with the same version) is never served."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for entry in FITTING_CODE:
        for path in sorted((root / entry).rglob("*.py")) if (root / entry).is_dir() else [root / entry]:
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


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
    recipe = datasets.data_path(name).read_bytes() + repr(spec.to_dict()).encode() + fitting_code_digest().encode()
    digest = hashlib.sha256(recipe).hexdigest()[:12]
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
