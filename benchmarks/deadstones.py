"""Dead-stone estimators against GNU Go's `final_status_list dead` on finished games.

    python -m benchmarks.deadstones label runs/dead9_games/games runs/gnugo13_l1 --out runs/dead_labels.jsonl
    python -m benchmarks.deadstones train runs/dead_labels.jsonl --games-under runs/gnugo --out models/ownership_b4c32.pt
    python -m benchmarks.deadstones measure runs/dead_labels.jsonl --estimators rollout learned

`label` asks GNU Go (level 10, Chinese rules) for the dead stones of the final position of
every game that ended by two passes; it appends one JSON line per game and skips games
already labelled, so it resumes. `measure` runs each estimator of rlgo.arena.ownership on
the same positions and reports, per group of games (board size and players), how often the
dead-stone set differs from GNU Go's, the share of stones judged differently, and how often
the winner changes. `train` fits the learned estimator (rlgo.train.ownership) on the final
ownership of labelled games whose SGF path starts with --games-under (GNU Go's dead stones
removed) and saves it as an rlgo checkpoint.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from agents.random_agent import RandomAgent
from rlgo.arena.learned_ownership import DEFAULT_NET, learned_ownership
from rlgo.arena.ownership import ESTIMATORS, estimate_ownership
from rlgo.go import coords
from rlgo.go.deadstones import dead_stones
from rlgo.go.sgf import load_sgf, record_to_state
from rlgo.go.state import EMPTY, GameState
from rlgo.gtpclient import GTPClient, GTPClientError
from rlgo.nn.checkpoint import save_checkpoint
from rlgo.train.ownership import OwnershipConfig, game_samples, train_ownership

GNUGO = "/usr/games/gnugo --mode gtp --level 10 --chinese-rules"


def finished_games(folders: list[str]) -> list[Path]:
    """SGF files under `folders` whose game ended by two passes (not resignation or a cap)."""
    found = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.sgf")):
            record = load_sgf(path)
            passes = [p for _, p in record.moves[-2:]]
            if len(passes) == 2 and all(p == record.size ** 2 for p in passes):
                found.append(path)
    return found


def final_state(path: str | Path, moves: int | None = None) -> GameState:
    """The position of the game in `path` after `moves` moves (None: the final one)."""
    record = load_sgf(path)
    return record_to_state(record if moves is None else dataclasses.replace(record, moves=record.moves[:moves]))


def group_of(path: str | Path) -> str:
    """'9x9 gnugo:level=1 vs mcts:simulations=300' style label of a game: size and the two players."""
    record = load_sgf(path)

    def short(name: str) -> str:
        if "gnugo" in name and "--level" in name:
            return "gnugo:level=" + name.split("--level")[-1].split()[0]
        return name.split(",")[0]

    return f"{record.size}x{record.size} " + " vs ".join(sorted({short(record.black), short(record.white)}))


def label(folders: list[str], out: Path, limit: int = 0, cut: float = 1.0) -> None:
    """Append GNU Go's dead stones of every finished, not yet labelled game to `out` (JSON lines).

    `cut` < 1 labels instead the position after that share of the moves of every game of 20
    moves or more (however it ended): unsettled positions, where estimators disagree most.
    """
    done = {json.loads(line)["sgf"] for line in out.read_text().splitlines()} if out.exists() else set()
    games = finished_games(folders) if cut >= 1 else \
        [p for f in folders for p in sorted(Path(f).rglob("*.sgf")) if len(load_sgf(p).moves) >= 20]
    todo = [p for p in games if str(p) not in done]
    if limit:
        todo = todo[:limit]
    gnugo = GTPClient(GNUGO, timeout=60)
    with out.open("a") as sink:
        for path in todo:
            moves = None if cut >= 1 else round(cut * len(load_sgf(path).moves))
            state = final_state(path, moves)
            try:
                gnugo.send(f"boardsize {state.size}")
                gnugo.send(f"loadsgf {path.resolve()}" + ("" if moves is None else f" {moves + 1}"))
                dead = [coords.from_gtp(v, state.size) for v in gnugo.send("final_status_list dead").split()]
            except GTPClientError as exc:  # GNU Go gave up on this one (it was killed): skip the game
                print(f"{path}: no label ({exc})")
                gnugo = GTPClient(GNUGO, timeout=60)
                continue
            sink.write(json.dumps({"sgf": str(path), "size": state.size, "moves": moves,
                                   "dead": sorted(dead)}) + "\n")
            sink.flush()
    gnugo.close()
    print(f"{out}: {len(done) + len(todo)} labelled games")


def settled_games(size: int, count: int, seed: int) -> list[list[GameState]]:
    """`count` random games played to the end (nothing dead: Tromp-Taylor ownership is exact);
    each as its last positions, the final one last."""
    games = []
    for k in range(count):
        state, agent = GameState(size), RandomAgent(seed + k)
        states = [state.copy()]
        while not state.is_over and state.move_number < 4 * size * size:
            state.play(agent.select_move(state))
            states = states[-15:] + [state.copy()]
        games.append(states)
    return games


def train(labels: Path, prefixes: list[str], out: Path, cfg: OwnershipConfig, settled: int = 0) -> dict:
    """Fit the ownership net on the labelled games under `prefixes` (plus `settled` random games
    played out per size of those games); save it to `out`; return metrics."""
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    rows = [r for r in rows if any(r["sgf"].startswith(p) for p in prefixes)]
    by_size: dict[int, list] = defaultdict(list)
    for row in rows:
        record = load_sgf(row["sgf"])
        last = len(record.moves) if row.get("moves") is None else row["moves"]
        ends = range(max(0, last - cfg.last_positions + 1), last + 1)
        states = [record_to_state(dataclasses.replace(record, moves=record.moves[:end])) for end in ends]
        by_size[row["size"]].append(game_samples(states, row["dead"], cfg.feature_set))
    for size in list(by_size):
        for states in settled_games(size, settled, cfg.seed):
            by_size[size].append(game_samples(states[-cfg.last_positions:], [], cfg.feature_set))
    data = {size: (np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts]))
            for size, parts in by_size.items()}
    start = time.process_time()
    model, metrics = train_ownership(data, cfg)
    metrics.update(cpu_seconds=time.process_time() - start, games=len(rows),
                   **{f"games_{size}": len(parts) for size, parts in by_size.items()})
    save_checkpoint(out, model, cfg.steps, metrics)
    print(json.dumps(metrics))
    return metrics


def measure(labels: Path, estimators: list[str], seed: int = 0, net: Path = DEFAULT_NET,
            prefixes: tuple[str, ...] = ()) -> dict:
    """Per group and estimator: games, games with another dead set, stones judged otherwise, winner changes."""
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    rows = [r for r in rows if not prefixes or any(r["sgf"].startswith(p) for p in prefixes)]
    stats: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        state = final_state(row["sgf"], row.get("moves"))
        truth = set(row["dead"])
        stones = int((state.board() != EMPTY).sum())
        for name in estimators:
            start = time.perf_counter()
            own = learned_ownership(state, net) if name == "learned" else estimate_ownership(state, name, seed)
            ours = set(dead_stones(state, own))
            elapsed = time.perf_counter() - start
            for group in (group_of(row["sgf"]), "all"):
                s = stats[group, name]
                s["games"] += 1
                s["differ"] += ours != truth
                s["stones"] += stones
                s["wrong_stones"] += len(ours ^ truth)
                s["winner_changes"] += state.winner(sorted(ours)) != state.winner(sorted(truth))
                s["seconds"] += elapsed
    _print(stats, estimators)
    return {f"{g}|{e}": dict(s) for (g, e), s in stats.items()}


def _print(stats, estimators: list[str]) -> None:
    table = Table(title="dead stones vs GNU Go final_status_list dead (finished games)")
    for header in ("games", "estimator", "n", "dead set differs", "stones judged otherwise",
                   "winner changes", "ms/position"):
        table.add_column(header, justify="left" if header in ("games", "estimator") else "right")
    for group in sorted({g for g, _ in stats}, key=lambda g: (g == "all", g)):
        for name in estimators:
            s = stats[group, name]
            n = int(s["games"])
            table.add_row(group, name, str(n), f"{s['differ'] / n:.1%}",
                          f"{s['wrong_stones'] / max(s['stones'], 1):.2%}", f"{s['winner_changes'] / n:.1%}",
                          f"{1000 * s['seconds'] / n:.0f}")
    Console(width=200).print(table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    lab = sub.add_parser("label", help="GNU Go's dead stones of finished games")
    lab.add_argument("folders", nargs="+")
    lab.add_argument("--out", type=Path, required=True)
    lab.add_argument("--limit", type=int, default=0, help="label at most this many new games")
    lab.add_argument("--cut", type=float, default=1.0, help="label the position after this share of the moves")
    tra = sub.add_parser("train", help="fit the learned estimator on labelled games")
    tra.add_argument("labels", type=Path)
    tra.add_argument("--games-under", nargs="+", required=True, help="SGF path prefixes of the training games")
    tra.add_argument("--out", type=Path, required=True)
    tra.add_argument("--steps", type=int, default=OwnershipConfig.steps)
    tra.add_argument("--settled", type=int, default=0, help="random games played out per board size, added")
    mea = sub.add_parser("measure", help="estimators against the labels")
    mea.add_argument("labels", type=Path)
    mea.add_argument("--estimators", nargs="+", default=list(ESTIMATORS), choices=ESTIMATORS)
    mea.add_argument("--seed", type=int, default=0)
    mea.add_argument("--net", type=Path, default=DEFAULT_NET, help="ownership network of 'learned'")
    mea.add_argument("--games-under", nargs="*", default=(), help="only the games under these SGF path prefixes")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.action == "label":
        label(args.folders, args.out, args.limit, args.cut)
    elif args.action == "train":
        train(args.labels, args.games_under, args.out, OwnershipConfig(steps=args.steps), args.settled)
    else:
        measure(args.labels, args.estimators, args.seed, args.net, tuple(args.games_under))
