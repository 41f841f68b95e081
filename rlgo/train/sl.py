"""Supervised learning of a policy network from expert moves (AlphaGo's first stage).

Cross-entropy on the expert move (plus an optional small value loss on the game outcome),
random 8-fold symmetries, validation loss / top-1 / top-5 each epoch, checkpoints in the
rlgo format, exact resume (model, optimizer, step, position in the epoch).
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from rich.console import Console

from rlgo.nn.checkpoint import load_checkpoint, save_checkpoint
from rlgo.nn.model import GoNet, NetConfig, build_model
from rlgo.nn.transfer import init_from_checkpoint
from rlgo.train.common import (Cadence, MetricsLogger, OptimConfig, TrainError, existing_run_error,
                               load_training_state, lr_at, make_optimizer, optimizer_step, progress_bar,
                               save_training_state, set_lr)
from rlgo.train.data.reader import Batch, ShardReader
from rlgo.train.distributed import Replica, replica
from rlgo.train.pipeline import PipelineTrainer

LAST, BEST, STATE = "last.pt", "best.pt", "train_state.pt"


@dataclass(frozen=True)
class SLConfig:
    """A supervised-learning run."""

    data: str
    """Dataset folder (rlgo dataset build)."""
    out: str
    """Run folder: last.pt, best.pt, train_state.pt, metrics.csv, train.csv."""
    net: NetConfig = NetConfig(blocks=6, width=64)
    """The network (its board size, planes and heads come from the data)."""
    epochs: int = 10
    """Passes over the training split."""
    batch_size: int = 256
    """Positions per step."""
    optim: OptimConfig = OptimConfig()
    """Optimizer and schedule."""
    value_weight: float = 0.01
    """Weight of the outcome MSE (the value head overfits games, so keep it small)."""
    time_budget_s: float = 0.0
    """Stop after this many seconds of training (0: none); the schedule then runs on time."""
    symmetries: bool = True
    """Random dihedral symmetry per training position."""
    device: str = "auto"
    """Torch device."""
    seed: int = 0
    """Seed of weights init and data order."""
    log_every: int = 50
    """Steps between rows of train.csv."""
    checkpoint_seconds: float = 300.0
    """Seconds between mid-epoch checkpoints (also written at every epoch end)."""
    threads: int = 0
    """torch CPU threads (0: torch's default)."""
    init: str = ""
    """Checkpoint whose weights start the run, of any board size the network allows ("": random)."""
    ddp: int = 1
    """Data-parallel training in this many local processes (torch.distributed DDP, rlgo.train.distributed)."""
    pipeline: int = 1
    """Model-parallel training: the trunk cut into this many pipeline stages, one per local process
    (torch.distributed.pipelining GPipe, rlgo.train.pipeline); not with --ddp."""
    micro_batches: int = 4
    """With --pipeline: micro-batches per batch (the largest divisor of the batch's size up to this);
    a step is the mean of their losses, batch norm sees one micro-batch at a time."""

    def __post_init__(self):
        if self.ddp > 1 and self.pipeline > 1:
            raise TrainError(f"--pipeline {self.pipeline} and --ddp {self.ddp} cannot be combined: "
                             f"choose model or data parallelism")

    @property
    def processes(self) -> int:
        """Local processes the run takes (rlgo.train.distributed.launch)."""
        return max(self.ddp, self.pipeline)


def evaluate(model: GoNet, reader: ShardReader, device: torch.device, batch_size: int = 512) -> dict[str, float]:
    """Policy loss, top-1 and top-5 accuracy (and value MSE) over a whole split, no symmetries."""
    model.eval()
    totals = {"loss": 0.0, "top1": 0.0, "top5": 0.0, "value_mse": 0.0}
    count = 0
    with torch.inference_mode():
        for batch in reader.batches(batch_size, rng=None, symmetries=False):
            x, moves, z = _tensors(batch, device)
            out = model(x)
            logits = out["policy"]
            totals["loss"] += F.cross_entropy(logits, moves, reduction="sum").item()
            top5 = logits.topk(5, dim=1).indices
            totals["top1"] += (top5[:, 0] == moves).sum().item()
            totals["top5"] += (top5 == moves[:, None]).any(dim=1).sum().item()
            if "value" in out:
                totals["value_mse"] += F.mse_loss(out["value"], z, reduction="sum").item()
            count += len(moves)
    model.train()
    return {k: v / max(count, 1) for k, v in totals.items()}


def _tensors(batch: Batch, device: torch.device):
    return (torch.from_numpy(batch.planes).to(device), torch.from_numpy(batch.moves).to(device),
            torch.from_numpy(batch.outcomes).to(device))


def net_config(cfg: SLConfig, size: int) -> NetConfig:
    """The network of a run (policy + value heads, so a TorchEvaluator can use it)."""
    return cfg.net.for_data(size, ("policy", "value"))


class _Run:
    """The mutable state of one run (model, optimizer, counters, logs) in one replica; rank 0 writes."""

    def __init__(self, cfg: SLConfig, resume: bool, rep: Replica):
        self.cfg, self.replica = cfg, rep
        self.out = Path(cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.device = rep.device
        self.train = ShardReader(cfg.data, "train", cfg.net.feature_set)
        self.val = ShardReader(cfg.data, "val", cfg.net.feature_set)
        if self.train.positions == 0:
            raise TrainError(f"dataset {cfg.data!r} has no training positions")
        torch.manual_seed(cfg.seed)
        net = net_config(cfg, self.train.size)
        self.steps_per_epoch = math.ceil(self.train.positions / cfg.batch_size)
        self.total_steps = cfg.epochs * self.steps_per_epoch
        self.step, self.elapsed, self.best = 0, 0.0, -1.0
        if resume:
            self.model, meta = load_checkpoint(self.out / LAST, expect_board_size=self.train.size,
                                               expect_feature_set=cfg.net.feature_set)
            if meta.config != net:
                raise TrainError(f"cannot resume: {self.out / LAST} holds {meta.config.name}, "
                                 f"the options ask for {net.name}")
        elif (self.out / LAST).exists():
            raise existing_run_error(self.out)
        else:
            self.model = build_model(net)
            if cfg.init:
                init_from_checkpoint(self.model, cfg.init)
        self.pipe: PipelineTrainer | None = None
        if cfg.pipeline > 1:  # the model stays whole on the CPU; the trainer moves this rank's stage
            if rep.world != cfg.pipeline:
                raise TrainError(f"--pipeline {cfg.pipeline} needs {cfg.pipeline} processes, this job has {rep.world}")
            self.pipe = PipelineTrainer(self.model.train(), rep, cfg.optim, cfg.micro_batches,
                                        lambda out, y: self._losses(out, y[:, 0].long(), y[:, 1])[1])
            self.optimizer = self.pipe.optimizer
        else:
            self.model.to(self.device).train()
            self.optimizer = make_optimizer(self.model.parameters(), cfg.optim)
        if resume:
            state = load_training_state(self.out / STATE, self.optimizer)
            self.step, self.elapsed, self.best = state["step"], state["elapsed"], state["best"]
            if self.pipe:
                self.pipe.keep_own_state()
        self.net = self.model if self.pipe else rep.wrap(self.model)
        self.part = (0, 1) if self.pipe else rep.part  # every stage reads the whole batch
        if rep.main:
            self.metrics = MetricsLogger(self.out, "metrics", resume_step=self.step if resume else None)
            self.trainlog = MetricsLogger(self.out, "train", resume_step=self.step if resume else None,
                                          tensorboard=False)

    def progress(self) -> float:
        """Share of the run done, by steps or by the time budget, whichever is further."""
        by_time = self.elapsed / self.cfg.time_budget_s if self.cfg.time_budget_s else 0.0
        return max(self.step / self.total_steps, by_time)

    def _losses(self, out: dict[str, torch.Tensor], moves: torch.Tensor,
                z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(policy loss, training loss) of a batch."""
        loss = F.cross_entropy(out["policy"], moves)
        return loss, (loss + self.cfg.value_weight * F.mse_loss(out["value"], z) if self.cfg.value_weight else loss)

    def train_step(self, batch: Batch) -> tuple[float, float]:
        """One optimizer step; returns (policy loss, top-1 accuracy) of the batch."""
        set_lr(self.optimizer, lr_at(self.cfg.optim, self.progress()))
        x, moves, z = _tensors(batch, self.device)
        self.step += 1
        if self.pipe:  # the last rank holds the outputs: its loss and top-1 go to every rank
            target = torch.stack([moves.to(z.dtype), z], dim=1)
            out = self.pipe.step(x if self.replica.main else None, target if self.pipe.last else None, len(moves))
            stats = [0.0, 0.0] if out is None else [F.cross_entropy(out["policy"].detach(), moves).item(),
                                                    (out["policy"].argmax(1) == moves).float().mean().item()]
            loss, top1 = self.pipe.from_last(stats)
            return loss, top1
        out = self.net(x)
        loss, total = self._losses(out, moves, z)
        self.optimizer.zero_grad(set_to_none=True)
        self.replica.scaled(total, len(moves)).backward()
        optimizer_step(self.optimizer, self.model, self.cfg.optim)
        return loss.item(), (out["policy"].argmax(1) == moves).float().mean().item()

    def _whole(self) -> tuple[GoNet, dict] | None:
        """The network and optimizer state to save on rank 0 (None elsewhere); pipeline stages are
        gathered into one network, so every rank must call it then."""
        if self.pipe:
            return self.pipe.gather()
        return (self.model, self.optimizer.state_dict()) if self.replica.main else None

    def save_due(self, cadence: Cadence) -> bool:
        """Whether a mid-epoch save is due by rank 0's clock (all stages agree: saving gathers them)."""
        due = self.replica.main and cadence.due(self.step)
        return bool(self.replica.agree(float(due))) if self.pipe else due

    def save(self, metrics: dict[str, float] | None = None, whole: tuple[GoNet, dict] | None = None) -> None:
        """Write last.pt and train_state.pt (weights first: a crash between leaves the older state); rank 0 only."""
        whole = whole or self._whole()
        if not self.replica.main:
            return
        model, optimizer = whole
        save_checkpoint(self.out / LAST, model, self.step, metrics)
        save_training_state(self.out / STATE, optimizer, step=self.step, elapsed=self.elapsed,
                            best=self.best, config=_plain(dataclasses.asdict(self.cfg)))

    def end_epoch(self, epoch: int, train_loss: float, train_top1: float) -> dict[str, float]:
        """Validate, log a metrics row, save last.pt (and best.pt when top-1 improved); rank 0 only."""
        whole = self._whole()
        if not self.replica.main:
            return {}
        model = whole[0].to(self.device)
        result = evaluate(model, self.val, self.device) if self.val.positions else {}
        row = {"epoch": epoch, "elapsed_s": self.elapsed, "lr": self.optimizer.param_groups[0]["lr"],
               "train_loss": train_loss, "train_top1": train_top1,
               **{f"val_{k}": v for k, v in result.items()}}
        self.metrics.log(self.step, **row)
        top1 = result.get("top1", train_top1)
        if top1 > self.best:
            self.best = top1
            save_checkpoint(self.out / BEST, model, self.step, row)
        self.save(row, whole)
        return row


def _plain(d: dict) -> dict:
    return {k: (_plain(v) if isinstance(v, dict) else list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def train_sl(cfg: SLConfig, resume: bool = False, console: Console | None = None) -> dict[str, float]:
    """Run (or continue) supervised training, as one rank of a distributed job when in one
    (rlgo.train.distributed); returns the last metrics row (empty on ranks other than 0)."""
    with replica(cfg.device, cfg.threads) as rep:
        return _train_sl(cfg, resume, console if rep.main else Console(quiet=True), rep)


def _train_sl(cfg: SLConfig, resume: bool, console: Console | None, rep: Replica) -> dict[str, float]:
    run = _Run(cfg, resume, rep)
    console = console or Console(stderr=True)
    if rep.main:
        console.print(run.metrics.tensorboard_note())
    cadence = Cadence(seconds=cfg.checkpoint_seconds)
    row: dict[str, float] = {}
    start_epoch = run.step // run.steps_per_epoch
    with progress_bar(console) as bar:
        task = bar.add_task("train sl", total=run.total_steps, completed=run.step, info="")
        for epoch in range(start_epoch, cfg.epochs):
            losses, accs = [], []
            skip = run.step - epoch * run.steps_per_epoch
            t_prev = time.perf_counter()
            for batch in run.train.batches(cfg.batch_size, np.random.default_rng([cfg.seed, epoch]),
                                           cfg.symmetries, skip=skip, part=run.part):
                loss, acc = run.train_step(batch)
                now = time.perf_counter()
                run.elapsed += now - t_prev  # data reading included, validation not
                if cfg.time_budget_s:
                    run.elapsed = rep.agree(run.elapsed)  # the schedule and the stop must match on every rank
                t_prev = now
                losses.append(loss)
                accs.append(acc)
                if rep.main and run.step % cfg.log_every == 0:
                    run.trainlog.log(run.step, loss=float(np.mean(losses[-cfg.log_every:])),
                                     top1=float(np.mean(accs[-cfg.log_every:])), elapsed_s=run.elapsed,
                                     lr=run.optimizer.param_groups[0]["lr"])
                bar.update(task, completed=run.step, info=f"epoch {epoch + 1} loss {loss:.3f}")
                if run.save_due(cadence):
                    run.save()
                if cfg.time_budget_s and run.elapsed >= cfg.time_budget_s:
                    break
            row = run.end_epoch(epoch + 1, float(np.mean(losses)) if losses else 0.0,
                                float(np.mean(accs)) if accs else 0.0)
            bar.console.print(_summary(row))
            if cfg.time_budget_s and run.elapsed >= cfg.time_budget_s:
                break
    if rep.main:
        run.metrics.close()
    return row


def _summary(row: dict[str, float]) -> str:
    keys = ("epoch", "elapsed_s", "train_loss", "train_top1", "val_loss", "val_top1", "val_top5")
    return "  ".join(f"{k} {row[k]:.4g}" if isinstance(row[k], float) else f"{k} {row[k]}" for k in keys if k in row)
