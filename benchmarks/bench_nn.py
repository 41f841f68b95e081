"""Network size and CPU speed: every backbone at b6c64 (6 blocks, 64 channels).

For each backbone: parameters, FLOPs per position, forward positions/s at batch 1 and 64
(eval mode, inference_mode), and training samples/s (batch 64, policy + value loss, one
SGD step). Positions are random 17-plane AlphaGo Zero inputs.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table

from rlgo.nn.backbones import BACKBONES
from rlgo.nn.model import NetConfig, build_model, count_flops, count_params

WIDTH, BLOCKS, BATCH = 64, 6, 64


def rate(step: Callable[[], object], items: int, seconds: float) -> float:
    """Items per second of `step` (which handles `items` each call), after one warm-up call."""
    step()
    calls, start = 0, time.perf_counter()
    while calls == 0 or time.perf_counter() - start < seconds:
        step()
        calls += 1
    return calls * items / (time.perf_counter() - start)


def measure(cfg: NetConfig, seconds: float) -> dict:
    """Size and speed figures of the network `cfg` (seeded random inputs and targets)."""
    gen = torch.Generator().manual_seed(0)
    n = cfg.board_size
    model = build_model(cfg)
    x = (torch.rand(BATCH, cfg.in_planes, n, n, generator=gen) < 0.3).float()
    moves = torch.randint(0, n * n + 1, (BATCH,), generator=gen)
    outcomes = torch.randint(0, 2, (BATCH,), generator=gen).float() * 2 - 1
    row = {"name": cfg.name, "params": count_params(model), "flops": count_flops(model)}
    model.eval()
    with torch.inference_mode():
        row["fwd_b1_per_s"] = rate(lambda: model(x[:1]), 1, seconds)
        row["fwd_b64_per_s"] = rate(lambda: model(x), BATCH, seconds)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def train_step():
        out = model(x)
        loss = F.cross_entropy(out["policy"], moves) + F.mse_loss(out["value"], outcomes)
        opt.zero_grad()
        loss.backward()
        opt.step()

    row["train_b64_per_s"] = rate(train_step, BATCH, seconds)
    return row


def run(board_size: int = 9, quick: bool = False) -> list[dict]:
    """Measure every backbone on `board_size`, print a table, return one dict per backbone."""
    torch.manual_seed(0)
    seconds = 0.3 if quick else 2.0
    rows = [measure(NetConfig(backbone=b, width=WIDTH, blocks=BLOCKS, board_size=board_size), seconds)
            for b in BACKBONES]
    _print(rows, board_size)
    return rows


def _print(rows: list[dict], board_size: int) -> None:
    table = Table(title=f"nn on {board_size}x{board_size}: CPU, {torch.get_num_threads()} threads, "
                        f"torch {torch.__version__}",
                  caption="fwd: pos/s at batch 1 and 64; train: samples/s, batch 64 SGD")
    for header in ("net", "params", "MFLOP/pos", "fwd b1", "fwd b64", "train"):
        table.add_column(header, justify="left" if header == "net" else "right", no_wrap=True)
    for r in rows:
        table.add_row(r["name"], f"{r['params']:,}", f"{r['flops'] / 1e6:,.1f}", f"{r['fwd_b1_per_s']:,.0f}",
                      f"{r['fwd_b64_per_s']:,.0f}", f"{r['train_b64_per_s']:,.0f}")
    Console().print(table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board-size", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="short timings")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    run(args.board_size, args.quick)
