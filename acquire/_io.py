"""Folders written atomically (temporary folder, fsync, rename) and files checksummed; inputs are never touched."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from acquire.exceptions import AcquireError

__all__ = ["atomic_directory", "atomic_file", "current_umask", "fsync_dir", "sha256_file"]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_output_directory(target: Path | str, *, marker: str) -> Path:
    """Raise :class:`AcquireError` unless ``target`` can be written as an output folder: its parent
    exists, and it is absent, empty, or ours (holds ``marker``). Call it before long work."""
    target = Path(target)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise AcquireError(f"{target}: the folder {parent} does not exist; create it or choose another path")
    if target.exists() and not target.is_dir():
        raise AcquireError(f"{target}: exists and is not a folder; refusing to replace it")
    if target.is_dir() and any(target.iterdir()) and not (target / marker).exists():
        what = {"manifest.json": "model", "report.json": "report"}.get(marker, "output folder")
        raise AcquireError(f"{target}: folder exists, is not empty and is not an acquire {what}; refusing to overwrite it")
    return target


@contextmanager
def atomic_directory(target: Path | str, *, marker: str) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``target``; on success it replaces ``target``.

    An existing ``target`` is replaced only if it holds ``marker`` (it is ours) or is empty;
    a failure leaves ``target`` as it was and removes the temporary folder.
    """
    target = check_output_directory(target, marker=marker)
    parent = target.parent if str(target.parent) else Path(".")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700; a model folder is shared like any other
    try:
        yield tmp
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
            os.rmdir(old)
            os.replace(target, old)
        os.replace(tmp, target)
        fsync_dir(parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def atomic_file(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``target`` to write; on success it is fsynced, given the
    umask's permissions and renamed onto ``target``; on failure it is removed."""
    target = Path(target)
    if not target.parent.exists():
        raise AcquireError(f"{target}: the folder {target.parent} does not exist")
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix or ".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)
