"""Self-play through the batched inference server vs per-worker networks, side by side in one run.

The same self-play tasks (same seeds, so the same games) run on the same worker processes
twice per round: each worker evaluating with its own CPU copy of the network, then every
worker sending its leaves to one server process (rlgo.nn.server) on `device`. Reported per
mode: positions (moves) per second, network evaluations per second, and CPU milliseconds
per position of all processes (workers plus the server; Linux /proc), which does not depend
on how busy the machine is.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from rlgo.nn.checkpoint import save_checkpoint
from rlgo.nn.model import build_model
from rlgo.nn.server import InferenceServer
from rlgo.train.zero.config import ZeroConfig
from rlgo.train.zero.pool import Workers
from rlgo.train.zero.selfplay import NEVER_RESIGN, PlaySettings, SelfPlayTask, play_selfplay

SMALL = dict(size=7, simulations=32, parallel_games=8)
"""Small settings: 7x7, the default b4c32 net, 32 simulations, 8 games stepped together per worker."""


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(quick: bool = False, workers: int = 2, device: str = "cpu", rounds: int = 0) -> dict:
    """Measure both modes `rounds` times each, alternating; print a table, return the figures."""
    rounds = rounds or (1 if quick else 3)
    cfg = ZeroConfig(out="bench", workers=workers, device=device, **SMALL)
    settings = PlaySettings.selfplay(cfg, NEVER_RESIGN)
    games = settings.parallel_games if not quick else 2
    settings = dataclasses.replace(settings, parallel_games=games)
    torch.manual_seed(0)
    totals = {mode: {"moves": 0, "evaluations": 0, "wall": 0.0, "cpu": 0.0} for mode in ("own", "server")}
    with tempfile.TemporaryDirectory() as tmp, Workers(workers) as pool, InferenceServer(device) as server:
        ckpt = str(save_checkpoint(Path(tmp) / "net.pt", build_model(cfg.net_config())))
        for mode in totals:  # warm-up: worker start, JIT, the server's first load
            address = server.address if mode == "server" else None
            list(pool.run(play_selfplay, [SelfPlayTask(ckpt, settings, 1, 99 + i, address) for i in range(workers)]))
        for r in range(rounds):
            for mode, t in totals.items():
                address = server.address if mode == "server" else None
                tasks = [SelfPlayTask(ckpt, settings, games, r * workers + i, address) for i in range(workers)]
                server_cpu, start = _cpu_seconds(server.pid), time.perf_counter()
                results = list(pool.run(play_selfplay, tasks))
                t["wall"] += time.perf_counter() - start
                t["cpu"] += sum(x.cpu_seconds for x in results) + (
                    _cpu_seconds(server.pid) - server_cpu if mode == "server" else 0.0)
                t["moves"] += sum(x.moves for x in results)
                t["evaluations"] += sum(x.evaluations for x in results)
    out = {"net": cfg.net_config().name, "size": cfg.size, "simulations": settings.simulations, "games": games,
           "workers": workers, "device": device, "rounds": rounds, "cores": os.cpu_count(),
           "load_avg": os.getloadavg()[0]}
    for mode, t in totals.items():
        out[f"{mode}_positions_per_s"] = t["moves"] / t["wall"]
        out[f"{mode}_evals_per_s"] = t["evaluations"] / t["wall"]
        out[f"{mode}_cpu_ms_per_position"] = 1000 * t["cpu"] / max(t["moves"], 1)
    out["server_over_own"] = out["server_positions_per_s"] / out["own_positions_per_s"]
    _print(out)
    return out


def _print(out: dict) -> None:
    table = Table(title=f"self-play on {out['size']}x{out['size']}, {out['net']}, {out['simulations']} simulations, "
                        f"{out['workers']} workers x {out['games']} games, {out['rounds']} rounds, server on "
                        f"{out['device']} ({out['cores']} cores, load average {out['load_avg']:.1f})",
                  caption=f"server / per-worker networks: {out['server_over_own']:.2f}x positions/s")
    for header in ("evaluation", "positions/s", "evals/s", "CPU ms/position"):
        table.add_column(header, justify="right")
    for mode, label in (("own", "per-worker networks"), ("server", "inference server")):
        table.add_row(label, f"{out[f'{mode}_positions_per_s']:,.1f}", f"{out[f'{mode}_evals_per_s']:,.0f}",
                      f"{out[f'{mode}_cpu_ms_per_position']:.1f}")
    Console().print(table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short timings")
    parser.add_argument("--workers", type=int, default=2, help="self-play worker processes")
    parser.add_argument("--device", default="cpu", help="torch device of the server")
    parser.add_argument("--rounds", type=int, default=0, help="measurements of each mode (0: 3, 1 with --quick)")
    args = parser.parse_args()
    run(args.quick, args.workers, args.device, args.rounds)
