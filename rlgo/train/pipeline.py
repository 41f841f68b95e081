"""Model parallelism: a network's trunk split into pipeline stages, one stage per process.

`split_stages(model, n)` cuts the trunk's blocks into n contiguous stages of about equal
parameter count; the last stage also holds the heads. `PipelineTrainer` runs one rank's stage
under torch.distributed.pipelining's GPipe schedule: each batch is cut into micro-batches that
flow forward through the stages (activations sent to the next rank) and backward (gradients
sent back), so the stages work on different micro-batches at once. A step equals, on the
unsplit network, the mean of the micro-batch losses (batch norm sees one micro-batch at a time).

Ranks come from rlgo.train.distributed (`launch`, `replica`): rank r holds stage r, on cuda:r
with NCCL or on the CPU with gloo.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.distributed.pipelining import PipelineStage, ScheduleGPipe

from rlgo.nn.model import GoNet
from rlgo.train.common import OptimConfig, TrainError, make_optimizer
from rlgo.train.distributed import Replica


class _Heads(nn.Module):
    """The last stage: the rest of the trunk, then every head; returns the heads' outputs as a tuple."""

    def __init__(self, trunk: nn.Module, heads: nn.ModuleDict):
        super().__init__()
        self.trunk, self.heads = trunk, heads

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        t = self.trunk(x)
        return tuple(head(t) for head in self.heads.values())


def split_stages(model: GoNet, stages: int) -> list[nn.Module]:
    """`stages` modules that run `model` one after the other; they share its parameters.

    Stage i maps the previous stage's activations [B, C, N, N] (the input planes for i = 0) to
    its own; the last returns the heads' outputs in `model.cfg.heads` order.
    """
    blocks = list(model.trunk) if isinstance(model.trunk, nn.Sequential) else []
    if len(blocks) < stages:
        raise TrainError(f"{model.name} cannot be split into {stages} stages: its trunk has "
                         f"{len(blocks) or 'no'} sequential blocks")
    sizes = np.cumsum([sum(p.numel() for p in b.parameters()) for b in blocks])
    cuts: list[int] = []
    for k in range(1, stages):  # after the block where the parameter count passes k / stages, no stage empty
        cut = int(np.searchsorted(sizes, sizes[-1] * k / stages)) + 1
        cuts.append(min(max(cut, cuts[-1] + 1 if cuts else 1), len(blocks) - stages + k))
    bounds = list(zip([0, *cuts], [*cuts, len(blocks)]))
    parts = [nn.Sequential(*blocks[a:b]) for a, b in bounds]
    return [*parts[:-1], _Heads(parts[-1], model.heads)]


def _activations(model: GoNet, stages: list[nn.Module], micro: int) -> list:
    """Example input of each stage and the last stage's outputs for a micro-batch of `micro` positions.

    Given to the stages up front: inferring them would run a training-mode forward pass that
    moves the batch-norm statistics.
    """
    n = model.cfg.board_size
    acts = [torch.zeros(micro, model.cfg.in_planes, n, n)]
    was = model.training
    model.eval()
    with torch.no_grad():
        for stage in stages:
            acts.append(stage(acts[-1]))
    model.train(was)
    return [acts[0], *(a.requires_grad_() if isinstance(a, torch.Tensor) else a for a in acts[1:])]


class PipelineTrainer:
    """One rank's stage of a pipelined network, trained with the GPipe schedule.

    Batches hold `batch_size` positions, cut into `microbatches` equal micro-batches.
    `loss(outputs, target)` gets the heads' outputs of a micro-batch as a dict and its rows of
    the target tensor; the schedule averages the micro-batch losses.
    """

    def __init__(self, model: GoNet, rep: Replica, optim: OptimConfig, batch_size: int, microbatches: int,
                 loss: Callable[[dict[str, torch.Tensor], torch.Tensor], torch.Tensor]):
        if batch_size % microbatches:
            raise TrainError(f"batch size {batch_size} is not a multiple of {microbatches} micro-batches")
        self.replica, self.names = rep, model.cfg.heads
        stages = split_stages(model, rep.world)
        shapes = _activations(model, stages, batch_size // microbatches)
        self.stage = stages[rep.rank].to(rep.device).train()
        self.optimizer = make_optimizer(self.stage.parameters(), optim)
        on = lambda t: tuple(x.to(rep.device) for x in t) if isinstance(t, tuple) else t.to(rep.device)  # noqa: E731
        pipe = PipelineStage(self.stage, rep.rank, rep.world, rep.device, input_args=on(shapes[rep.rank]),
                             output_args=on(shapes[rep.rank + 1]))
        self.schedule = ScheduleGPipe(pipe, microbatches, loss_fn=lambda out, y: loss(dict(zip(self.names, out)), y))

    @property
    def last(self) -> bool:
        """Whether this rank holds the heads (and sees outputs and losses)."""
        return self.replica.rank == self.replica.world - 1

    def step(self, planes: torch.Tensor | None, target: torch.Tensor | None) -> dict[str, torch.Tensor] | None:
        """One optimizer step on a batch: rank 0 passes the planes, the last rank the target, others None.

        Returns the heads' outputs on the last rank (None elsewhere); `losses` holds the
        micro-batch losses there.
        """
        self.optimizer.zero_grad(set_to_none=True)
        self.losses: list[torch.Tensor] = []
        args = (planes.to(self.replica.device),) if self.replica.rank == 0 else ()
        if self.last:
            out = self.schedule.step(*args, target=target.to(self.replica.device), losses=self.losses)
        else:
            out = self.schedule.step(*args)
        self.optimizer.step()
        return dict(zip(self.names, out)) if self.last else None
