"""Training utilities shared by every loop: optimizer + LR schedule, metrics log, checkpoint
cadence, resumable training state, progress display and device choice."""
from __future__ import annotations

import csv
import io
import math
import os
import time
from dataclasses import dataclass
from typing import Literal
from pathlib import Path

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from rlgo.atomic import atomic_write, write_text_atomic
from rlgo.nn.checkpoint import CheckpointError, load_archive
from rlgo.nn.evaluator import resolve_device
from rlgo.nn.sequence import clip_gradients

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "step", "constant")


class TrainError(ValueError):
    """Invalid training options, or a run folder that cannot be resumed."""


@dataclass(frozen=True)
class OptimConfig:
    """Optimizer and learning-rate schedule."""

    optimizer: Literal[OPTIMIZERS] = "sgd"
    """'sgd' (Nesterov momentum) or 'adamw'."""
    lr: float = 0.05
    """Peak learning rate."""
    momentum: float = 0.9
    """SGD momentum (AdamW beta1)."""
    weight_decay: float = 1e-4
    """L2 / decoupled weight decay."""
    schedule: Literal[SCHEDULES] = "cosine"
    """'cosine' to lr * min_lr_ratio, 'step' (x step_gamma at each of step_at), or 'constant'."""
    warmup: float = 0.02
    """Share of training with a linear warm-up from 0."""
    min_lr_ratio: float = 0.01
    """Final learning rate of the cosine schedule, as a share of lr."""
    step_at: tuple[float, ...] = (0.5, 0.75)
    """Training progress points where the step schedule multiplies the rate by step_gamma."""
    step_gamma: float = 0.1
    """Factor of each step."""
    grad_clip: float = 0.0
    """Scale the gradients down to this global L2 norm before each step (0: no clipping)."""

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise TrainError(f"unknown optimizer {self.optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise TrainError(f"unknown schedule {self.schedule!r}; valid: {', '.join(SCHEDULES)}")
        if not self.lr > 0:
            raise TrainError(f"lr must be > 0, got {self.lr!r}")
        if not 0 <= self.warmup < 1:
            raise TrainError(f"warmup must be in [0, 1), got {self.warmup!r}")
        if not self.grad_clip >= 0:
            raise TrainError(f"grad_clip must be >= 0 (0: no clipping), got {self.grad_clip!r}")


def existing_run_error(out: str | os.PathLike) -> TrainError:
    """The error for starting a new run in a folder that already holds one."""
    return TrainError(f"{str(out)!r} already holds a run; continue it with --resume {out} or choose another --out")


def make_optimizer(params, cfg: OptimConfig) -> torch.optim.Optimizer:
    """The optimizer of `cfg` over `params` (the rate is then set by `set_lr`)."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0,
                               weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.lr, betas=(cfg.momentum, 0.999), weight_decay=cfg.weight_decay)


def optimizer_step(optimizer: torch.optim.Optimizer, model: torch.nn.Module, cfg: OptimConfig) -> float:
    """Clip the gradients to cfg.grad_clip (rlgo.nn.sequence.clip_gradients) and step; returns their
    global L2 norm before clipping (logged as grad_norm, where exploding gradients show first)."""
    norm = clip_gradients(model.parameters(), cfg.grad_clip or None)
    optimizer.step()
    return norm


def lr_at(cfg: OptimConfig, progress: float) -> float:
    """Learning rate at a training progress in [0, 1] (values above 1 count as 1)."""
    p = min(max(progress, 0.0), 1.0)
    if p < cfg.warmup:
        return cfg.lr * p / cfg.warmup
    if cfg.schedule == "constant":
        return cfg.lr
    if cfg.schedule == "step":
        return cfg.lr * cfg.step_gamma ** sum(p >= s for s in cfg.step_at)
    q = (p - cfg.warmup) / (1.0 - cfg.warmup)
    low = cfg.lr * cfg.min_lr_ratio
    return low + 0.5 * (cfg.lr - low) * (1.0 + math.cos(math.pi * q))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the rate of every parameter group."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def select_device(name: str) -> torch.device:
    """'auto' (cuda if present), 'cpu', 'cuda', 'cuda:1', ...; raises TrainError if unavailable."""
    try:
        device = resolve_device(name)
    except RuntimeError as e:
        raise TrainError(f"invalid device {name!r}: {e}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainError(f"device {name!r} requested but CUDA is not available")
    return device


def atomic_torch_save(obj, path: str | os.PathLike) -> None:
    """torch.save to a temp file in the same folder, then rename (rlgo.atomic)."""
    atomic_write(path, lambda f: torch.save(obj, f))


def save_training_state(path: str | os.PathLike, optimizer: torch.optim.Optimizer | dict, **extra) -> None:
    """Write optimizer state (an optimizer or its state dict) plus builtins (step, epoch, elapsed, ...)
    atomically; weights go in the checkpoint."""
    state = optimizer if isinstance(optimizer, dict) else optimizer.state_dict()
    atomic_torch_save({"optimizer": state, **extra}, path)


def load_training_state(path: str | os.PathLike, optimizer: torch.optim.Optimizer) -> dict:
    """Restore the optimizer from `save_training_state` (safe load) and return the extra values."""
    try:
        state = load_archive(path, "training state")
        optimizer.load_state_dict(state.pop("optimizer"))
    except CheckpointError as e:
        raise TrainError(f"cannot resume: {e}") from None
    except (RuntimeError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise TrainError(f"cannot resume from {str(path)!r}: {e}") from None
    return state


class Cadence:
    """Says when a periodic action (checkpoint, evaluation) is due: every `steps` or `seconds`."""

    def __init__(self, steps: int = 0, seconds: float = 0.0, clock=time.monotonic):
        self.steps, self.seconds, self.clock = steps, seconds, clock
        self.last_step, self.last_time = 0, clock()

    def due(self, step: int) -> bool:
        """True (and the timer restarts) when `steps` steps or `seconds` seconds have passed."""
        now = self.clock()
        if (self.steps and step - self.last_step >= self.steps) or (
                self.seconds and now - self.last_time >= self.seconds):
            self.last_step, self.last_time = step, now
            return True
        return False


class MetricsLogger:
    """Rows of metrics to `<run>/<name>.csv` (+ TensorBoard when installed); resumable.

    Every row has a 'step'. On resume, rows after `resume_step` (logged after the checkpoint
    being resumed) are dropped so the log matches the restored run.
    """

    def __init__(self, run_dir: str | os.PathLike, name: str = "metrics", resume_step: int | None = None,
                 tensorboard: bool = True):
        self.path = Path(run_dir) / f"{name}.csv"
        self.fields: list[str] = []
        rows = self.read(self.path) if resume_step is not None and self.path.exists() else []
        rows = [r for r in rows if int(float(r["step"])) <= resume_step] if rows else []
        if rows:
            self.fields = list(rows[0])
        self._rewrite(rows)
        self.writer = _tensorboard(Path(run_dir) / "tb") if tensorboard else None

    @staticmethod
    def read(path: str | os.PathLike) -> list[dict[str, str]]:
        """The rows of a metrics CSV."""
        with open(path, newline="") as f:
            return list(csv.DictReader(f))

    def _rewrite(self, rows: list[dict]) -> None:
        text = io.StringIO(newline="")
        if self.fields:
            w = csv.DictWriter(text, self.fields)
            w.writeheader()
            w.writerows(rows)
        write_text_atomic(self.path, text.getvalue())

    def log(self, step: int, **values: float) -> None:
        """Append a row {step, **values}; a new column rewrites the file with the wider header."""
        row = {"step": step, **{k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in values.items()}}
        new = [k for k in row if k not in self.fields]
        if new:
            old = self.read(self.path) if self.fields else []
            self.fields += new
            self._rewrite(old)
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, self.fields).writerow(row)
        if self.writer is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)):
                    self.writer.add_scalar(f"{self.path.stem}/{k}", v, step)

    def tensorboard_note(self) -> str:
        """One line saying whether TensorBoard logging is on, and how to look at it."""
        if self.writer is None:
            return "TensorBoard: off (pip install tensorboard to log there too)"
        return f"TensorBoard: on, tensorboard --logdir {self.path.parent / 'tb'}"

    def close(self) -> None:
        """Flush TensorBoard (the CSV is written row by row)."""
        if self.writer is not None:
            self.writer.close()


def _tensorboard(folder: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(str(folder))


def progress_bar(console: Console | None = None, transient: bool = False) -> Progress:
    """The standard rich progress display: description, bar, count, elapsed, remaining, extra text."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                    console=console, transient=transient)
