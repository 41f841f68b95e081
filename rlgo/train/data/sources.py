"""SGF sources: every .sgf file in a folder tree, .zip and .tar(.gz/.bz2/.xz) archives included."""
from __future__ import annotations

import os
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


class SourceError(ValueError):
    """An input path that does not exist or is neither a folder, an SGF file nor an archive."""


class Source(NamedTuple):
    """One SGF file's bytes, or an unreadable container (`error` set, `data` None)."""

    key: str
    """Stable name: path relative to the input root, 'archive.zip:inner/path.sgf' inside archives."""
    data: bytes | None
    """File contents, None when it could not be read."""
    error: str = ""
    """Why the file or archive could not be read."""


def _is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def _is_sgf(name: str) -> bool:
    return name.lower().endswith(".sgf")


def list_inputs(root: str | os.PathLike) -> list[Path]:
    """Sorted SGF files and archives under `root` (or `root` itself); raises SourceError."""
    root = Path(root)
    if root.is_file():
        if _is_sgf(root.name) or _is_archive(root.name):
            return [root]
        raise SourceError(f"input {str(root)!r} is neither an .sgf file nor an archive ({', '.join(ARCHIVE_SUFFIXES)})")
    if not root.is_dir():
        raise SourceError(f"input {str(root)!r} does not exist")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        found += [Path(dirpath) / f for f in sorted(filenames)
                  if not f.startswith(".") and (_is_sgf(f) or _is_archive(f))]
    return found


def _zip_members(path: Path, key: str, skip: frozenset[str]) -> Iterator[Source]:
    with zipfile.ZipFile(path) as z:
        for info in sorted(z.infolist(), key=lambda i: i.filename):
            name = f"{key}:{info.filename}"
            if not info.is_dir() and _is_sgf(info.filename) and name not in skip:
                yield Source(name, z.read(info))


def _tar_members(path: Path, key: str, skip: frozenset[str]) -> Iterator[Source]:
    with tarfile.open(path) as t:
        for info in sorted(t.getmembers(), key=lambda i: i.name):
            name = f"{key}:{info.name}"
            if info.isfile() and _is_sgf(info.name) and name not in skip:
                yield Source(name, t.extractfile(info).read())


def iter_sources(root: str | os.PathLike, skip: frozenset[str] = frozenset()) -> Iterator[Source]:
    """Every SGF under `root` in a stable order, except the keys in `skip` (done earlier).

    An unreadable file or archive yields one Source with `error` set (reading stops at the
    damage for archives), so a bad input is counted instead of ending the walk.
    """
    root = Path(root)
    base = root.parent if root.is_file() else root
    for path in list_inputs(root):
        key = path.relative_to(base).as_posix()
        if key in skip:
            continue
        if not _is_archive(path.name):
            try:
                yield Source(key, path.read_bytes())
            except OSError as e:
                yield Source(key, None, f"unreadable file: {e}")
            continue
        members = _zip_members if path.name.lower().endswith(".zip") else _tar_members
        try:
            yield from members(path, key, skip)
        except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError, zipfile.LargeZipFile) as e:
            yield Source(key, None, f"unreadable archive: {e}")
