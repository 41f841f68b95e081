"""Compression jobs on data: int8 calibration, fine-tuning of pruned nets, distillation (rlgo.nn.compress).

Data is a dataset folder (rlgo dataset build: expert moves as one-hot targets) or a zero run
folder (its replay buffer: root visit distributions as soft targets). Every job checks its
inputs (board size, feature set, amounts) before it reads any data, and writes its result as
one rlgo checkpoint whose `compression` header records the job.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from rlgo.nn.backend import OnnxNet
from rlgo.nn.checkpoint import load_checkpoint, save_checkpoint
from rlgo.nn.compress.distill import DistillError, DistillLoss
from rlgo.nn.compress.prune import (STRUCTURED, apply_masks, channel_prune, check_amount,
                                    check_prunable, magnitude_masks, sparsity)
from rlgo.nn.compress.quantize import quantize_int8
from rlgo.nn.model import GoNet, NetConfig, build_model, count_flops, count_params
from rlgo.train.common import OptimConfig, lr_at, make_optimizer, optimizer_step, progress_bar, set_lr
from rlgo.train.data.reader import ShardReader
from rlgo.train.data.shards import MANIFEST, Manifest
from rlgo.train.sl import evaluate
from rlgo.train.zero.buffer import ReplayBuffer

ZERO_BUFFER = "buffer"
"""Replay-buffer folder inside a zero run."""
STUDENT_SPEC = re.compile(r"^(?P<backbone>[a-z]+)-b(?P<blocks>\d+)c(?P<width>\d+)$")


@dataclass(frozen=True)
class TrainSettings:
    """Fine-tuning and distillation steps."""

    steps: int = 500
    """Optimizer steps."""
    batch_size: int = 128
    """Positions per step."""
    lr: float = 1e-3
    """Peak AdamW rate (cosine schedule)."""
    seed: int = 0
    """Seed of the data order and of a fresh student's weights."""
    threads: int = 1
    """torch CPU threads."""

    def __post_init__(self):
        if self.steps < 0:
            raise DistillError(f"steps must be >= 0, got {self.steps}")


class Targets:
    """Training batches (planes, target distribution, outcome) of a dataset folder or a zero run."""

    def __init__(self, data: str | Path, size: int, feature_set: str):
        self.path = Path(data)
        self.size, self.feature_set = size, feature_set
        if (self.path / MANIFEST).is_file():
            found = Manifest.load(self.path).size
            self.kind = "dataset"
        elif (self.path / ZERO_BUFFER).is_dir():
            found = _buffer_size(self.path / ZERO_BUFFER)
            self.kind = "zero run"
        else:
            raise DistillError(f"data {str(self.path)!r} is neither a dataset folder ({MANIFEST}) "
                               f"nor a zero run folder ({ZERO_BUFFER}/)")
        if found is not None and found != size:
            raise DistillError(f"data {str(self.path)!r} is a {self.kind} for {found}x{found}, "
                               f"the network is for {size}x{size}")

    def batches(self, batch_size: int, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, ...]]:
        """Endless (planes float32 [B, C, N, N], target float32 [B, N*N+1], outcome float32 [B]), random symmetries."""
        moves = self.size * self.size + 1
        if self.kind == "dataset":
            reader = ShardReader(self.path, "train", self.feature_set)
            if reader.positions == 0:
                raise DistillError(f"dataset {str(self.path)!r} has no training positions")
            while True:
                for b in reader.batches(batch_size, rng, drop_last=reader.positions >= batch_size):
                    yield b.planes, np.eye(moves, dtype=np.float32)[b.moves], b.outcomes
        buffer = ReplayBuffer(self.path / ZERO_BUFFER, self.size, window_games=2**31 - 1,
                              feature_set=self.feature_set)
        while True:
            b = buffer.sample(batch_size, rng)
            yield b.planes, b.policy / b.policy.sum(axis=1, keepdims=True), b.value

    def calibration(self, count: int, seed: int = 0) -> np.ndarray:
        """float32 planes [<= count, C, N, N] of real positions (no symmetries) for int8 calibration."""
        return next(self.batches(count, np.random.default_rng(seed)))[0]


def _buffer_size(folder: Path) -> int | None:
    """Board size of a replay buffer from its first shard's policy width (None when it is empty)."""
    shard = next(iter(sorted(folder.glob("gen*.npz"))), None)
    if shard is None:
        return None
    with np.load(shard) as data:
        return int(round((data["policy"].shape[1] - 1) ** 0.5))


def _teacher_fits(student: NetConfig, teacher: NetConfig, what: str = "student") -> None:
    for field in ("board_size", "feature_set", "feature_version", "in_planes"):
        mine, theirs = getattr(student, field), getattr(teacher, field)
        if mine != theirs:
            raise DistillError(f"teacher {field} {theirs!r} differs from the {what}'s {mine!r}")


def student_config(spec: str, teacher: NetConfig) -> NetConfig:
    """The NetConfig of a student spec "BACKBONE-bDEPTHcWIDTH" (e.g. "mobilenet-b4c32") for the teacher's board."""
    match = STUDENT_SPEC.match(spec)
    if not match:
        raise DistillError(f"student {spec!r} is neither a checkpoint file nor a spec like mobilenet-b4c32")
    return NetConfig(backbone=match["backbone"], blocks=int(match["blocks"]), width=int(match["width"]),
                     board_size=teacher.board_size, in_planes=teacher.in_planes,
                     feature_set=teacher.feature_set, feature_version=teacher.feature_version,
                     heads=("policy", "value"))


def train_on(model: GoNet, targets: Targets, settings: TrainSettings, teacher: GoNet | None = None,
             loss: DistillLoss | None = None, masks: dict[str, torch.Tensor] | None = None,
             label: str = "fine-tune") -> dict[str, float]:
    """`settings.steps` AdamW steps of `model` on `targets`: cross-entropy + outcome MSE, or `loss`
    against `teacher` (in eval mode) when given; `masks` keep pruned weights at zero. Returns the
    mean loss parts of the last 50 steps."""
    torch.set_num_threads(settings.threads)
    loss = loss or DistillLoss(alpha=0.0)
    optim = OptimConfig(optimizer="adamw", lr=settings.lr)
    optimizer = make_optimizer(model.parameters(), optim)
    batches = targets.batches(settings.batch_size, np.random.default_rng(settings.seed))
    recent: list[dict[str, float]] = []
    model.train()
    with progress_bar() as bar:
        task = bar.add_task(label, total=settings.steps, info="")
        for step in range(settings.steps):
            planes, target, outcome = (torch.from_numpy(a) for a in next(batches))
            out = model(planes)
            if teacher is not None:
                with torch.no_grad():
                    soft = teacher(planes)
            else:
                soft = {k: v.detach() for k, v in out.items()}
            total, parts = loss(out, soft, target, outcome)
            set_lr(optimizer, lr_at(optim, step / settings.steps))
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer_step(optimizer, model, optim)
            if masks:
                apply_masks(model, masks)
            recent = (recent + [parts])[-50:]
            bar.update(task, advance=1, info=f"loss {parts['loss']:.3f}")
    model.eval()
    return {k: float(np.mean([p[k] for p in recent])) for k in recent[0]} if recent else {}


def _validation(model: GoNet, data: str | Path) -> dict[str, float]:
    """Top-1 / value MSE on the validation split of a dataset folder ({} for a zero run or an empty split)."""
    if not (Path(data) / MANIFEST).is_file():
        return {}
    reader = ShardReader(data, "val", model.cfg.feature_set)
    return {f"val_{k}": v for k, v in evaluate(model, reader, torch.device("cpu")).items()} if reader.positions else {}


def quantize(checkpoint: str | Path, out: str | Path, data: str | Path, positions: int = 1024,
             seed: int = 0) -> dict:
    """Int8 copy of `checkpoint` calibrated on `positions` positions of `data`; returns its compression record."""
    model, meta = load_checkpoint(checkpoint)
    if positions < 1:
        raise DistillError(f"calibration positions must be >= 1, got {positions}")
    targets = Targets(data, meta.board_size, meta.feature_set)
    planes = targets.calibration(positions, seed)
    net = OnnxNet(quantize_int8(model, planes), meta.config)
    record = {"method": "int8", "toolchain": "onnxruntime", "calibration_positions": int(len(planes)),
              "calibration_data": str(data), "source": str(checkpoint), "params": count_params(model)}
    save_checkpoint(out, net, meta.step, meta.metrics, record)
    return record


def prune(checkpoint: str | Path, out: str | Path, amount: float, method: str = STRUCTURED,
          data: str | Path | None = None, settings: TrainSettings = TrainSettings(steps=0), stream: float = 0.0) -> dict:
    """Prune `checkpoint` by `amount` with `method` (channels: and the `stream` share of the residual stream),
    fine-tune `settings.steps` steps on `data` (none when steps is 0); returns the compression record
    written with the result."""
    check_amount(amount)
    if stream and method != STRUCTURED:
        raise DistillError(f"stream pruning removes channels; method {method!r} zeroes weights")
    if stream:
        check_amount(stream)
    model, meta = load_checkpoint(checkpoint)
    check_prunable(model, method)
    if settings.steps and data is None:
        raise DistillError("fine-tuning needs --data (a dataset folder or a zero run)")
    targets = Targets(data, meta.board_size, meta.feature_set) if settings.steps else None
    flops = count_flops(model)
    record: dict = {"method": method, "amount": float(amount), "source": str(checkpoint),
                    "finetune_steps": settings.steps}
    masks = None
    if method == STRUCTURED:
        model, kept = channel_prune(model, amount, stream)
        record["kept_channels"] = kept
        if stream:
            record["stream_amount"] = float(stream)
    else:
        masks = magnitude_masks(model, amount)
        apply_masks(model, masks)
    if targets is not None:
        train_on(model, targets, settings, masks=masks, label=f"fine-tune {method}")
    record.update(params=count_params(model), flops_ratio=count_flops(model) / flops, sparsity=sparsity(model))
    metrics = {**meta.metrics, **(_validation(model, data) if data else {})}
    save_checkpoint(out, model, meta.step + settings.steps, metrics, record)
    return record


def distill(teacher_path: str | Path, student: str, data: str | Path, out: str | Path,
            loss: DistillLoss = DistillLoss(), settings: TrainSettings = TrainSettings()) -> dict:
    """Train `student` (a checkpoint, or a spec like mobilenet-b4c32 for a fresh net) on `data`
    with `loss` against `teacher_path`; returns the compression record written with the result."""
    teacher, meta = load_checkpoint(teacher_path)
    if not {"policy", "value"} <= set(teacher.cfg.heads):
        raise DistillError(f"teacher {str(teacher_path)!r} needs policy and value heads, has {list(teacher.cfg.heads)}")
    earlier = {}
    if Path(student).is_file():
        model, student_meta = load_checkpoint(student)
        _teacher_fits(student_meta.config, meta.config)
        step, earlier = student_meta.step, student_meta.compression
    else:
        torch.manual_seed(settings.seed)
        model, step = build_model(student_config(student, meta.config)), 0
    targets = Targets(data, meta.board_size, meta.feature_set)
    parts = train_on(model, targets, settings, teacher if loss.alpha > 0 else None, loss, label="distill")
    record = {"method": "distill", "teacher": str(teacher_path), "teacher_net": teacher.name,
              "student": str(student), "data": str(data), "steps": settings.steps, **asdict(loss),
              **({"student_compression": earlier} if earlier else {})}
    metrics = {**{f"train_{k}": v for k, v in parts.items()}, **_validation(model, data)}
    save_checkpoint(out, model, step + settings.steps, metrics, record)
    return record
