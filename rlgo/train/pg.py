"""Policy-gradient self-play against a pool of past policies (AlphaGo's second stage).

Each iteration the learner plays `games_per_iter` games against one opponent drawn uniformly
from the snapshot pool (rlgo.train.pool; it starts with the SL policy and gets the learner
every `snapshot_every` iterations), the learner Black in even games. Moves are sampled from
the policy over the legal moves (rlgo.train.batch_play: the rules' ko rule including superko,
own-eye fills left out by default). REINFORCE then takes one step on
    loss = -(1 / games) * sum over the learner's moves t of (z_t - b_t) * log pi(a_t | s_t)
with z = +1 / -1 / 0 the learner's final result (area score) and b the baseline: none (0),
mean (the learner's mean result in this iteration) or value (a value network's v(s_t)).
The policy is evaluated in eval mode while learning too (batch-norm statistics stay the SL
ones), so the gradient is that of the very policy that played. Iteration k draws from
np.random.default_rng([seed, k]), so a resumed run replays the same games.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal
from pathlib import Path

import numpy as np
import torch
from rich.console import Console

from rlgo.go.rules import Rules
from rlgo.go.state import BLACK, EMPTY, WHITE
from rlgo.nn.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from rlgo.nn.inference import PolicyNet, load_policy, predict_values
from rlgo.nn.model import GoNet
from rlgo.train.batch_play import GameBatch, PlayConfig, match, play_out, policy_chooser
from rlgo.train.common import (MetricsLogger, OptimConfig, TrainError, existing_run_error, load_training_state,
                               make_optimizer, progress_bar, save_training_state, select_device)
from rlgo.train.pool import SnapshotPool

BASELINES = ("none", "mean", "value")
LAST, STATE, POOL = "last.pt", "train_state.pt", "pool"
PG_OPTIM = OptimConfig(optimizer="sgd", lr=0.001, momentum=0.0, weight_decay=0.0, schedule="constant", warmup=0.0)
"""AlphaGo's choice: plain SGD at a constant rate, no weight decay."""


@dataclass(frozen=True)
class PGConfig:
    """A policy-gradient run."""

    sl: str
    """Starting policy: an rlgo checkpoint with a policy head (board size and features come from it)."""
    out: str
    """Run folder: last.pt, train_state.pt, pool/, metrics.csv."""
    iterations: int = 1000
    """Iterations (one minibatch of games and one update each)."""
    games_per_iter: int = 128
    """Games per iteration, all played at once."""
    snapshot_every: int = 500
    """Add the learner to the pool every this many iterations."""
    optim: OptimConfig = PG_OPTIM
    """Optimizer; only the constant part of the schedule is used (rate fixed at optim.lr)."""
    baseline: Literal[BASELINES] = "none"
    """'none', 'mean' (minibatch mean result) or 'value' (needs `value`)."""
    value: str | None = None
    """Value-network checkpoint for the 'value' baseline (same board size and feature set)."""
    pool: str | None = None
    """Another run's pool folder whose snapshots join this run's pool at the start."""
    rules: Rules = field(default_factory=Rules)
    """Ko rule and komi of the games (area scoring)."""
    move_cap: int = 0
    """Moves after which a game is scored (0: 2 * N * N)."""
    prune_eye_fills: bool = True
    """Keep moves that fill one's own single-point eye out of play."""
    temperature: float = 1.0
    """Sampling temperature of both players."""
    eval_every: int = 0
    """Iterations between matches of the learner against the SL policy (0: none)."""
    eval_games: int = 128
    """Games of each such match."""
    checkpoint_every: int = 10
    """Iterations between checkpoints (also at the end)."""
    device: str = "auto"
    """Torch device ('auto': cuda when available, else cpu)."""
    seed: int = 0
    """Seed of opponent draws and move sampling."""
    threads: int = 0
    """torch CPU threads (0: torch's default)."""

    def __post_init__(self):
        if self.baseline not in BASELINES:
            raise TrainError(f"unknown baseline {self.baseline!r}; valid: {', '.join(BASELINES)}")
        if self.baseline == "value" and not self.value:
            raise TrainError("baseline 'value' needs a value network checkpoint (value=PATH)")
        for name in ("iterations", "games_per_iter", "snapshot_every", "checkpoint_every", "eval_games"):
            if getattr(self, name) < 1:
                raise TrainError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.eval_every < 0 or self.move_cap < 0:
            raise TrainError(f"eval_every and move_cap must be >= 0, got {self.eval_every!r} and {self.move_cap!r}")
        if self.temperature <= 0:
            raise TrainError(f"temperature must be > 0, got {self.temperature!r}")


@dataclass
class Episodes:
    """The learner's side of one iteration's games."""

    planes: np.ndarray
    """float32 [T, C, N, N]: positions where the learner moved."""
    legal: np.ndarray
    """bool [T, N*N+1]: legal moves there."""
    moves: np.ndarray
    """int64 [T]: the moves it sampled."""
    game: np.ndarray
    """int64 [T]: game index of each move."""
    z: np.ndarray
    """float32 [G]: the learner's result per game (+1 win, -1 loss, 0 jigo)."""
    lengths: np.ndarray
    """int64 [G]: moves per game."""


def play_episodes(learner: PolicyNet, opponent: PolicyNet, games: int, config: PlayConfig,
                  rng: np.random.Generator, temperature: float = 1.0) -> Episodes:
    """Play `games` games learner vs opponent (learner Black in even games), recording the learner's moves."""
    black = np.arange(games) % 2
    parts: list[tuple] = []

    def record(p, g, planes, legal, moves):
        if p == 0:
            parts.append((planes, legal, moves.copy(), g.copy()))

    batch = GameBatch(games, config)
    play_out(batch, policy_chooser([learner, opponent], black, rng, temperature, record))
    learner_color = np.where(black == 0, BLACK, WHITE)
    winners = batch.winners()
    z = np.where(winners == learner_color, 1.0, np.where(winners == EMPTY, 0.0, -1.0)).astype(np.float32)
    cat = [np.concatenate(x) for x in zip(*parts)]
    return Episodes(*cat, z=z, lengths=batch.moves.copy())


def reinforce_step(model: GoNet, optimizer: torch.optim.Optimizer, ep: Episodes, advantages: np.ndarray,
                   device: torch.device, chunk: int = 1024) -> float:
    """One REINFORCE update from the learner's moves with advantages float32 [T]; returns the loss."""
    model.eval()
    optimizer.zero_grad(set_to_none=True)
    total = 0.0
    games = len(ep.z)
    for s in range(0, len(ep.moves), chunk):
        x = torch.from_numpy(ep.planes[s:s + chunk]).to(device)
        legal = torch.from_numpy(ep.legal[s:s + chunk]).to(device)
        moves = torch.from_numpy(ep.moves[s:s + chunk]).to(device)
        adv = torch.from_numpy(advantages[s:s + chunk]).to(device)
        logp = torch.log_softmax(model(x, legal)["policy"].float(), dim=-1)
        loss = -(adv * logp.gather(1, moves[:, None]).squeeze(1)).sum() / games
        loss.backward()
        total += loss.item()
    optimizer.step()
    return total


def advantages(ep: Episodes, baseline: str, value_model: GoNet | None, device: torch.device) -> np.ndarray:
    """float32 [T]: z_t - b_t for every learner move."""
    z = ep.z[ep.game]
    if baseline == "mean":
        return (z - ep.z.mean()).astype(np.float32)
    if baseline == "value":
        return (z - predict_values(value_model, ep.planes, device)).astype(np.float32)
    return z.astype(np.float32)


class _Run:
    """Everything a run holds; built (and every input checked) before any game is played."""

    def __init__(self, cfg: PGConfig, resume: bool):
        self.cfg = cfg
        self.out = Path(cfg.out)
        self.device = select_device(cfg.device)
        self.sl = load_policy(cfg.sl, self.device)
        self.size, self.features = self.sl.board_size, self.sl.feature_set
        self.value_model = None
        if cfg.value:
            self.value_model, _ = load_checkpoint(cfg.value, self.size, self.features, map_location=self.device)
            if "value" not in self.value_model.cfg.heads:
                raise CheckpointError(f"value checkpoint {cfg.value!r} has no value head")
        self.play = PlayConfig(self.size, cfg.rules, cfg.move_cap, cfg.prune_eye_fills)
        self.pool = SnapshotPool(self.out / POOL, self.size, self.features)
        self.iteration, self.elapsed = 0, 0.0
        if resume:
            self.model, meta = load_checkpoint(self.out / LAST, self.size, self.features, map_location=self.device)
            self.optimizer = make_optimizer(self.model.parameters(), cfg.optim)
            state = load_training_state(self.out / STATE, self.optimizer)
            self.iteration, self.elapsed = meta.step, float(state["elapsed"])
            self.pool.require()
            self.pool.truncate(self.iteration)
        else:
            if (self.out / LAST).exists() or len(self.pool):
                raise existing_run_error(self.out)
            if cfg.pool:
                seeds = SnapshotPool(cfg.pool, self.size, self.features)
                seeds.require()
                for path in seeds.paths():
                    seeds.load(path)  # a foreign snapshot fails here, before the run folder is made
            self.out.mkdir(parents=True, exist_ok=True)
            self.model, _ = load_checkpoint(cfg.sl, map_location=self.device)
            self.optimizer = make_optimizer(self.model.parameters(), cfg.optim)
            self.pool.add(self.model, 0)
            if cfg.pool:
                self.pool.copy_from(cfg.pool)
        for path in self.pool.paths():
            self.pool.load(path, self.device)  # every opponent fits (board size, features, policy head)
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.optim.lr
        self.learner = PolicyNet(self.model, self.device)
        self.metrics = MetricsLogger(self.out, "metrics", resume_step=self.iteration if resume else None)

    def iterate(self) -> dict[str, float]:
        """Play one iteration's games, update the learner, snapshot / checkpoint when due; returns the row."""
        cfg = self.cfg
        self.iteration += 1
        rng = np.random.default_rng([cfg.seed, self.iteration])
        start = time.perf_counter()
        opponent_path = self.pool.sample(rng)
        opponent = self.pool.load(opponent_path, self.device)
        ep = play_episodes(self.learner, opponent, cfg.games_per_iter, self.play, rng, cfg.temperature)
        played = time.perf_counter()
        loss = reinforce_step(self.model, self.optimizer, ep, advantages(ep, cfg.baseline, self.value_model,
                                                                         self.device), self.device)
        now = time.perf_counter()
        self.elapsed += now - start
        row = {"opponent": opponent_path.stem, "win_rate": float((ep.z > 0).mean() + 0.5 * (ep.z == 0).mean()),
               "moves_per_game": float(ep.lengths.mean()), "loss": loss, "games_per_s": len(ep.z) / (played - start),
               "learn_s": now - played, "elapsed_s": self.elapsed}
        if cfg.eval_every and self.iteration % cfg.eval_every == 0:
            wins, jigo, _ = match(self.learner, self.sl, cfg.eval_games, self.play,
                                  np.random.default_rng([cfg.seed, self.iteration, 1]), cfg.temperature)
            row["win_rate_vs_sl"] = (wins + 0.5 * jigo) / cfg.eval_games
        if self.iteration % cfg.snapshot_every == 0:
            self.pool.add(self.model, self.iteration)
        self.metrics.log(self.iteration, **row)
        if self.iteration % cfg.checkpoint_every == 0 or self.iteration == cfg.iterations:
            self.save(row)
        return row

    def save(self, row: dict) -> None:
        """last.pt first, then train_state.pt; a resume trusts the step stored in last.pt."""
        metrics = {k: v for k, v in row.items() if isinstance(v, float)}
        save_checkpoint(self.out / LAST, self.model, self.iteration, metrics)
        save_training_state(self.out / STATE, self.optimizer, iteration=self.iteration, elapsed=self.elapsed,
                            config=repr(self.cfg))


def train_pg(cfg: PGConfig, resume: bool = False, console: Console | None = None) -> dict[str, float]:
    """Run (or continue) policy-gradient training; returns the last metrics row."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    run = _Run(cfg, resume)
    console = console or Console(stderr=True)
    console.print(run.metrics.tensorboard_note())
    row: dict = {}
    try:
        with progress_bar(console) as bar:
            task = bar.add_task("train pg", total=cfg.iterations, completed=run.iteration, info="")
            while run.iteration < cfg.iterations:
                row = run.iterate()
                extra = f" vs SL {row['win_rate_vs_sl']:.2f}" if "win_rate_vs_sl" in row else ""
                bar.update(task, completed=run.iteration,
                           info=f"win {row['win_rate']:.2f} vs {row['opponent']}{extra}, pool {len(run.pool)}")
    finally:
        run.metrics.close()
    return row
