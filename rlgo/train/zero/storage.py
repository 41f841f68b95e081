"""Atomic files of a run folder: write to a hidden temp file in the same folder, fsync, rename."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call write(f) on `.{name}.XXXX.tmp` next to `path`, fsync, then rename onto `path`.

    A crash leaves either the old file or the new one (plus, at worst, a stale temp file).
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


def write_json(path: str | os.PathLike, data: dict) -> None:
    """Write `data` as indented JSON atomically."""
    text = (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()
    atomic_write(path, lambda f: f.write(text))


def read_json(path: str | os.PathLike) -> dict:
    """Read a JSON object (FileNotFoundError / ValueError propagate to the caller)."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError(f"{str(path)!r} does not hold a JSON object")
    return data
