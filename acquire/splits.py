"""Train/test splits and folds (scikit-learn's), with a one-line reason when the data cannot be split.

A file with too few rows, or too few of one class for a stratified split, is a user's data problem:
it gets a :class:`acquire.DataError` naming the option, the rows per class and the fix, never
scikit-learn's bare ``ValueError``.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from acquire.exceptions import DataError

__all__ = ["holdout_split", "fold_splits"]


def _counts(y: np.ndarray | None, stratify: bool, classes: list | None) -> str:
    if y is None or not stratify or len(y) == 0:
        return ""
    counts = np.bincount(np.asarray(y, dtype=np.int64))
    names = classes if classes is not None and len(classes) == len(counts) else list(range(len(counts)))
    return " (" + ", ".join(f"{name}: {int(c)}" for name, c in zip(names, counts)) + ")"


def _no_rows(n: int, option: str) -> None:
    if n == 0:
        raise DataError(f"data: no rows to split for {option}; the file holds a header only")


def holdout_split(n: int, test_size: float, seed: int, *, y: np.ndarray | None = None, stratify: bool = False,
                  option: str = "test_size", classes: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(train positions, test positions) of ``n`` rows; stratified by ``y`` when ``stratify``."""
    from sklearn.model_selection import train_test_split

    _no_rows(n, option)
    try:
        train, test = train_test_split(np.arange(n), test_size=test_size, random_state=seed,
                                       stratify=y if stratify else None)
    except ValueError as exc:
        k = len(np.unique(y)) if stratify and y is not None else 1
        fix = (f"choose {option} between {k / n:.2g} and {(n - k) / n:.2g}" if 2 * k <= n
               else f"the file needs at least {2 * k} rows")
        raise DataError(f"data: {option} {test_size:g} cannot split {n} rows{_counts(y, stratify, classes)}: "
                        f"{str(exc).strip().splitlines()[0]}; {fix}, and at least 2 rows of every class") from None
    return train, test


def fold_splits(n: int, folds: int, seed: int, *, y: np.ndarray | None = None, stratify: bool = False,
                option: str = "folds", classes: list | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``folds`` (train positions, test positions) pairs that hold every row out once."""
    from sklearn.model_selection import KFold, StratifiedKFold

    _no_rows(n, option)
    smallest = int(np.bincount(np.asarray(y, dtype=np.int64)).min()) if stratify and y is not None else n
    if folds > smallest:
        fix = f"choose {option} {smallest} or fewer, or add rows" if smallest >= 2 else "add rows (at least 2 of each)"
        if stratify:
            need, have = "rows of every class", f"its smallest class has {smallest}"
        else:
            need, have = "rows", f"the file has {smallest}"
        raise DataError(f"data: {option} {folds} needs at least {folds} {need}; {have}"
                        f"{_counts(y, stratify, classes)}: {fix}")
    maker = (StratifiedKFold if stratify else KFold)(n_splits=folds, shuffle=True, random_state=seed)
    return iter(list(maker.split(np.zeros((n, 1)), y if stratify else None)))
