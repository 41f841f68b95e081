"""Data-parallel training with torch.distributed: one replica of the network per process.

`launch(n, fn, *args)` runs fn(*args) in n local processes (torch.multiprocessing, spawn) that
meet over TCP on localhost; inside them `replica(device)` joins the process group (gloo on CPU,
NCCL on CUDA with rank r on cuda:r). The same code runs under `torchrun`, which sets the same
environment (RANK, WORLD_SIZE, MASTER_ADDR, ...) on every machine of a job. In a plain process
`replica` is the single replica and changes nothing.

The split keeps a step equal to one process's step on the same global batch: every rank draws
the same global batch (same seeded rng), encodes only its contiguous share (`share`), weights its
mean loss by its share of the batch (`Replica.scaled`), and DDP averages the gradients; batch
norm normalises with the statistics of the global batch (`GlobalBatchNorm`). Rank 0 alone writes
checkpoints and metrics.
"""
from __future__ import annotations

import contextlib
import gc
import json
import multiprocessing.connection
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from rlgo.atomic import write_text_atomic
from rlgo.train.common import TrainError, select_device


class DistributedError(TrainError):
    """A rank of a distributed job failed or died; the job was stopped."""


@dataclass(frozen=True)
class Replica:
    """This process's place in the job: rank `rank` of `world`, training on `device`."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        """Whether this is rank 0, the one that writes files and shows progress."""
        return self.rank == 0

    @property
    def part(self) -> tuple[int, int]:
        """(rank, world): which share of each global batch this rank takes (rlgo.train.data.reader.share)."""
        return self.rank, self.world

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module to train: `model` itself in a single process, else DDP over it with global batch norm.

        `model` keeps its class and parameters (checkpoints save it as usual).
        """
        if self.world == 1:
            return model
        for module in model.modules():
            if type(module) is nn.BatchNorm2d:
                module.__class__ = GlobalBatchNorm
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids, forward_sync_buffers=False)  # equal on every rank

    def scaled(self, loss: torch.Tensor, count: int) -> torch.Tensor:
        """The mean `loss` over this rank's `count` samples, weighted so that DDP's average of the
        ranks' gradients is the gradient of the mean loss over the global batch."""
        if self.world == 1:
            return loss
        total = torch.tensor([float(count)], device=self.device)
        dist.all_reduce(total)
        return loss * (count * self.world / total[0]) if count else loss * 0.0  # an empty share adds nothing

    def agree(self, value: float) -> float:
        """Rank 0's `value` on every rank (decisions such as a time budget must be the same everywhere)."""
        if self.world == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.broadcast(t, 0)
        return float(t[0])


class GlobalBatchNorm(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the global batch over all ranks.

    Two differentiable all-reduces per layer (sum and count, then squared deviations), so it works
    on any backend; torch's SyncBatchNorm is CUDA-only. Evaluation mode is plain BatchNorm2d.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        dims, shape, c = (0, 2, 3), (1, -1, 1, 1), x.shape[1]
        total = _AllReduceSum.apply(torch.cat([x.sum(dims), x.new_tensor([x.numel() / c])]))
        count = total[c]
        mean = total[:c] / count
        var = _AllReduceSum.apply(((x - mean.view(shape)) ** 2).sum(dims)) / count
        with torch.no_grad():
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var * count / (count - 1).clamp(min=1), self.momentum)
            self.num_batches_tracked += 1
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        return y * self.weight.view(shape) + self.bias.view(shape)


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks; the gradient of each rank's input is the sum of the ranks' output gradients."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


@contextlib.contextmanager
def replica(device: str = "auto", threads: int = 0) -> Iterator[Replica]:
    """Join the job this process belongs to (WORLD_SIZE in the environment), or be the single replica.

    Sets torch's CPU threads: `threads`, or (when 0 and there are several local ranks) the cores
    divided among them. Leaves the process group on exit.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    if threads or local_world > 1:
        torch.set_num_threads(threads or max(1, (os.cpu_count() or 1) // local_world))
    where = select_device(device)
    if world == 1:
        yield Replica(device=where)
        return
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if where.type == "cuda":
        where = torch.device("cuda", local_rank)
        torch.cuda.set_device(where)
    dist.init_process_group("nccl" if where.type == "cuda" else "gloo", init_method="env://",
                            rank=rank, world_size=world)
    yield Replica(rank, world, where)  # after an error the group dies with the process, after the error's report
    gc.collect()  # a DDP wrapper freed after the group would join gloo's threads holding the GIL: a deadlock
    dist.destroy_process_group()


def launch(processes: int, fn, *args):
    """Run fn(*args) in `processes` local ranks and wait (1: in this process); returns rank 0's result
    (JSON-able).

    If a rank raises or dies, the others are stopped and DistributedError names the rank; files
    are then as rank 0's last completed (atomic) write left them.
    """
    if processes < 1:
        raise TrainError(f"--ddp needs at least 1 process, got {processes}")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise TrainError("--ddp cannot be used inside a torchrun job (torchrun already started the ranks)")
    if processes == 1:
        return fn(*args)
    with tempfile.TemporaryDirectory(prefix="rlgo-ddp-") as tmp:
        context = mp.start_processes(_rank_main, args=(processes, _free_port(), fn, args, tmp),
                                     nprocs=processes, join=False, start_method="spawn")
        _join(context, processes, Path(tmp))
        result = Path(tmp) / "result.json"
        return json.loads(result.read_text()) if result.exists() else None


def _join(context, processes: int, folder: Path) -> None:
    """Wait for every rank; on the first failure stop the others and raise DistributedError naming the cause:
    a rank killed by a signal, else the rank whose exception came first (its peers then fail in a collective)."""
    while True:
        alive = [p.sentinel for p in context.processes if p.exitcode is None]
        if not alive:
            return
        multiprocessing.connection.wait(alive)
        codes = [p.exitcode for p in context.processes]
        if any(code not in (None, 0) for code in codes):
            break
    killed = [i for i, code in enumerate(codes) if code is not None and code < 0]  # before the others are stopped
    try:
        context.join()  # stops the other ranks
    except (mp.ProcessRaisedException, mp.ProcessExitedException):
        pass
    errors = sorted((json.loads(p.read_text()), int(p.stem.split("-")[1])) for p in folder.glob("error-*.json"))
    if errors and not killed:
        (_, error), culprit = errors[0]
        raise DistributedError(f"rank {culprit} of {processes} failed: {error}; all ranks stopped")
    culprit = (killed or [i for i, code in enumerate(codes) if code not in (None, 0)])[0]
    code = codes[culprit]
    why = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
    raise DistributedError(f"rank {culprit} of {processes} {why}; all ranks stopped "
                           f"(checkpoints are those of the last completed save)")


def _rank_main(rank: int, world: int, port: int, fn, args, folder: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    try:
        value = fn(*args)
    except Exception as e:
        text = str(e).strip().splitlines()
        report = [time.time(), f"{type(e).__name__}: {text[0] if text else ''}"]
        write_text_atomic(Path(folder) / f"error-{rank}.json", json.dumps(report))  # read whole or not at all
        raise
    if rank == 0:
        (Path(folder) / "result.json").write_text(json.dumps(value))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # no interpreter teardown: torch's process-group destructors can deadlock there


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

