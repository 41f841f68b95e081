"""Zero loop speed on 9x9 with the default small net (ZeroConfig: resnet-b4c32).

Self-play moves/s and network evaluations/s at 64 and 200 playouts (one worker process
per core, each stepping many games at once), the CPU use of those workers (their CPU
seconds over wall seconds times cores; 100% = every core busy), and training samples/s
(batch 256 drawn from a replay buffer with symmetries, policy + value loss, one SGD step).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from rlgo.nn.checkpoint import save_checkpoint
from rlgo.nn.model import build_model
from rlgo.train.zero.buffer import ReplayBuffer
from rlgo.train.zero.config import ZeroConfig
from rlgo.train.zero.pool import Workers
from rlgo.train.zero.selfplay import NEVER_RESIGN, PlaySettings, SelfPlayTask, play_selfplay
from rlgo.train.zero.trainer import Trainer


def selfplay_speed(cfg: ZeroConfig, ckpt: str, playouts: int, games: int, workers: Workers) -> tuple[dict, list]:
    """Moves/s, evaluations/s and CPU use of `games` self-play games per worker (after a warm-up game each)."""
    settings = PlaySettings.selfplay(cfg, NEVER_RESIGN)
    settings = PlaySettings(**{**settings.__dict__, "playouts": playouts, "parallel_games": games})
    list(workers.run(play_selfplay, [SelfPlayTask(ckpt, settings, 1, 99 + i) for i in range(workers.count)]))
    start = time.perf_counter()
    results = list(workers.run(play_selfplay, [SelfPlayTask(ckpt, settings, games, i) for i in range(workers.count)]))
    wall = time.perf_counter() - start
    moves, evals = sum(r.moves for r in results), sum(r.evaluations for r in results)
    row = {"playouts": playouts, "games": games * workers.count, "moves_per_s": moves / wall,
           "evals_per_s": evals / wall, "cpu_use": sum(r.cpu_seconds for r in results) / (wall * (os.cpu_count() or 1))}
    return row, [g for r in results for g in r.games]


def train_speed(cfg: ZeroConfig, model, games: list, folder: Path, steps: int) -> float:
    """Training samples/s at cfg.batch_size on a buffer of `games` (sampling and augmentation included)."""
    buffer = ReplayBuffer(folder, cfg.size, cfg.window_games)
    buffer.add(0, games)
    trainer = Trainer(model, cfg.optim, steps + 1, torch.device("cpu"))
    rng = np.random.default_rng(0)
    trainer.train(buffer, 1, cfg.batch_size, rng)  # warm-up: JIT of the position encoder
    start = time.perf_counter()
    trainer.train(buffer, steps, cfg.batch_size, rng)
    return steps * cfg.batch_size / (time.perf_counter() - start)


def run(quick: bool = False, workers: int = 0) -> dict:
    """Measure, print a table, return the figures."""
    cfg = ZeroConfig(out="bench", workers=workers)
    torch.manual_seed(0)
    model = build_model(cfg.net_config())
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Workers(cfg.worker_count) as pool:
        ckpt = str(save_checkpoint(Path(tmp) / "net.pt", model))
        games = []
        for playouts, count in ((64, 4 if quick else 32), (200, 2 if quick else 16)):
            row, played = selfplay_speed(cfg, ckpt, playouts, count, pool)
            rows.append(row)
            games += played
        samples = train_speed(cfg, model, games, Path(tmp) / "buffer", 3 if quick else 20)
    out = {"net": cfg.net_config().name, "workers": cfg.worker_count, "selfplay": rows, "train_samples_per_s": samples,
           "cores": os.cpu_count(), "load_avg": os.getloadavg()[0]}
    _print(out)
    return out


def _print(out: dict) -> None:
    table = Table(title=f"zero on 9x9: {out['net']}, {out['workers']} self-play workers, {out['cores']} cores "
                        f"(load average {out['load_avg']:.1f})",
                  caption=f"training: {out['train_samples_per_s']:,.0f} samples/s (batch 256, 1 process)")
    for header in ("playouts", "games", "moves/s", "evals/s", "CPU use"):
        table.add_column(header, justify="right")
    for r in out["selfplay"]:
        table.add_row(str(r["playouts"]), str(r["games"]), f"{r['moves_per_s']:,.1f}", f"{r['evals_per_s']:,.0f}",
                      f"{100 * r['cpu_use']:.0f}%")
    Console().print(table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short timings")
    parser.add_argument("--workers", type=int, default=0, help="self-play processes (default: one per core)")
    args = parser.parse_args()
    run(args.quick, args.workers)
