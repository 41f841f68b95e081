"""rlgo: a Go engine and reinforcement-learning lab.

Importing the package points Numba's on-disk cache (`@njit(cache=True)`) at a folder named after
the source of every module that uses Numba (`kernel_cache_dir`). Numba checks only the file that
defines a cached function, so a kernel calling a function of another file that has changed since
(after `git pull`, or an edit) would otherwise keep running the old code. A NUMBA_CACHE_DIR set
by the user is left as it is.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

KEPT_CACHES = 4
"""Kernel cache folders kept side by side (the most recently made; older ones are deleted)."""


def kernel_cache_dir(package: Path | None = None, base: Path | None = None) -> Path:
    """The Numba cache folder of this source: `base` (default ~/.cache/rlgo, or $XDG_CACHE_HOME/rlgo) /
    numba-<hash of the modules of `package` that mention numba>."""
    package = Path(__file__).resolve().parent if package is None else package
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(package.rglob("*.py")):
        text = path.read_bytes()
        if b"numba" in text:
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + text)
    if base is None:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rlgo"
    return base / f"numba-{digest.hexdigest()}"


def _use_kernel_cache() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    try:
        folder = kernel_cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        others = sorted((p for p in folder.parent.glob("numba-*") if p != folder),
                        key=lambda p: p.stat().st_mtime, reverse=True)
    except (OSError, RuntimeError):  # no home folder, or a read-only one: Numba's own default stays
        return
    for old in others[KEPT_CACHES - 1:]:
        shutil.rmtree(old, ignore_errors=True)
    os.environ["NUMBA_CACHE_DIR"] = str(folder)  # worker processes inherit it
    if "numba" in sys.modules:  # imported before rlgo: its config has read the environment already
        sys.modules["numba"].config.CACHE_DIR = str(folder)


_use_kernel_cache()
