"""The opponent pool of policy-gradient training: checkpoints of earlier policies in one folder.

Files are rlgo checkpoints named `snap-<iteration, 6 digits>.pt` (the learner after that
iteration; iteration 0 is the starting SL policy) and `seed-<k>-<name>.pt` (policies copied
in from another pool when the run started). Opponents are drawn uniformly from all files,
in name order, so a pool folder plus a seed fixes every draw.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np

from rlgo.nn.checkpoint import save_checkpoint
from rlgo.nn.inference import PolicyNet, load_policy
from rlgo.nn.model import GoNet

_SNAP = re.compile(r"snap-(\d{6})\.pt\Z")


class PoolError(ValueError):
    """A pool folder that is missing or holds no snapshot."""


class SnapshotPool:
    """Snapshots in `folder` (created on the first `add`); `board_size` / `feature_set` are checked on load."""

    def __init__(self, folder: str | os.PathLike, board_size: int | None = None, feature_set: str | None = None):
        self.folder = Path(folder)
        self.board_size = board_size
        self.feature_set = feature_set
        self._cache: dict[Path, PolicyNet] = {}

    def paths(self) -> list[Path]:
        """Every snapshot file, in name order (the order `sample` draws from)."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if p.suffix == ".pt" and not p.name.startswith("."))

    def __len__(self) -> int:
        return len(self.paths())

    def require(self) -> None:
        """Raise PoolError unless the folder holds at least one snapshot."""
        if not self.folder.is_dir():
            raise PoolError(f"snapshot pool folder {str(self.folder)!r} does not exist")
        if not self.paths():
            raise PoolError(f"snapshot pool folder {str(self.folder)!r} holds no snapshots (*.pt)")

    def add(self, model: GoNet, iteration: int) -> Path:
        """Save `model` as the snapshot of `iteration` (atomically); returns its path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return save_checkpoint(self.folder / f"snap-{iteration:06d}.pt", model, step=iteration)

    def copy_from(self, other: str | os.PathLike) -> int:
        """Copy every snapshot of another pool folder in as `seed-<k>-<name>`; returns how many."""
        source = SnapshotPool(other)
        source.require()
        self.folder.mkdir(parents=True, exist_ok=True)
        for k, path in enumerate(source.paths()):
            shutil.copyfile(path, self.folder / f"seed-{k:03d}-{path.name}")
        return len(source)

    def truncate(self, iteration: int) -> list[Path]:
        """Delete the snapshots of iterations after `iteration` (made after the checkpoint a run resumes from)."""
        gone = []
        for path in self.paths():
            match = _SNAP.match(path.name)
            if match and int(match.group(1)) > iteration:
                path.unlink()
                self._cache.pop(path, None)
                gone.append(path)
        return gone

    def sample(self, rng: np.random.Generator) -> Path:
        """A snapshot path drawn uniformly; raises PoolError for an empty pool."""
        self.require()
        paths = self.paths()
        return paths[int(rng.integers(len(paths)))]

    def load(self, path: Path, device: str = "cpu") -> PolicyNet:
        """The policy of a snapshot (the last 8 cached); CheckpointError if its board size or feature
        set is not the pool's or it has no policy head."""
        if path not in self._cache:
            if len(self._cache) >= 8:
                self._cache.pop(next(iter(self._cache)))
            self._cache[path] = load_policy(path, device, self.board_size, self.feature_set)
        return self._cache[path]
