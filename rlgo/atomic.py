"""Atomic file writes: a hidden temp file in the same folder, fsync, rename, fsync the folder."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call write(f) on `.{name}.XXXX.tmp` next to `path`, fsync, rename onto `path`; return the path.

    A crash leaves either the old file or the new one (at worst plus a stale temp file).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Replace a UTF-8 text file atomically."""
    data = text.encode("utf-8")
    return atomic_write(path, lambda f: f.write(data))


def remove_stale_temps(*folders: str | os.PathLike) -> int:
    """Delete the temp files that killed `atomic_write` calls left in `folders`; returns how many.

    Only safe while no other process writes there (a run holding rlgo.procs.RunLock).
    """
    stale = [p for folder in folders if Path(folder).is_dir() for p in Path(folder).glob(".*.tmp")]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)
