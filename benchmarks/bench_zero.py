"""Zero loop speed on 9x9 with the default small net (ZeroConfig: resnet-b4c32), and an ablation.

Speed (`run`): self-play moves/s and network evaluations/s at 64 and 200 simulations, fp32 and (with
onnxruntime) the int8 copy that `--int8-play` plays (one
worker process per core, each stepping many games at once), the CPU use of those workers
(their CPU seconds over wall seconds times cores; 100% = every core busy; evaluations per
CPU second is the rate per fully available core, independent of other jobs), and training
samples/s (batch 256 drawn from a replay buffer with symmetries, policy + value loss, one
SGD step).

Ablation (`ablation`, --ablation): four AlphaZero-style generations on 5x5 from the same
random network, plain vs playout cap randomization vs auxiliary ownership/score targets at
about the same self-play compute; each final network plays the plain one and generation 0.

Root policies (`root_curve`, --roots): short 7x7 runs from the same generation 0, the Gumbel
root at 16 simulations per move vs PUCT at 16 and at 64 (a quarter of the games, so equal
self-play simulations); every generation of each run plays generation 0 with one referee
search (PUCT, 32 simulations), giving the learning curve as Elo vs generation 0; then the last
generations play each other (`root_finals`; --finals plays only that, on finished runs).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from rlgo.nn.backend import onnxruntime_available
from rlgo.nn.checkpoint import save_checkpoint
from rlgo.train.common import OptimConfig
from rlgo.train.compress import quantize
from rlgo.nn.model import NetConfig, build_model
from rlgo.train.zero.buffer import ReplayBuffer
from rlgo.train.zero.config import ZeroConfig
from rlgo.train.zero.pool import Workers
from rlgo.train.zero.loop import checkpoint_path, train_zero
from rlgo.train.zero.selfplay import NEVER_RESIGN, PlaySettings, SelfPlayTask, load_net, play_selfplay, run_match
from rlgo.train.zero.trainer import Trainer


def selfplay_speed(cfg: ZeroConfig, ckpt: str, simulations: int, games: int, workers: Workers) -> tuple[dict, list]:
    """Moves/s, evaluations/s and CPU use of `games` self-play games per worker (after a warm-up game each)."""
    settings = PlaySettings.selfplay(cfg, NEVER_RESIGN)
    settings = PlaySettings(**{**settings.__dict__, "simulations": simulations, "parallel_games": games})
    list(workers.run(play_selfplay, [SelfPlayTask(ckpt, settings, 1, 99 + i) for i in range(workers.count)]))
    start = time.perf_counter()
    results = list(workers.run(play_selfplay, [SelfPlayTask(ckpt, settings, games, i) for i in range(workers.count)]))
    wall = time.perf_counter() - start
    moves, evals = sum(r.moves for r in results), sum(r.evaluations for r in results)
    row = {"simulations": simulations, "games": games * workers.count, "moves_per_s": moves / wall,
           "evals_per_s": evals / wall, "cpu_use": sum(r.cpu_seconds for r in results) / (wall * (os.cpu_count() or 1)),
           "evals_per_cpu_s": evals / max(sum(r.cpu_seconds for r in results), 1e-9)}
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
    budgets = ((64, 4 if quick else 32), (200, 2 if quick else 16))
    with tempfile.TemporaryDirectory() as tmp, Workers(cfg.worker_count) as pool:
        ckpt = str(save_checkpoint(Path(tmp) / "net.pt", model))
        games = []
        for simulations, count in budgets:
            row, played = selfplay_speed(cfg, ckpt, simulations, count, pool)
            rows.append(row)
            games += played
        samples = train_speed(cfg, model, games, Path(tmp) / "buffer", 3 if quick else 20)
        if onnxruntime_available():  # --int8-play: the same net quantized on the games just played
            int8 = str(Path(tmp) / "net-int8.pt")
            quantize(ckpt, int8, tmp, positions=256)
            int8_cfg = dataclasses.replace(cfg, int8_play=True)
            for simulations, count in budgets:
                rows.append({**selfplay_speed(int8_cfg, int8, simulations, count, pool)[0], "int8": True})
    out = {"net": cfg.net_config().name, "workers": cfg.worker_count, "selfplay": rows, "train_samples_per_s": samples,
           "cores": os.cpu_count(), "load_avg": os.getloadavg()[0]}
    _print(out)
    return out


def _print(out: dict) -> None:
    table = Table(title=f"zero on 9x9: {out['net']}, {out['workers']} self-play workers, {out['cores']} cores "
                        f"(load average {out['load_avg']:.1f})",
                  caption=f"training: {out['train_samples_per_s']:,.0f} samples/s (batch 256, 1 process)")
    for header in ("network", "simulations", "games", "moves/s", "evals/s", "CPU use", "evals/CPU-s"):
        table.add_column(header, justify="right")
    for r in out["selfplay"]:
        table.add_row("int8" if r.get("int8") else "fp32", str(r["simulations"]), str(r["games"]), f"{r['moves_per_s']:,.1f}", f"{r['evals_per_s']:,.0f}",
                      f"{100 * r['cpu_use']:.0f}%", f"{r['evals_per_cpu_s']:,.0f}")
    Console().print(table)


ABLATION_BASE = dict(size=5, komi=2.5, net=NetConfig(blocks=2, width=16), simulations=16, games_per_generation=48, parallel_games=48,
                     steps_per_generation=80, batch_size=128, window_games=192, generations=4, gating=False,
                     gate_games=2, workers=1, threads=1, sgf_per_generation=0,
                     optim=OptimConfig(lr=0.05, schedule="constant", warmup=0.0))
ABLATION_VARIANTS = {
    "plain": {},
    "playout cap 32/8 (25% full)": dict(simulations=32, fast_simulations=8, full_search_prob=0.25),  # 14 sims/move
    "aux ownership + score": dict(aux_heads=True),
}


def ablation(seed: int = 0, games: int = 64) -> list[dict]:
    """Train each variant of ABLATION_VARIANTS; score its last network against the plain one and generation 0."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        finals = {}
        for name, changes in ABLATION_VARIANTS.items():
            cfg = ZeroConfig(out=f"{tmp}/{len(finals)}", seed=seed, **{**ABLATION_BASE, **changes})
            start = time.process_time()
            train_zero(cfg, console=Console(quiet=True))
            finals[name] = (cfg, time.process_time() - start)
        match = PlaySettings(**{**PlaySettings.match(finals["plain"][0], NEVER_RESIGN).__dict__, "simulations": 32})
        plain = load_net(str(checkpoint_path(Path(finals["plain"][0].out), 4)), match)
        random_net = load_net(str(checkpoint_path(Path(finals["plain"][0].out), 0)), match)
        for name, (cfg, cpu) in finals.items():
            net = load_net(str(checkpoint_path(Path(cfg.out), cfg.generations)), match)
            score = {}
            for label, other in (("vs plain", plain), ("vs gen 0", random_net)):
                result = run_match((net, other), match, tuple(range(games)), seed=123)
                score[label] = sum(g.first_score for g in result.games) / games
            rows.append({"variant": name, "train_cpu_s": cpu, **score})
    table = Table(title=f"zero ablation on 5x5: 4 generations, {games} games per match at 32 simulations")
    for header in ("variant", "loop CPU s", "score vs plain", "score vs gen 0"):
        table.add_column(header, justify="right")
    for r in rows:
        table.add_row(r["variant"], f"{r['train_cpu_s']:.0f}", f"{r['vs plain']:.2f}", f"{r['vs gen 0']:.2f}")
    Console().print(table)
    return rows


ROOT_BASE = dict(size=7, komi=9.0, net=NetConfig(blocks=2, width=16), games_per_generation=32, parallel_games=32,
                 steps_per_generation=40, batch_size=128, window_games=128, generations=4, gating=False,
                 gate_games=2, workers=1, threads=1, sgf_per_generation=0,
                 optim=OptimConfig(lr=0.05, schedule="constant", warmup=0.0))
ROOT_VARIANTS = {
    "gumbel 16": dict(root="gumbel", gumbel_m=8, simulations=16),
    "puct 16": dict(simulations=16),
    "puct 64 (1/4 games)": dict(simulations=64, games_per_generation=8, parallel_games=8),
}


def root_curve(seed: int = 0, games: int = 16, out: str | None = None, generations: int = ROOT_BASE["generations"]
               ) -> list[dict]:
    """Train each ROOT_VARIANTS run for `generations`; rate every generation against generation 0 in `games`
    games (PUCT 32 referee)."""
    from rlgo.stats.elo import elo_from_score
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(out or tmp)
        for name, changes in ROOT_VARIANTS.items():
            cfg = ZeroConfig(out=str(folder / "".join(name.split()[:2])), seed=seed,
                             **{**ROOT_BASE, **changes, "generations": generations})
            start = time.process_time()
            train_zero(cfg, console=Console(quiet=True))
            cpu = time.process_time() - start
            referee = PlaySettings(**{**PlaySettings.match(cfg, NEVER_RESIGN).__dict__, "simulations": 32,
                                      "root": "puct"})
            first = load_net(str(checkpoint_path(Path(cfg.out), 0)), referee)
            for g in range(1, cfg.generations + 1):
                net = load_net(str(checkpoint_path(Path(cfg.out), g)), referee)
                result = run_match((net, first), referee, tuple(range(games)), seed=123 + g)
                score = sum(x.first_score for x in result.games) / games
                rows.append({"variant": name, "generation": g, "score": score, "loop_cpu_s": cpu,
                             "elo": elo_from_score(min(max(score, 0.5 / games), 1 - 0.5 / games))})
                Console().print(rows[-1])
    table = Table(title=f"7x7 root policies: score / Elo vs generation 0, {games} games per point, PUCT-32 referee")
    for header in ("variant", "loop CPU s", *[f"gen {g}" for g in range(1, generations + 1)]):
        table.add_column(header, justify="right")
    for name in ROOT_VARIANTS:
        mine = [r for r in rows if r["variant"] == name]
        table.add_row(name, f"{mine[0]['loop_cpu_s']:.0f}", *[f"{r['score']:.2f} ({r['elo']:+.0f})" for r in mine])
    Console().print(table)
    root_finals(folder, generations, games)
    return rows


def root_finals(folder: str | Path, generation: int, games: int = 40) -> dict[tuple[str, str], float]:
    """Generation `generation` of each ROOT_VARIANTS run in `folder` against each other's (PUCT 32 referee,
    colours alternating): the comparison the anchor to generation 0 cannot make once it saturates."""
    nets, referee = {}, None
    for name, changes in ROOT_VARIANTS.items():
        cfg = ZeroConfig(out=str(Path(folder) / "".join(name.split()[:2])), **{**ROOT_BASE, **changes})
        referee = referee or PlaySettings(**{**PlaySettings.match(cfg, NEVER_RESIGN).__dict__, "simulations": 32,
                                             "root": "puct"})
        nets[name] = load_net(str(checkpoint_path(Path(cfg.out), generation)), referee)
    scores = {}
    table = Table(title=f"7x7 root policies: generation {generation} head to head, {games} games, PUCT-32 referee")
    for header in ("first", "second", "first's score"):
        table.add_column(header)
    names = list(nets)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            result = run_match((nets[first], nets[second]), referee, tuple(range(games)), seed=321)
            scores[first, second] = sum(x.first_score for x in result.games) / games
            table.add_row(first, second, f"{scores[first, second]:.3f}")
    Console().print(table)
    return scores


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short timings")
    parser.add_argument("--workers", type=int, default=0, help="self-play processes (default: one per core)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the training measure")
    parser.add_argument("--ablation", action="store_true", help="run the 5x5 ablation instead of the speed test")
    parser.add_argument("--roots", metavar="FOLDER", help="run the 7x7 Gumbel-vs-PUCT curves into FOLDER")
    parser.add_argument("--generations", type=int, default=ROOT_BASE["generations"], help="--roots: generations per run")
    parser.add_argument("--games", type=int, default=16, help="--roots: rating games per generation")
    parser.add_argument("--finals", action="store_true",
                        help="--roots: only play the last generations of the runs in FOLDER against each other")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.ablation:
        ablation()
    elif args.roots and args.finals:
        root_finals(args.roots, args.generations, args.games)
    elif args.roots:
        root_curve(games=args.games, out=args.roots, generations=args.generations)
    else:
        run(args.quick, args.workers)
