"""Shard files of training positions and the dataset manifest (both written atomically).

A shard `{split}-{index:05d}.npz` holds S positions of whole games (numpy only, no pickle):

| array      | dtype / shape        | meaning                                                      |
|------------|----------------------|--------------------------------------------------------------|
| stones     | uint8 [S, H, 2, P]   | bit-packed black / white stones of the position now and the  |
|            |                      | H-1 before it (np.packbits over the N*N points, P bytes)     |
| to_play    | int8 [S]             | side to move (1 black, 2 white)                              |
| move       | int16 [S]            | the expert's move (point, N*N = pass)                        |
| last_move  | int16 [S]            | the move before it (point, N*N = pass, -1 at the start)      |
| ko         | int16 [S]            | point simple ko forbids now, -1 if none                      |
| move_number| int16 [S]            | moves played since the setup (the board's M_MOVENUM)         |
| outcome    | int8 [S]             | game result for the side to move: +1 win, -1 loss, 0 unknown |
| komi       | float32 [S]          | the game's komi (shards written before it was stored: 7.5)   |
| game       | int32 [S]            | index into game_ids                                          |
| game_ids   | str [G]              | the games of this shard (source key of the SGF)              |
| size       | int64 []             | board size N                                                 |

The manifest `manifest.json` lists the complete shards; readers use it, not a glob, so a
shard written by an interrupted run and not yet listed is never read (a rerun rewrites it).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rlgo.atomic import atomic_write, write_text_atomic

HISTORY = 8
"""Positions stored per sample (now + 7 before), enough for the 'agz' feature set."""
MANIFEST = "manifest.json"
FORMAT_VERSION = 1
FIELDS = ("stones", "to_play", "move", "last_move", "ko", "move_number", "outcome", "komi", "game")
LEGACY_KOMI = 7.5
"""Komi of the positions of shards written before `komi` was stored (every such dataset used it)."""


class ShardError(ValueError):
    """A shard or manifest that is missing, damaged, or of another board size / format."""


def pack_stones(stones: np.ndarray) -> np.ndarray:
    """int8 [..., N*N] colours (0/1/2) -> uint8 [..., 2, P] bit-packed black and white planes."""
    return np.packbits(np.stack([stones == 1, stones == 2], axis=-2), axis=-1)


def unpack_stones(packed: np.ndarray, size: int) -> np.ndarray:
    """Inverse of pack_stones: uint8 [..., 2, P] -> int8 [..., N*N] colours."""
    bits = np.unpackbits(packed, axis=-1, count=size * size).astype(np.int8)
    return bits[..., 0, :] + 2 * bits[..., 1, :]


def write_shard(path: str | os.PathLike, size: int, arrays: dict[str, np.ndarray], game_ids: list[str]) -> None:
    """Write one shard atomically; `arrays` holds every name of FIELDS (shapes as in the table)."""
    missing = set(FIELDS) - set(arrays)
    if missing:
        raise ShardError(f"shard {str(path)!r} lacks arrays {sorted(missing)}")
    payload = {k: arrays[k] for k in FIELDS}
    payload["game_ids"] = np.asarray(game_ids, dtype=np.str_)
    payload["size"] = np.int64(size)
    atomic_write(path, lambda f: np.savez(f, **payload))


def read_shard(path: str | os.PathLike, size: int | None = None) -> dict[str, np.ndarray]:
    """Load a shard (no pickle); raises ShardError if unreadable, incomplete or of another size."""
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in (*FIELDS, "game_ids", "size") if k != "komi" or k in z.files}
    except (OSError, ValueError, KeyError, EOFError) as e:
        raise ShardError(f"shard {str(path)!r} is unreadable or incomplete: {e}") from None
    if size is not None and int(data["size"]) != size:
        raise ShardError(f"shard {str(path)!r} has board size {int(data['size'])}, expected {size}")
    data.setdefault("komi", np.full(len(data["move"]), LEGACY_KOMI, np.float32))
    return data


@dataclass
class Manifest:
    """What a dataset folder holds: its config, complete shards, processed sources and counters."""

    size: int
    """Board size N."""
    config: dict = field(default_factory=dict)
    """Build options (filters, split) that must match on resume."""
    shards: list[dict] = field(default_factory=list)
    """Per shard index: {"index": k, "train": positions, "val": positions}; files exist when > 0."""
    done: list[str] = field(default_factory=list)
    """Source keys fully processed (kept, filtered or rejected) up to the last shard."""
    game_hashes: list[str] = field(default_factory=list)
    """Move-sequence hashes of the games kept, for deduplication across runs."""
    stats: dict[str, int] = field(default_factory=dict)
    """Counters (games kept, positions, and each reason for skipping a record)."""

    def files(self, split: str) -> list[str]:
        """Shard file names of a split ('train' or 'val'), in index order."""
        return [shard_name(split, s["index"]) for s in self.shards if s.get(split, 0) > 0]

    def positions(self, split: str) -> int:
        """Number of positions in a split."""
        return sum(s.get(split, 0) for s in self.shards)

    def save(self, folder: str | os.PathLike) -> None:
        """Write manifest.json atomically."""
        text = json.dumps({"format_version": FORMAT_VERSION, **self.__dict__}, indent=1)
        write_text_atomic(Path(folder) / MANIFEST, text)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "Manifest":
        """Read manifest.json of a dataset folder; raises ShardError."""
        path = Path(folder) / MANIFEST
        try:
            d = json.loads(path.read_text())
        except FileNotFoundError:
            raise ShardError(f"{str(folder)!r} is not a dataset folder (no {MANIFEST})") from None
        except (OSError, ValueError) as e:
            raise ShardError(f"manifest {str(path)!r} is unreadable: {e}") from None
        if d.pop("format_version", None) != FORMAT_VERSION:
            raise ShardError(f"manifest {str(path)!r} is not format version {FORMAT_VERSION}")
        try:
            return cls(**d)
        except TypeError as e:
            raise ShardError(f"manifest {str(path)!r} is malformed: {e}") from None


def shard_name(split: str, index: int) -> str:
    """File name of shard `index` of a split."""
    return f"{split}-{index:05d}.npz"
