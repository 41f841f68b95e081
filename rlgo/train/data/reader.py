"""Stream dataset shards into training batches: feature planes (rlgo.go.features), moves, outcomes.

Positions are rebuilt on the kernel board from the stored stones (Numba), so every feature
set of rlgo.go.features can be computed exactly as in play; a random dihedral symmetry per
sample (rlgo.go.symmetry) augments the training data.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numba import njit

from rlgo.go import features, symmetry
from rlgo.go.restore import empty_board, restore_board, restore_history
from rlgo.go.state import zobrist
from rlgo.train.data.shards import FIELDS, Manifest, read_shard, unpack_stones


class Batch(NamedTuple):
    """A training batch; everything for the side to move of each position."""

    planes: np.ndarray
    """float32 [B, C, N, N] feature planes."""
    moves: np.ndarray
    """int64 [B] expert move (point, N*N = pass), in the planes' orientation."""
    outcomes: np.ndarray
    """float32 [B] game result for the side to move (+1 win, -1 loss, 0 unknown)."""


@njit(cache=True)
def _encode(fn, tb, tm, zob, stones, to_play, ko, last, move_number, komi, out):
    b = np.empty_like(tb)
    m = np.empty_like(tm)
    hist = np.zeros((stones.shape[1], tb.shape[1]), np.int8)
    for i in range(stones.shape[0]):
        restore_board(tb, tm, zob, stones[i, 0], to_play[i], ko[i], last[i], move_number[i], komi[i], b, m)
        restore_history(stones[i], move_number[i], hist)
        fn(b, m, hist, out[i])


class PositionEncoder:
    """Feature planes of stored samples: __call__(data dict, index int64 [B]) -> float32 [B, C, N, N]."""

    def __init__(self, size: int, feature_set: str = "agz"):
        self.size, self.feature_set = size, feature_set
        self.planes = features.feature_planes(feature_set)
        self.fn = features.kernel(feature_set)
        self.tb, self.tm = empty_board(size)
        self.zob = zobrist(size)

    def __call__(self, data: dict[str, np.ndarray], index: np.ndarray) -> np.ndarray:
        n = self.size
        stones = unpack_stones(data["stones"][index], n)
        out = np.empty((len(index), self.planes, n, n), dtype=np.float32)
        _encode(self.fn, self.tb, self.tm, self.zob, stones,
                data["to_play"][index].astype(np.int64), data["ko"][index].astype(np.int64),
                data["last_move"][index].astype(np.int64), data["move_number"][index].astype(np.int64),
                data["komi"][index].astype(np.float64), out)
        return out


def share(count: int, rank: int, world: int) -> slice:
    """Rank `rank`'s contiguous share of `count` items split among `world` ranks (sizes differ by at most one)."""
    q, r = divmod(count, world)
    start = rank * q + min(rank, r)
    return slice(start, start + q + (rank < r))


def augment(planes: np.ndarray, moves: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Apply an independent random symmetry to each sample (planes [B, C, N, N], moves [B])."""
    return apply_symmetries(planes, moves, rng.integers(symmetry.NUM_SYMMETRIES, size=len(moves)))


def apply_symmetries(planes: np.ndarray, moves: np.ndarray, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sample i in symmetry ks[i] (planes [B, C, N, N], moves [B], ks int [B])."""
    n = planes.shape[-1]
    table = symmetry.point_table(n)
    planes, moves = planes.copy(), table[ks, moves]
    for k in range(1, symmetry.NUM_SYMMETRIES):
        sel = ks == k
        if sel.any():
            planes[sel] = symmetry.apply_planes(planes[sel], k)
    return planes, moves


class ShardReader:
    """Batches of one split of a dataset folder, read `shards_in_memory` shards at a time."""

    def __init__(self, folder: str | os.PathLike, split: str = "train", feature_set: str = "agz",
                 shards_in_memory: int = 8):
        self.folder = Path(folder)
        self.manifest = Manifest.load(folder)
        self.split = split
        self.size = self.manifest.size
        self.files = self.manifest.files(split)
        self.positions = self.manifest.positions(split)
        self.encoder = PositionEncoder(self.size, feature_set)
        self.shards_in_memory = max(1, shards_in_memory)

    def _load(self, names: list[str]) -> dict[str, np.ndarray]:
        parts = [read_shard(self.folder / name, self.size) for name in names]
        return {k: np.concatenate([p[k] for p in parts]) for k in FIELDS}

    def batches(self, batch_size: int, rng: np.random.Generator | None = None, symmetries: bool = True,
                drop_last: bool = False, skip: int = 0, part: tuple[int, int] = (0, 1)) -> Iterator[Batch]:
        """One pass over the split; shuffled (shards and positions) when `rng` is given.

        The first `skip` batches are passed over without being encoded (resuming an epoch
        with the same rng seed gives the remaining batches of the same order). With
        `part` = (rank, world) each batch holds only that rank's `share` of the batch
        of `batch_size` (distributed training: the ranks' parts make up the whole).
        """
        order = list(self.files)
        sym_seed = None
        if rng is not None:
            sym_seed = int(rng.integers(2**63)) if symmetries else None
            rng.shuffle(order)
        count = 0
        for start in range(0, len(order), self.shards_in_memory):
            data = self._load(order[start:start + self.shards_in_memory])
            index = rng.permutation(len(data["move"])) if rng is not None else np.arange(len(data["move"]))
            stop = len(index) - (len(index) % batch_size if drop_last else 0)
            for s in range(0, stop, batch_size):
                count += 1
                if count > skip:  # symmetries seeded per batch, so skipping changes nothing after
                    sym_rng = None if sym_seed is None else np.random.default_rng([sym_seed, count])
                    yield self.batch(data, index[s:s + batch_size], sym_rng, part)

    def batch(self, data: dict[str, np.ndarray], index: np.ndarray, rng: np.random.Generator | None,
              part: tuple[int, int] = (0, 1)) -> Batch:
        """Encode the samples `index` of loaded shard data, or the (rank, world) `part` of them
        (random symmetries when `rng` is given, drawn for all of `index`)."""
        ks = rng.integers(symmetry.NUM_SYMMETRIES, size=len(index)) if rng is not None else None
        mine = share(len(index), *part)
        index = index[mine]
        planes = self.encoder(data, index)
        moves = data["move"][index].astype(np.int64)
        if ks is not None:
            planes, moves = apply_symmetries(planes, moves, ks[mine])
        return Batch(planes, moves, data["outcome"][index].astype(np.float32))
