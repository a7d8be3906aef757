"""Folders written atomically (temporary folder, fsync, rename) and files checksummed; inputs are never touched."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from acquire.exceptions import AcquireError

__all__ = ["atomic_directory", "atomic_file", "check_output_file", "current_umask", "distinct_paths", "fsync_dir",
           "output_lock", "sha256_file"]


def sha256_file(path: Path) -> str:
    """The file's SHA-256, read in blocks (:func:`hashlib.file_digest`)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


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


def check_output_file(target: Path | str) -> Path:
    """Raise :class:`AcquireError` unless ``target`` can be replaced by a regular file: its folder
    exists, and it is absent or a regular file (never a device, pipe, socket or folder)."""
    target = Path(target)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise AcquireError(f"{target}: the folder {parent} does not exist; create it or choose another path")
    if os.path.lexists(target):
        try:
            mode = os.stat(target).st_mode
        except OSError as exc:
            raise AcquireError(f"{target}: cannot inspect the existing file ({exc.strerror})") from None
        if not stat.S_ISREG(mode):
            raise AcquireError(f"{target}: exists and is not a regular file (a folder, device, pipe or socket); "
                               f"refusing to replace it; choose another path")
    return target


def distinct_paths(paths: dict[str, "os.PathLike[str] | str | None"]) -> None:
    """Raise :class:`AcquireError` when two of ``paths`` (option → path) name the same file, after
    resolving links: an output written over an input or over another output loses data."""
    seen: dict[Path, str] = {}
    for option, path in paths.items():
        if path is None:
            continue
        real = Path(os.fspath(path)).resolve()
        if real in seen:
            raise AcquireError(f"{option} and {seen[real]} name the same file ({path}); give each its own path")
        seen[real] = option


@contextmanager
def output_lock(target: Path | str) -> Iterator[None]:
    """Hold an exclusive lock on writing ``target`` (a ``.NAME.lock`` file beside it) for the block;
    a second writer of the same output is refused at once instead of racing the first."""
    import fcntl

    target = Path(target)
    lock = target.parent / f".{target.name}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666 & ~current_umask())
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AcquireError(f"{target}: another acquire run is writing this output now; wait for it to "
                               f"finish or choose another path") from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def atomic_file(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``target`` to write; on success it is fsynced, given the
    umask's permissions and renamed onto ``target``; on failure it is removed."""
    target = check_output_file(target)
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
