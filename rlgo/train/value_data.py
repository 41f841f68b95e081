"""AlphaGo's value-network data: one position per self-play game, far apart so positions are not correlated.

For each game draw U uniformly in [1, random_move_max]; the SL policy plays moves 1..U-1 (passing only
when nothing else is legal), move U is a uniformly random legal move (pass only when
forced), and the RL policy plays both colours from there to the end. The game keeps one
sample: the position after move U and the final result from the point of view of the side
to move there (+1 / -1 / 0), scored by area on the final board (rlgo.train.batch_play). A
game that ends before move U (both sides forced to pass) keeps its final position.

Samples are stored as raw board arrays, so the value net may use any feature set, in
shards `value-<k>.npz` of `shard_size` games, each written atomically; a rerun only plays
the shards that are missing.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from rich.console import Console

from rlgo.atomic import atomic_write
from rlgo.go import boards
from rlgo.go.rules import Rules
from rlgo.go.state import EMPTY
from rlgo.nn.inference import PolicyNet, load_policy, sample_moves
from rlgo.train.batch_play import GameBatch, PlayConfig, play_out, uniform_moves
from rlgo.train.common import progress_bar, select_device

SHARD_KEYS = ("b", "m", "history", "z", "u", "final_colors", "final_score")
"""Arrays of a shard (G games): b int32 [G, 7, A], m int64 [G, NMETA], history int8 [G, 8, A] (the
kept positions), z float32 [G] (result for the side to move there), u int64 [G] (moves played up
to that position), final_colors int8 [G, A] (kernel colours of the final board), final_score
float64 [G] (Black - White - komi by area)."""


@dataclass(frozen=True)
class ValueDataConfig:
    """How value-network samples are generated."""

    games: int
    """Games in all (= samples)."""
    sl: str = ""
    """SL policy checkpoint: plays moves 1..U-1 (generate_data)."""
    rl: str = ""
    """RL policy checkpoint: plays the moves after U (generate_data)."""
    rules: Rules = field(default_factory=Rules)
    """Ko rule and komi."""
    random_move_max: int = 0
    """U is drawn from [1, random_move_max] (0: N * N)."""
    move_cap: int = 0
    """Moves after which a game is scored (0: 2 * N * N; at least random_move_max)."""
    prune_eye_fills: bool = True
    """Keep moves that fill one's own single-point eye out of play."""
    shard_size: int = 256
    """Games per shard, played at once."""
    temperature: float = 1.0
    """Sampling temperature of both policies."""
    seed: int = 0
    """Shard k draws from np.random.default_rng([seed, k])."""


def shard_path(folder: str | os.PathLike, k: int) -> Path:
    """File of shard k."""
    return Path(folder) / f"value-{k:05d}.npz"


def play_shard(sl: PolicyNet, rl: PolicyNet, games: int, cfg: ValueDataConfig, rng: np.random.Generator) -> dict:
    """Play `games` games by the recipe; returns the shard arrays (SHARD_KEYS)."""
    size = sl.board_size
    random_move_max = cfg.random_move_max or size * size
    play = PlayConfig(size, cfg.rules, max(cfg.move_cap or 2 * size * size, random_move_max), cfg.prune_eye_fills)
    u = rng.integers(1, random_move_max + 1, size=games)
    batch = GameBatch(games, play)
    kept = {"b": batch.b.copy(), "m": batch.m.copy(), "history": batch.hist.copy()}
    taken = np.zeros(games, bool)

    def take(games_now: np.ndarray) -> None:
        for name, array in (("b", batch.b), ("m", batch.m), ("history", batch.hist)):
            kept[name][games_now] = array[games_now]
        taken[games_now] = True

    def choose(batch: GameBatch, games_now: np.ndarray) -> np.ndarray:
        take(games_now[(batch.moves[games_now] == u[games_now]) & ~taken[games_now]])
        out = np.empty(games_now.size, np.int64)
        phase = np.sign(batch.moves[games_now] - (u[games_now] - 1))  # -1: SL, 0: random move, +1: RL
        for which, policy in ((-1, sl), (1, rl)):
            sel = np.flatnonzero(phase == which)
            if sel.size:
                g = games_now[sel]
                legal = batch.legal(g)
                if which < 0:  # the SL phase passes only when forced, so it lasts U - 1 moves
                    legal[:, -1] = ~legal[:, :-1].any(axis=1)
                out[sel] = sample_moves(policy.log_probs(batch.planes(g, policy.feature_set), legal), legal,
                                        rng, cfg.temperature)
        sel = np.flatnonzero(phase == 0)
        if sel.size:
            out[sel] = uniform_moves(batch.legal(games_now[sel]), rng)
        return out

    play_out(batch, choose)
    take(np.flatnonzero(~taken))  # games that ended at move U or before it
    winners = batch.winners()
    to_play = boards.to_play(kept["m"])
    z = np.where(winners == to_play, 1.0, np.where(winners == EMPTY, 0.0, -1.0)).astype(np.float32)
    return {**kept, "z": z, "u": np.minimum(u, batch.moves), "final_colors": boards.colors(batch.b),
            "final_score": batch.scores()}


def save_shard(path: str | os.PathLike, arrays: dict) -> Path:
    """Write a shard atomically (npz, no pickle)."""
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def generate(sl: PolicyNet, rl: PolicyNet, cfg: ValueDataConfig, folder: str | os.PathLike,
             on_shard: Callable[[int, int], None] | None = None) -> int:
    """Write the missing shards of `cfg.games` samples into `folder`; returns the games played now.

    `on_shard(k, games)` is called after each shard is written.
    """
    if sl.board_size != rl.board_size:
        raise ValueError(f"SL policy is {sl.board_size}x{sl.board_size}, RL policy {rl.board_size}x{rl.board_size}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    played = 0
    for k, start in enumerate(range(0, cfg.games, cfg.shard_size)):
        path = shard_path(folder, k)
        count = min(cfg.shard_size, cfg.games - start)
        if path.exists():
            with np.load(path, allow_pickle=False) as z:
                if len(z["z"]) != count:
                    raise ValueError(f"shard {str(path)!r} holds {len(z['z'])} games, this run expects {count}: "
                                     f"it was made with other --games / --shard-size; use a new folder")
            continue
        save_shard(path, play_shard(sl, rl, count, cfg, np.random.default_rng([cfg.seed, k])))
        played += count
        if on_shard is not None:
            on_shard(k, count)
    return played


def load_samples(folder: str | os.PathLike) -> dict[str, np.ndarray]:
    """All shards of a folder concatenated in shard order (SHARD_KEYS); raises FileNotFoundError if none."""
    paths = sorted(Path(folder).glob("value-*.npz"))
    if not paths:
        raise FileNotFoundError(f"no value shards (value-*.npz) in {str(folder)!r}")
    parts = []
    for p in paths:
        with np.load(p, allow_pickle=False) as z:
            parts.append({k: z[k] for k in SHARD_KEYS})
    return {k: np.concatenate([p[k] for p in parts]) for k in SHARD_KEYS}


def generate_data(cfg: ValueDataConfig, out: str | os.PathLike, device: str = "cpu",
                  console: Console | None = None) -> Path:
    """Load the policies cfg.sl and cfg.rl (checked before any game), fill `out`/data with cfg.games samples;
    returns that folder."""
    dev = select_device(device)
    sl_policy = load_policy(cfg.sl, dev)
    rl_policy = load_policy(cfg.rl, dev, sl_policy.board_size)
    games, shard_size = cfg.games, cfg.shard_size
    folder = Path(out) / "data"
    done = sum(min(shard_size, games - s) for k, s in enumerate(range(0, games, shard_size))
               if shard_path(folder, k).exists())
    with progress_bar(console or Console(stderr=True)) as bar:
        task = bar.add_task("value data", total=games, completed=done, info="")
        generate(sl_policy, rl_policy, cfg, folder, lambda k, count: bar.update(task, advance=count, info=f"shard {k}"))
    return folder
