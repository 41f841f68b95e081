"""The AlphaGo value network: regression of game outcomes on positions (MSE on a tanh head).

Data come from rlgo.train.value_data (one position per game). The last `val_fraction` of the
games is held out; on them `evaluate_by_move` compares the net with a constant predictor and
with the mean result of R rollouts from each position (AlphaGo 2016, Fig. 2b).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from rich.console import Console

from rlgo.go import boards
from rlgo.go.state import zobrist
from rlgo.go.symmetry import NUM_SYMMETRIES, apply_planes
from rlgo.nn.checkpoint import load_checkpoint, save_checkpoint
from rlgo.nn.inference import predict_values
from rlgo.nn.model import GoNet, NetConfig, build_model
from rlgo.search.evaluator import RolloutPolicy, encode_planes
from rlgo.train.common import (MetricsLogger, OptimConfig, TrainError, existing_run_error, load_training_state, lr_at,
                               make_optimizer, optimizer_step, progress_bar, save_training_state, set_lr)
from rlgo.train.data.reader import share
from rlgo.train.distributed import Replica, replica
from rlgo.train.value_data import load_samples

LAST, BEST, STATE = "last.pt", "best.pt", "train_state.pt"


@dataclass(frozen=True)
class ValueConfig:
    """A value-network training run."""

    data: str
    """Folder of value shards (rlgo.train.value_data)."""
    out: str
    """Run folder: last.pt, best.pt (lowest validation MSE), train_state.pt, metrics.csv."""
    net: NetConfig = NetConfig(blocks=4, width=32)
    """The network (its board size and planes come from the data; one value head)."""
    epochs: int = 20
    """Passes over the training positions."""
    batch_size: int = 128
    """Positions per step."""
    optim: OptimConfig = OptimConfig(lr=0.01)
    """Optimizer and schedule (over all epochs)."""
    val_fraction: float = 0.1
    """Share of the games (the last ones) held out."""
    symmetries: bool = True
    """A random dihedral symmetry per training position."""
    device: str = "auto"
    """Torch device ('auto': cuda when available, else cpu)."""
    seed: int = 0
    """Seed of weights and data order."""
    threads: int = 0
    """torch CPU threads (0: torch's default)."""
    ddp: int = 1
    """Data-parallel training in this many local processes (torch.distributed DDP, rlgo.train.distributed)."""
    eval_rollouts: int = 0
    """After training, compare with the mean of this many rollouts per held-out position (0: skip)."""
    rollout: str | None = None
    """Trained rollout policy (.npz) of those rollouts (None: uniform random rollouts)."""

    def __post_init__(self):
        if not 0 < self.val_fraction < 1:
            raise TrainError(f"val_fraction must be in (0, 1), got {self.val_fraction!r}")


def encode_samples(samples: dict[str, np.ndarray], feature_set: str) -> np.ndarray:
    """float32 [G, C, N, N]: planes of every kept position."""
    size = boards.board_size(samples["m"])
    return encode_planes(feature_set, size, samples["b"], samples["m"], samples["history"])


def split(count: int, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices: the last ceil(val_fraction * count) samples are held out."""
    held = max(1, math.ceil(val_fraction * count))
    if held >= count:
        raise TrainError(f"{count} samples cannot be split into training and validation")
    return np.arange(count - held), np.arange(count - held, count)


def _augment(x: np.ndarray, ks: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for k in np.unique(ks):
        out[ks == k] = apply_planes(x[ks == k], int(k))
    return out


def train_value(cfg: ValueConfig, resume: bool = False, console: Console | None = None) -> dict[str, float]:
    """Train (or continue training) a value net on `cfg.data`, as one rank of a distributed job when in one
    (rlgo.train.distributed); returns the last metrics row (empty on ranks other than 0)."""
    with replica(cfg.device, cfg.threads) as rep:
        return _train_value(cfg, resume, console if rep.main else Console(quiet=True), rep)


def _train_value(cfg: ValueConfig, resume: bool, console: Console | None, rep: Replica) -> dict[str, float]:
    out = Path(cfg.out)
    device = rep.device
    samples = load_samples(cfg.data)
    planes, z = encode_samples(samples, cfg.net.feature_set), samples["z"]
    train, val = split(len(z), cfg.val_fraction)
    size = planes.shape[-1]
    net = cfg.net.for_data(size, ("value",))
    epoch, best = 0, math.inf
    if resume:
        model, meta = load_checkpoint(out / LAST, size, cfg.net.feature_set, map_location=device)
        optimizer = make_optimizer(model.parameters(), cfg.optim)
        state = load_training_state(out / STATE, optimizer)
        epoch, best = int(state["epoch"]), float(state["best"])
    elif (out / LAST).exists():
        raise existing_run_error(out)
    else:
        out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.seed)
        model = build_model(net).to(device)
        optimizer = make_optimizer(model.parameters(), cfg.optim)
    replicated = rep.wrap(model)
    metrics = MetricsLogger(out, "metrics", resume_step=epoch if resume else None) if rep.main else None
    steps = math.ceil(len(train) / cfg.batch_size)
    row: dict[str, float] = {}
    x_val, z_val = planes[val], z[val]
    const = float(z[train].mean())
    console = console or Console(stderr=True)
    if metrics is not None:
        console.print(metrics.tensorboard_note())
    with progress_bar(console) as bar:
        task = bar.add_task("train value", total=cfg.epochs, completed=epoch, info="")
        while epoch < cfg.epochs:
            rng = np.random.default_rng([cfg.seed, epoch])
            order = rng.permutation(train)
            model.train()
            start, losses = time.perf_counter(), []
            for s in range(steps):
                set_lr(optimizer, lr_at(cfg.optim, (epoch * steps + s) / (cfg.epochs * steps)))
                idx = order[s * cfg.batch_size:(s + 1) * cfg.batch_size]
                ks = rng.integers(NUM_SYMMETRIES, size=len(idx)) if cfg.symmetries else None
                mine = share(len(idx), *rep.part)
                idx = idx[mine]
                x = _augment(planes[idx], ks[mine]) if cfg.symmetries else planes[idx]
                pred = replicated(torch.from_numpy(x).to(device))
                loss = F.mse_loss(pred["value"], torch.from_numpy(z[idx]).to(device))
                optimizer.zero_grad(set_to_none=True)
                rep.scaled(loss, len(idx)).backward()
                optimizer_step(optimizer, model, cfg.optim)
                losses.append(loss.item())
            epoch += 1
            if not rep.main:
                continue
            val_mse = float(np.mean((predict_values(model, x_val, device) - z_val) ** 2))
            row = {"epoch": epoch, "train_mse": float(np.mean(losses)), "val_mse": val_mse,
                   "val_mse_constant": float(np.mean((const - z_val) ** 2)), "seconds": time.perf_counter() - start}
            metrics.log(epoch, **row)
            if val_mse < best:
                best = val_mse
                save_checkpoint(out / BEST, model, epoch, row)
            save_checkpoint(out / LAST, model, epoch, row)
            save_training_state(out / STATE, optimizer, epoch=epoch, best=best)
            bar.update(task, completed=epoch, info=f"train {row['train_mse']:.3f} val {val_mse:.3f} "
                                                   f"(constant {row['val_mse_constant']:.3f})")
    if metrics is not None:
        metrics.close()
    return row


@dataclass(frozen=True)
class MoveBucket:
    """MSE against the real outcomes of the held-out positions whose move number falls in [first, last]."""

    first: int
    last: int
    positions: int
    value_net: float
    constant: float
    rollouts: float


def evaluate_by_move(model: GoNet, samples: dict[str, np.ndarray], indices: np.ndarray, constant: float,
                     rollout: RolloutPolicy, komi: float, buckets: int = 6,
                     device: str | torch.device = "cpu") -> list[MoveBucket]:
    """Per move-number bucket: MSE of the value net, of `constant`, and of the rollout policy's mean
    rollout result (its `rollouts` rollouts per position) on samples[indices]."""
    b, m, u, z = samples["b"][indices], samples["m"][indices], samples["u"][indices], samples["z"][indices]
    size = boards.board_size(m)
    v = predict_values(model, encode_planes(model.cfg.feature_set, size, b, m, samples["history"][indices]), device)
    r = rollout.rollout_values(b, m, zobrist(size), komi)
    edges = np.unique(np.linspace(u.min(), u.max() + 1, buckets + 1).astype(int))
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (u >= lo) & (u < hi)
        if sel.any():
            mse = lambda pred: float(np.mean((pred - z[sel]) ** 2))  # noqa: E731
            rows.append(MoveBucket(int(lo), int(hi - 1), int(sel.sum()), mse(v[sel]), mse(constant), mse(r[sel])))
    return rows


def evaluate_run(cfg: ValueConfig, rules, buckets: int = 6) -> str:
    """Fig. 2b of a finished run: evaluate best.pt on the held-out games with cfg.eval_rollouts rollouts per
    position, write value_eval.csv, return a markdown table. Rollouts are uniform random unless cfg.rollout
    names a trained rollout policy."""
    from rlgo.search.rollout import UniformRolloutPolicy
    from rlgo.search.rollout_policy import PatternRolloutPolicy

    out = Path(cfg.out)
    samples = load_samples(cfg.data)
    model, _ = load_checkpoint(out / BEST)
    train, val = split(len(samples["z"]), cfg.val_fraction)
    rollouts, rollout_path, seed = cfg.eval_rollouts, cfg.rollout, cfg.seed
    rollout = (PatternRolloutPolicy.load(rollout_path, seed=seed, rollouts=rollouts) if rollout_path
               else UniformRolloutPolicy(seed, rollouts))
    rows = evaluate_by_move(model, samples, val, float(samples["z"][train].mean()), rollout, rules.komi, buckets)
    kind = "rollout policy" if rollout_path else "uniform"
    lines = [f"| moves | positions | value net | constant | {rollouts} {kind} rollouts |", "|---|---|---|---|---|"]
    lines += [f"| {r.first}-{r.last} | {r.positions} | {r.value_net:.3f} | {r.constant:.3f} | {r.rollouts:.3f} |"
              for r in rows]
    csv = ["first,last,positions,value_net,constant,rollouts"]
    csv += [f"{r.first},{r.last},{r.positions},{r.value_net:.6f},{r.constant:.6f},{r.rollouts:.6f}" for r in rows]
    (out / "value_eval.csv").write_text("\n".join(csv) + "\n")
    return "\n".join(lines)
