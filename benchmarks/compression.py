"""Compressed networks side by side: size, positions/s per backend, batch and threads, agreement, accuracy.

    python -m benchmarks.compression --original models/sl9_b6c64.pt --data runs/compress/heldout \\
        --variant int8=runs/compress/int8.pt --variant c50=runs/compress/c50.pt --json runs/compress/bench.json

Every checkpoint runs on each backend that can run it (fp32: torch, bf16, onnxruntime; int8:
onnxruntime). Speeds are measured round-robin (every net in turn, `--rounds` times, the median
kept), so load from other processes falls on all of them alike and the ratios stay fair.
Accuracy is on the validation split of `--data`: top-1 agreement with the original's move,
top-1 against the expert's move and its paired difference to the original's (with the standard
error of that difference over the positions), value MSE against the game results.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from rlgo.nn.backend import onnxruntime_available
from rlgo.nn.checkpoint import load_checkpoint
from rlgo.nn.model import count_params
from rlgo.renames import add_renamed_flags
from rlgo.arena.report import repeated_games
from rlgo.stats.intervals import wilson
from rlgo.train.data.reader import ShardReader

BATCHES = (1, 8, 64)
THREADS = (1, 2)


def _backends(meta) -> tuple[str, ...]:
    if meta.compression.get("method") == "int8":
        return ("onnxruntime",)
    return ("torch", "bf16") + (("onnxruntime",) if onnxruntime_available() else ())


def _rate(net, planes: np.ndarray, seconds: float) -> float:
    x = torch.from_numpy(planes)
    with torch.inference_mode():
        net(x)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            net(x)
            n += 1
    return n * len(planes) / (time.perf_counter() - start)


def _quality(net, reference: dict, batch) -> dict[str, float]:
    with torch.inference_mode():
        out = net(torch.from_numpy(batch.planes))
    moves = out["policy"].float().argmax(1).numpy()
    gain = (moves == batch.moves).astype(np.float64) - (reference["moves"] == batch.moves)
    return {"top1_agreement": float((moves == reference["moves"]).mean()),
            "top1_expert": float((moves == batch.moves).mean()),
            "top1_expert_gain": float(gain.mean()), "top1_expert_gain_se": float(gain.std() / np.sqrt(len(gain))),
            "value_mse": float(((out["value"].float().numpy() - batch.outcomes) ** 2).mean())}


def measure(original: str, variants: dict[str, str], data: str, seconds: float = 1.0, rounds: int = 3,
            batches=BATCHES, threads=THREADS) -> list[dict]:
    """One row per (checkpoint, backend): size, accuracy and {f"t{threads}_b{batch}": positions/s}."""
    checkpoints = {"original": original, **variants}
    torch.set_num_threads(1)
    base, base_meta = load_checkpoint(original)
    val = next(ShardReader(data, "val", base_meta.feature_set).batches(1_000_000))
    planes = np.repeat(val.planes, 1 + max(batches) // len(val.planes), axis=0)
    with torch.inference_mode():
        reference = {"moves": base(torch.from_numpy(val.planes))["policy"].argmax(1).numpy()}
    rows, nets = [], {}
    for name, path in checkpoints.items():
        meta = load_checkpoint(path, backend="auto")[1]
        for backend in _backends(meta):
            rows.append({"name": name, "backend": backend, "path": str(path), "bytes": Path(path).stat().st_size,
                         "params": meta.compression.get("params") or count_params(load_checkpoint(path)[0]),
                         "compression": meta.compression.get("method", "none")})
            for t in threads:
                torch.set_num_threads(t)  # an OnnxNet session takes torch's thread count when built
                nets[(len(rows) - 1, t)] = load_checkpoint(path, backend=backend)[0]
            torch.set_num_threads(1)
            rows[-1].update(_quality(nets[(len(rows) - 1, threads[0])], reference, val))
    for t in threads:
        torch.set_num_threads(t)
        for b in batches:
            samples = {i: [] for i in range(len(rows))}
            for _ in range(rounds):
                for i in range(len(rows)):
                    samples[i].append(_rate(nets[(i, t)], planes[:b], seconds / rounds))
            for i in range(len(rows)):
                rows[i][f"t{t}_b{b}"] = float(np.median(samples[i]))
    torch.set_num_threads(1)
    return rows


def table(rows: list[dict], batches=BATCHES, threads=THREADS) -> str:
    """Markdown table of `measure` rows with speed ratios to the original on torch."""
    base = next(r for r in rows if r["name"] == "original" and r["backend"] == "torch")
    speeds = [f"t{t}_b{b}" for t in threads for b in batches]
    head = ("| net | backend | params | bytes | " + " | ".join(f"{t} thr b{b} pos/s (x)" for t in threads for b in batches)
            + " | top-1 agree | top-1 expert | vs original (se), points | value MSE |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        cells = [f"{r[k]:,.0f} ({r[k] / base[k]:.2f})" for k in speeds]
        lines.append(f"| {r['name']} | {r['backend']} | {r['params']:,} | {r['bytes']:,} | " + " | ".join(cells)
                     + f" | {r['top1_agreement']:.3f} | {r['top1_expert']:.3f} | {100 * r['top1_expert_gain']:+.2f} "
                     f"({100 * r['top1_expert_gain_se']:.2f}) | {r['value_mse']:.3f} |")
    return "\n".join(lines)


def simulations_per_move(specs: dict[str, str], seconds: float, moves: int = 12) -> dict[str, float]:
    """Median search simulations per move of each agent spec at `seconds` per move, over the same positions.

    The positions are the first `moves` of a game that the first spec plays against itself;
    every agent searches each position in turn, so load falls on all alike.
    """
    from agents.specs import make_agent
    from rlgo.go.state import GameState

    agents = {name: make_agent(f"{spec},time={seconds}", size=9) for name, spec in specs.items()}
    counts: dict[str, list[int]] = {name: [] for name in agents}
    state = GameState(9)
    for _ in range(moves):
        chosen = None
        for name, agent in agents.items():
            move = agent.select_move(state)
            counts[name].append(sum(info.visits for info in agent.analysis()))
            chosen = move if chosen is None else chosen
        if chosen < 0 or state.is_over:
            break
        state.play(chosen)
    return {name: float(np.median(c)) for name, c in counts.items()}


def match_summary(folder: Path) -> str:
    """One line per `rlgo tournament --mode gauntlet` folder: the first agent's score with its Wilson 95% interval."""
    rows = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines() if line.strip()]
    first = rows[0]["pair"][0]
    points = sum(1.0 if r["winner"] == ("B" if r["black"] == first else "W") else 0.5 if r["winner"] not in "BW"
                 else 0.0 for r in rows)
    black_wins = sum(r["winner"] == "B" for r in rows)
    low, high = wilson(points, len(rows))
    return (f"{folder}: {first} scores {points:g}/{len(rows)} = {points / len(rows):.1%} "
            f"(95% {low:.1%}..{high:.1%}); Black won {black_wins}; repeated games {repeated_games(rows, folder)}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--matches", nargs="+", type=Path, metavar="DIR", help="only summarise these tournament folders")
    p.add_argument("--original")
    p.add_argument("--variant", action="append", default=[], metavar="NAME=CKPT")
    p.add_argument("--data", help="dataset folder; its validation split is held out")
    p.add_argument("--seconds", type=float, default=1.5, help="timing per net and setting")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", type=Path)
    p.add_argument("--simulations", nargs="+", metavar="NAME=SPEC",
                   help="only measure search simulations per move of these agent specs (with --time)")
    p.add_argument("--time", type=float, default=0.35, help="seconds per move for --simulations (the agent's time=)")
    add_renamed_flags(p)
    args = p.parse_args(argv)
    if args.matches:
        print("\n".join(match_summary(folder) for folder in args.matches))
        return 0
    if args.simulations:
        torch.set_num_threads(1)
        specs = dict(v.split("=", 1) for v in args.simulations)
        for name, count in simulations_per_move(specs, args.time).items():
            print(f"{name}: median {count:g} simulations per move at time={args.time}")
        return 0
    if not (args.original and args.data):
        p.error("--original and --data are needed (or --matches)")
    variants = dict(v.split("=", 1) for v in args.variant)
    rows = measure(args.original, variants, args.data, args.seconds, args.rounds)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
