"""Parallel training on this machine's CPUs: DDP with 1 and 2 processes, a 2-stage pipeline, allreduce cost.

Training steps of the 9x9 b6c64 ResNet (policy + value loss, SGD) on a global batch of 256 (32
with --quick) random AlphaGo Zero inputs: one process with 1 and with 2 torch threads, two DDP
processes with 1 thread each (rlgo.train.distributed, global batch norm), and the trunk in two
pipeline stages with 4 micro-batches (rlgo.train.pipeline). The allreduce figures (gloo, 2 ranks) are one
gradient-sized tensor and one 64-float tensor (the latency each global batch-norm layer pays
twice forward and twice backward). These feed the 8-GPU estimate in docs/parallel.md.

On a machine shared with other jobs the wall-clock ratios mostly measure the scheduler's share
per process; the CPU time of all processes per sample does not, so the "from CPU time" ratios
(2 x CPU per sample of one process / that of two) estimate the speed-up with a free core per rank.
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F
from rich.console import Console

from benchmarks import figure_table
from rlgo.nn.model import NetConfig, build_model, count_params
from rlgo.train.common import OptimConfig
from rlgo.train.data.reader import share
from rlgo.train.distributed import launch, replica
from rlgo.train.pipeline import PipelineTrainer

NET = NetConfig(width=64, blocks=6, board_size=9)
BATCH, MICRO = 256, 4
OPTIM = OptimConfig(lr=0.01, warmup=0.0, schedule="constant")
LABELS = {"1proc_1thread": "1 process, 1 thread", "1proc_2threads": "1 process, 2 threads",
          "ddp2": "DDP, 2 processes x 1 thread", "pipeline2": f"pipeline, 2 stages x 1 thread, {MICRO} micro-batches"}


def _data(batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    n = NET.board_size
    x = (torch.rand(batch, NET.in_planes, n, n, generator=gen) < 0.3).float()
    return x, torch.randint(0, n * n + 1, (batch,), generator=gen), torch.rand(batch, generator=gen) * 2 - 1


def _loss(out: dict[str, torch.Tensor], moves: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out["policy"], moves) + F.mse_loss(out["value"], z)


def _timed(step, rep, seconds: float) -> tuple[float, float]:
    """(wall seconds, CPU seconds of all ranks together) per call of `step`, after a warm-up call;
    every rank runs the same number of calls."""
    step()
    start = time.perf_counter()
    step()
    calls = max(3, int(rep.agree(seconds / (time.perf_counter() - start))))
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        step()
    wall, cpu = time.perf_counter() - start, torch.tensor([time.process_time() - cpu], dtype=torch.float64)
    if rep.world > 1:
        dist.all_reduce(cpu)
    return rep.agree(wall / calls), float(cpu[0]) / calls


def ddp_rank(threads: int, batch: int, seconds: float) -> dict:
    """Global samples/s of data-parallel steps (one process: an ordinary step), and, with 2 ranks, allreduce times."""
    with replica("cpu", threads) as rep:
        return _ddp(rep, batch, seconds)  # the DDP wrapper is freed before the process group


def _ddp(rep, batch: int, seconds: float) -> dict:
    torch.manual_seed(0)
    model = build_model(NET).train()
    net = rep.wrap(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, moves, z = _data(batch)
    mine = share(batch, *rep.part)

    def step():
        loss = rep.scaled(_loss(net(x[mine]), moves[mine], z[mine]), len(x[mine]))
        opt.zero_grad()
        loss.backward()
        opt.step()

    wall, cpu = _timed(step, rep, seconds)
    figures = {"samples_per_s": batch / wall, "cpu_ms_per_sample": 1e3 * cpu / batch}
    if rep.world > 1:
        grads, small = torch.zeros(count_params(model)), torch.zeros(NET.width)
        figures["allreduce_grad_ms"] = 1e3 * _timed(lambda: dist.all_reduce(grads), rep, seconds / 4)[0]
        figures["allreduce_64_us"] = 1e6 * _timed(lambda: dist.all_reduce(small), rep, seconds / 4)[0]
    return figures


def pipeline_rank(batch: int, seconds: float) -> dict:
    """Samples/s of GPipe steps with the trunk in one stage per rank."""
    with replica("cpu", 1) as rep:
        return _pipeline(rep, batch, seconds)


def _pipeline(rep, batch: int, seconds: float) -> dict:
    torch.manual_seed(0)
    x, moves, z = _data(batch)
    target = torch.stack([moves.float(), z], dim=1)
    trainer = PipelineTrainer(build_model(NET), rep, OPTIM, MICRO,
                              lambda out, y: _loss(out, y[:, 0].long(), y[:, 1]))
    step = lambda: trainer.step(x if rep.rank == 0 else None, target if trainer.last else None, batch)  # noqa: E731
    wall, cpu = _timed(step, rep, seconds)
    return {"samples_per_s": batch / wall, "cpu_ms_per_sample": 1e3 * cpu / batch}


def run(quick: bool = False) -> dict:
    """Measure side by side, print a table, return the figures."""
    seconds, batch = (1.0, 32) if quick else (20.0, BATCH)
    runs = {"1proc_1thread": launch(1, ddp_rank, 1, batch, seconds),
            "1proc_2threads": launch(1, ddp_rank, 2, batch, seconds),
            "ddp2": launch(2, ddp_rank, 1, batch, seconds), "pipeline2": launch(2, pipeline_rank, batch, seconds)}
    figures = {f"train_{name}_per_s": r["samples_per_s"] for name, r in runs.items()}
    figures.update({f"cpu_ms_per_sample_{name}": r["cpu_ms_per_sample"] for name, r in runs.items()})
    one = runs["1proc_1thread"]
    for name in ("ddp2", "pipeline2"):
        figures[f"{name}_speedup"] = runs[name]["samples_per_s"] / one["samples_per_s"]
        figures[f"{name}_speedup_own_cores"] = 2 * one["cpu_ms_per_sample"] / runs[name]["cpu_ms_per_sample"]
    figures.update(grad_mbytes=count_params(build_model(NET)) * 4 / 1e6,
                   allreduce_grad_ms=runs["ddp2"]["allreduce_grad_ms"], allreduce_64_us=runs["ddp2"]["allreduce_64_us"])
    rows = [(f"train_{name}_per_s", f"{label}: samples/s", "{:,.0f}") for name, label in LABELS.items()]
    rows += [(f"cpu_ms_per_sample_{name}", f"{label}: CPU ms per sample", "{:.2f}") for name, label in LABELS.items()]
    rows += [("ddp2_speedup", "DDP 2 / 1 process, wall clock", "{:.2f}x"),
             ("ddp2_speedup_own_cores", "DDP 2 / 1 process, from CPU time (a free core per rank)", "{:.2f}x"),
             ("pipeline2_speedup", "pipeline 2 / 1 process, wall clock", "{:.2f}x"),
             ("pipeline2_speedup_own_cores", "pipeline 2 / 1 process, from CPU time", "{:.2f}x"),
             ("grad_mbytes", "gradient size (MB, float32)", "{:.2f}"),
             ("allreduce_grad_ms", "gloo allreduce of the gradient, 2 ranks (ms)", "{:.2f}"),
             ("allreduce_64_us", "gloo allreduce of 64 floats, 2 ranks (us)", "{:.0f}")]
    Console().print(figure_table(f"parallel training: {NET.name} 9x9, global batch {batch}, CPU, "
                                 f"torch {torch.__version__}", rows, figures))
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short timings")
    run(parser.parse_args().quick)
