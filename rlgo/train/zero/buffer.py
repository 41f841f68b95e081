"""The replay buffer on disk: self-play games in compact shards, the last W games sampled with symmetries.

A shard `gen{G:04d}-{seq:06d}-{games:04d}.npz` (written atomically, numpy only) holds whole
games of generation G; its name carries the game count, so counting needs no reading, and a
shard torn by a crash is a hidden temp file that is never listed.

| array           | dtype / shape          | meaning                                                  |
|-----------------|------------------------|----------------------------------------------------------|
| stones          | uint8 [S, 8, 2, P]     | packed black / white stones now and 7 positions before   |
| to_play         | int8 [S]               | side to move (1 black, 2 white)                          |
| ko, last_move   | int16 [S]              | simple-ko point / previous move (-1 none, N*N pass)      |
| move_number     | int16 [S]              | moves played before the position                        |
| policy          | float16 [S, N*N+1]     | root visit distribution of the full search               |
| outcome         | int8 [S]               | game result for the side to move (+1, -1, 0 jigo)        |
| ownership       | int8 [S, N*N]          | final area owner (+1 side to move, -1 opponent, 0 dame)  |
| score           | float32 [S]            | final area score for the side to move (komi included)    |
| scored          | bool [S]               | the game was counted (ownership and score are exact)     |
| game            | int32 [S]              | game index in the shard                                  |
| game_*          | [G]                    | winner, length, resigned, playthrough, score per game    |
| values          | float16 [M]            | resign value before each move of playthrough games       |
| values_game     | int32 [M]              | game index of each entry of `values`                     |
"""
from __future__ import annotations

import os
import re
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rlgo.atomic import atomic_write, remove_stale_temps
from rlgo.go import symmetry
from rlgo.go.state import BLACK
from rlgo.train.data.reader import PositionEncoder, share
from rlgo.train.data.shards import ShardError
from rlgo.train.zero.selfplay import SelfPlayGame, draw_komi

SAMPLE_FIELDS = ("stones", "to_play", "ko", "last_move", "move_number", "policy", "outcome", "ownership", "score",
                 "scored", "komi")
ENCODED = ("stones", "to_play", "ko", "last_move", "move_number")
"""The SAMPLE_FIELDS that PositionEncoder reads besides komi."""
_NAME = re.compile(r"gen(\d{4})-(\d{6})-(\d{4})\.npz\Z")
_DAMAGE = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)
"""What numpy raises for a truncated or corrupted .npz."""


class DamagedShardError(ShardError):
    """A replay shard that cannot be read (truncated or corrupted)."""


class DamagedShardWarning(UserWarning):
    """A damaged replay shard was set aside and its games skipped."""


class Shard(NamedTuple):
    """A shard file listed by name."""

    generation: int
    seq: int
    games: int
    path: Path


def list_shards(folder: str | os.PathLike) -> list[Shard]:
    """The complete shards in `folder`, oldest first (temp files of writes under way are not listed; none
    while the folder does not exist)."""
    folder, found = Path(folder), []
    for path in folder.iterdir() if folder.is_dir() else ():
        match = _NAME.match(path.name)
        if match:
            found.append(Shard(int(match[1]), int(match[2]), int(match[3]), path))
    return sorted(found, key=lambda s: s.seq)


class ZeroBatch(NamedTuple):
    """Training targets for the side to move of each position (after a random symmetry)."""

    planes: np.ndarray
    """float32 [B, C, N, N]."""
    policy: np.ndarray
    """float32 [B, N*N+1] visit distribution."""
    value: np.ndarray
    """float32 [B] game outcome."""
    ownership: np.ndarray
    """float32 [B, N*N] final ownership."""
    score: np.ndarray
    """float32 [B] final score."""
    scored: np.ndarray
    """float32 [B] 1 where ownership and score are exact."""


def pack_games(games: list[SelfPlayGame]) -> dict[str, np.ndarray]:
    """The arrays of one shard holding `games`."""
    out = {k: np.concatenate([g.samples[k] for g in games]) for k in SAMPLE_FIELDS}
    out["game"] = np.concatenate([np.full(len(g.samples["to_play"]), i, np.int32) for i, g in enumerate(games)])
    out["game_winner"] = np.array([g.winner for g in games], np.int8)
    out["game_length"] = np.array([len(g.moves) for g in games], np.int16)
    out["game_resigned"] = np.array([g.resigned for g in games], bool)
    out["game_playthrough"] = np.array([g.playthrough for g in games], bool)
    out["game_score"] = np.array([g.score for g in games], np.float32)
    through = [(i, g) for i, g in enumerate(games) if g.playthrough]
    out["values"] = np.concatenate([g.values for _, g in through] or [np.zeros(0)]).astype(np.float16)
    out["values_game"] = np.concatenate([np.full(len(g.values), i, np.int32) for i, g in through]
                                        or [np.zeros(0, np.int32)])
    return out


class ReplayBuffer:
    """Shards of self-play games under `folder`; samples from the newest `window_games` games."""

    def __init__(self, folder: str | os.PathLike, size: int, window_games: int, feature_set: str = "agz",
                 komi: float = 7.5, rescore_share: float = 0.0, rescore_spread: float = 0.0):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(self.folder)  # torn writes of a killed run
        self.size, self.window_games = size, window_games
        self.komi = komi
        """Komi of the positions of shards written before `komi` was stored per position, and the centre of
        the komi that sample() draws for rescored positions."""
        self.rescore_share, self.rescore_spread = rescore_share, rescore_spread
        """sample() trains this share of the positions of counted games under a komi drawn from the half
        points within komi +- rescore_spread (see `rescore`)."""
        self.encoder = PositionEncoder(size, feature_set)
        self._cache: dict[Path, dict[str, np.ndarray]] = {}
        self._window: tuple[tuple[Path, ...], dict[str, np.ndarray]] | None = None

    # ----------------------------------------------------------------- writing
    def add(self, generation: int, games: list[SelfPlayGame]) -> Path:
        """Write `games` as a new shard of `generation` (atomically) and return its path."""
        seq = max((s.seq for s in self.shards()), default=-1) + 1
        path = self.folder / f"gen{generation:04d}-{seq:06d}-{len(games):04d}.npz"
        arrays = pack_games(games)
        atomic_write(path, lambda f: np.savez_compressed(f, size=np.int64(self.size), **arrays))
        return path

    def prune(self) -> int:
        """Delete the shards entirely older than the window; returns how many."""
        keep = set(s.path for s in self.window_shards())
        old = [s for s in self.shards() if s.path not in keep]
        for s in old:
            s.path.unlink(missing_ok=True)
            self._cache.pop(s.path, None)
        return len(old)

    # ----------------------------------------------------------------- listing
    def shards(self) -> list[Shard]:
        """Complete shards, oldest first."""
        return list_shards(self.folder)

    def games(self, generation: int | None = None) -> int:
        """Games stored (of one generation, or all)."""
        return sum(s.games for s in self.shards() if generation is None or s.generation == generation)

    def window_shards(self) -> list[Shard]:
        """The newest shards holding at least `window_games` games (fewer if the buffer is smaller)."""
        chosen, count = [], 0
        for s in reversed(self.shards()):
            if count >= self.window_games:
                break
            chosen.append(s)
            count += s.games
        return chosen[::-1]

    def window_games_held(self) -> int:
        """Games in the window (window_games once the buffer has filled)."""
        return sum(s.games for s in self.window_shards())

    def read(self, path: Path) -> dict[str, np.ndarray]:
        """All arrays of a shard (cached); raises DamagedShardError when unreadable, ShardError when of another size."""
        if path not in self._cache:
            try:
                with np.load(path, allow_pickle=False) as z:
                    data = {k: z[k] for k in z.files}
            except _DAMAGE as e:
                raise DamagedShardError(f"replay shard {str(path)!r} is damaged ({type(e).__name__}: {e})") from None
            size = int(data.get("size", -1))
            if size != self.size:
                raise ShardError(f"replay shard {str(path)!r} holds {size}x{size} positions, "
                                 f"expected {self.size}x{self.size}")
            data.setdefault("komi", np.full(len(data["to_play"]), self.komi, np.float32))
            self._cache[path] = data
        return self._cache[path]

    def readable(self, shards: list[Shard]) -> list[dict[str, np.ndarray]]:
        """The arrays of each of `shards` that reads; a damaged one is set aside (warning) and left out."""
        out = []
        for s in shards:
            try:
                out.append(self.read(s.path))
            except DamagedShardError as e:
                s.path.rename(s.path.with_name(s.path.name + ".damaged"))
                warnings.warn(f"{e}; its {s.games} games are skipped (file kept as {s.path.name}.damaged)",
                              DamagedShardWarning, stacklevel=2)
        return out

    def window(self) -> dict[str, np.ndarray]:
        """The positions of the window's games, concatenated (SAMPLE_FIELDS)."""
        shards = self.window_shards()
        paths = tuple(s.path for s in shards)
        if self._window is None or self._window[0] != paths:
            parts = self.readable(shards)
            if len(parts) < len(shards):  # damaged shards left the listing: older ones may fill the window
                return self.window()
            self._window = (paths, {k: np.concatenate([p[k] for p in parts]) for k in SAMPLE_FIELDS}
                            if parts else {})
            self._cache = {p: self._cache[p] for p in paths if p in self._cache}
        return self._window[1]

    def positions(self) -> int:
        """Positions in the window."""
        data = self.window()
        return len(data["to_play"]) if data else 0

    def playthrough(self, generations: range) -> list[tuple[np.ndarray, int]]:
        """(values float32 [moves], winner) of the playthrough games of `generations` (resign calibration)."""
        out = []
        for data in self.readable([s for s in self.shards() if s.generation in generations]):
            for i in np.flatnonzero(data["game_playthrough"]):
                out.append((data["values"][data["values_game"] == i].astype(np.float32),
                            int(data["game_winner"][i])))
        return out

    # ----------------------------------------------------------------- sampling
    def sample(self, batch_size: int, rng: np.random.Generator, symmetries: bool = True,
               part: tuple[int, int] = (0, 1)) -> ZeroBatch:
        """`batch_size` positions drawn uniformly (with replacement) from the window, each in a random symmetry;
        with `part` = (rank, world) only that rank's `share` of them (the draws are those of the whole batch)."""
        data = self.window()
        if not data or len(data["to_play"]) == 0:
            raise ShardError(f"replay buffer {str(self.folder)!r} has no positions to sample")
        index = rng.integers(len(data["to_play"]), size=batch_size)
        ks = rng.integers(symmetry.NUM_SYMMETRIES, size=batch_size) if symmetries else None
        mine = share(batch_size, *part)
        komi, outcome, score = (data[k][index].astype(np.float32) for k in ("komi", "outcome", "score"))
        if self.rescore_share > 0:
            drawn = draw_komi(rng, self.komi, self.rescore_spread, batch_size)
            rows = data["scored"][index] & (rng.random(batch_size) < self.rescore_share)
            komi, outcome, score = rescore(komi, outcome, score, data["to_play"][index], drawn, rows)
        index, komi, outcome, score = index[mine], komi[mine], outcome[mine], score[mine]
        n = self.size
        planes = self.encoder({**{k: data[k][index] for k in ENCODED}, "komi": komi}, np.arange(len(index)))
        policy = data["policy"][index].astype(np.float32)
        ownership = data["ownership"][index].astype(np.float32).reshape(-1, n, n)
        if ks is not None:
            ks = ks[mine]
            for k in range(1, symmetry.NUM_SYMMETRIES):
                sel = ks == k
                if sel.any():
                    planes[sel] = symmetry.apply_planes(planes[sel], k)
                    policy[sel] = symmetry.apply_policy(policy[sel], k, n)
                    ownership[sel] = symmetry.apply_planes(ownership[sel], k)
        return ZeroBatch(planes, policy, outcome, ownership.reshape(-1, n * n), score,
                         data["scored"][index].astype(np.float32))


def rescore(komi: np.ndarray, outcome: np.ndarray, score: np.ndarray, to_play: np.ndarray, drawn: np.ndarray,
            rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(komi, outcome, score) of positions of counted games with `rows` moved to komi `drawn` (all float32 [B]).

    The final count stays, so the margin for the side to move moves by the change of komi (up for White
    when komi rises, down for Black) and the outcome is its sign: a game counted under one komi is a
    game counted under any other, so the value and score heads see komi far from the played one. The
    moves, and with them the policy target, are those played under the old komi.
    """
    change = np.where(rows, drawn - komi, 0.0).astype(np.float32)
    score = score + np.where(to_play == BLACK, -change, change).astype(np.float32)
    outcome = np.where(rows, np.sign(score), outcome).astype(np.float32)
    return (komi + change).astype(np.float32), outcome, score


def false_positive_rate(games: list[tuple[np.ndarray, int]], threshold: float) -> tuple[float, int]:
    """(share of would-be resignations by the eventual winner, number of would-be resignations).

    A game would have ended at the first move whose side to move (Black at even moves) had a
    value below `threshold`; it is a false positive when that side went on to win.
    """
    resigned = wrong = 0
    for values, winner in games:
        below = np.flatnonzero(values < threshold)
        if below.size:
            resigned += 1
            wrong += (BLACK if below[0] % 2 == 0 else 3 - BLACK) == winner
    return (wrong / resigned if resigned else 0.0), resigned


RESIGN_GRID = tuple(float(t) for t in np.round(np.arange(-0.99, -0.795, 0.01), 2))
"""Thresholds the calibration chooses from (never above -0.8: early values are poorly calibrated)."""


def calibrate_resign(games: list[tuple[np.ndarray, int]], current: float, target: float,
                     min_resignations: int = 20) -> float:
    """The highest threshold of RESIGN_GRID whose false-positive rate on `games` is <= target.

    A threshold with fewer than `min_resignations` would-be resignations is not measurable and
    not chosen. With no acceptable candidate the threshold drops to -0.99 if the current one
    measurably errs too often, else it stays.
    """
    best = None
    for t in RESIGN_GRID:
        rate, count = false_positive_rate(games, t)
        if count >= min_resignations and rate <= target:
            best = t
    if best is not None:
        return best
    rate, count = false_positive_rate(games, current)
    return RESIGN_GRID[0] if count >= min_resignations and rate > target else current
