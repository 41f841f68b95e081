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
import torch.distributed as dist
from torch import nn
from torch.distributed.pipelining import PipelineStage, ScheduleGPipe

from rlgo.nn.model import GoNet, build_model
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


def _activations(model: GoNet, stages: list[nn.Module]) -> list:
    """Example input of each stage and the last stage's outputs for one position.

    Given to the stages up front: inferring them would run a training-mode forward pass that
    moves the batch-norm statistics.
    """
    n = model.cfg.board_size
    acts = [torch.zeros(1, model.cfg.in_planes, n, n)]
    was = model.training
    model.eval()
    with torch.no_grad():
        for stage in stages:
            acts.append(stage(acts[-1]))
    model.train(was)
    return acts


def _example(act, rows: int, device: torch.device, grad: bool):
    """A zero tensor (or tuple of them) shaped like `act` with `rows` rows, on `device`."""
    if isinstance(act, tuple):
        return tuple(_example(a, rows, device, grad) for a in act)
    return torch.zeros(rows, *act.shape[1:], device=device, requires_grad=grad)


def micro_batches(batch: int, most: int) -> int:
    """Micro-batches a batch of `batch` positions is cut into: the largest divisor of `batch` up to `most`
    (stages exchange tensors of one fixed shape, so the micro-batches must be equal)."""
    return max(m for m in range(1, min(most, batch) + 1) if batch % m == 0)


class PipelineTrainer:
    """One rank's stage of a pipelined network, trained with the GPipe schedule.

    Each batch is cut into `micro_batches(len(batch), microbatches)` equal micro-batches (one
    schedule per batch size, built on first use). `loss(outputs, target)` gets the heads'
    outputs of a micro-batch as a dict and its rows of the target tensor; the schedule averages
    the micro-batch losses. The optimizer is over all of `model`'s parameters, in its order, but
    holds state only for this stage's (the others get no gradients here), so the ranks' states
    together are the state of one process's optimizer (`gather`).
    """

    def __init__(self, model: GoNet, rep: Replica, optim: OptimConfig, microbatches: int,
                 loss: Callable[[dict[str, torch.Tensor], torch.Tensor], torch.Tensor]):
        if microbatches < 1:
            raise TrainError(f"micro-batches must be at least 1, got {microbatches}")
        self.model, self.replica, self.names, self.microbatches = model, rep, model.cfg.heads, microbatches
        self.grad_clip, self.loss = optim.grad_clip, loss
        stages = split_stages(model, rep.world)
        self.shapes = _activations(model, stages)
        self.stage = stages[rep.rank].to(rep.device).train()
        self.optimizer = make_optimizer(model.parameters(), optim)
        mine = {id(t) for t in self.stage.state_dict(keep_vars=True).values()}
        self.owned = [k for k, t in model.state_dict(keep_vars=True).items() if id(t) in mine]
        self.schedules: dict[int, ScheduleGPipe] = {}

    @property
    def last(self) -> bool:
        """Whether this rank holds the heads (and sees outputs and losses)."""
        return self.replica.rank == self.replica.world - 1

    def _schedule(self, batch: int) -> ScheduleGPipe:
        if batch not in self.schedules:
            m, (rank, world), device = micro_batches(batch, self.microbatches), self.replica.part, self.replica.device
            pipe = PipelineStage(self.stage, rank, world, device,
                                 input_args=_example(self.shapes[rank], batch // m, device, rank > 0),
                                 output_args=_example(self.shapes[rank + 1], batch // m, device, True))
            loss = lambda out, y: self.loss(dict(zip(self.names, out)), y)
            self.schedules[batch] = ScheduleGPipe(pipe, m, loss_fn=loss)
        return self.schedules[batch]

    def step(self, planes: torch.Tensor | None, target: torch.Tensor | None,
             batch: int) -> dict[str, torch.Tensor] | None:
        """One optimizer step on a batch of `batch` positions: rank 0 passes the planes, the last rank the
        target, others None.

        Returns the heads' outputs on the last rank (None elsewhere); `losses` holds the
        micro-batch losses there. Gradients are clipped to the global norm over all stages.
        """
        schedule = self._schedule(batch)
        self.optimizer.zero_grad(set_to_none=True)
        self.losses: list[torch.Tensor] = []
        args = (planes.to(self.replica.device),) if self.replica.rank == 0 else ()
        if self.last:
            out = schedule.step(*args, target=target.to(self.replica.device), losses=self.losses)
        else:
            out = schedule.step(*args)
        if self.grad_clip:
            self._clip()
        self.optimizer.step()
        return dict(zip(self.names, out)) if self.last else None

    def _clip(self) -> None:
        """clip_grad_norm_ over the whole network: the stages' squared norms summed over the ranks."""
        grads = [p.grad for p in self.stage.parameters() if p.grad is not None]
        total = torch.stack([g.detach().double().pow(2).sum() for g in grads]).sum()
        dist.all_reduce(total)
        scale = (self.grad_clip / (total.sqrt() + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.to(g.dtype))

    def from_last(self, values: list[float]) -> list[float]:
        """The last rank's `values` (its step's loss, accuracy) on every rank."""
        t = torch.tensor(values, dtype=torch.float64, device=self.replica.device)
        dist.broadcast(t, self.replica.world - 1)
        return t.tolist()

    def keep_own_state(self) -> None:
        """Drop the optimizer state of the other stages' parameters (after loading a whole network's)."""
        mine = {id(p) for p in self.stage.parameters()}
        for p in [p for p in self.optimizer.state if id(p) not in mine]:
            del self.optimizer.state[p]

    def gather(self) -> tuple[GoNet, dict] | None:
        """The whole network (on the CPU) and one process's optimizer state dict, on rank 0 (None elsewhere);
        every rank must call it: each sends its stage's weights, buffers and optimizer state."""
        state = self.model.state_dict()
        optim = self.optimizer.state_dict()
        mine = (({k: state[k].detach().cpu() for k in self.owned},
                 {i: {k: v.cpu() if isinstance(v, torch.Tensor) else v for k, v in s.items()}
                  for i, s in optim["state"].items()}))
        parts = [None] * self.replica.world if self.replica.main else None
        dist.gather_object(mine, parts, dst=0)
        if not self.replica.main:
            return None
        whole = build_model(self.model.cfg)
        whole.load_state_dict({k: v for weights, _ in parts for k, v in weights.items()})
        whole.init_from = getattr(self.model, "init_from", None)
        states = {i: s for _, part in parts for i, s in part.items()}
        return whole, {"state": dict(sorted(states.items())), "param_groups": optim["param_groups"]}
