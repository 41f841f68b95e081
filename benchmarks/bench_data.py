"""Supervised-learning data and rollout-policy speed, and the rollout policy's worth inside MCTS.

    python -m benchmarks.bench_data                      reader batches/s vs SL train step, rollout us/move
    python -m benchmarks.bench_data --quick
    python -m benchmarks.bench_data mcts --games 20 --seconds 0.5 --rollout models/rollout9.npz
    python -m benchmarks.bench_data mcts --games 20 --simulations 400      equal simulations instead of equal time
    python -m benchmarks.bench_data outcome --sgf runs/sl/gnugo9_sgf --games 60   rollouts as outcome predictors

Times are CPU time (`time.process_time`) of this process, best of several rounds, so other
jobs on a shared machine inflate them less than wall-clock figures.
"""
from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from rlgo.go.patterns import canonical_codes
from rlgo.go.rollout import run_rollout, seed as seed_rollouts
from rlgo.go.state import GameState
from rlgo.renames import add_renamed_flags
from rlgo.search.rollout_policy import PatternRolloutPolicy, num_weights, policy_rollout
from rlgo.train.data.build import BuildConfig, build_dataset
from rlgo.train.data.reader import ShardReader
from rlgo.nn.model import NetConfig, build_model

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "gnugo9"
ROLLOUT_WEIGHTS = ROOT / "models" / "rollout9.npz"
BATCH = 256


def _best(call, rounds: int) -> float:
    """Smallest CPU seconds of `call()` over `rounds` runs (after one warm-up)."""
    call()
    best = math.inf
    for _ in range(rounds):
        t0 = time.process_time()
        call()
        best = min(best, time.process_time() - t0)
    return best


def reader_batches_per_second(folder: Path, feature_set: str = "agz", rounds: int = 3) -> float:
    """Batches of BATCH positions per CPU second: shard load, board rebuild, planes, random symmetry."""
    reader = ShardReader(folder, "train", feature_set)
    count = sum(1 for _ in reader.batches(BATCH, np.random.default_rng(0)))
    return count / _best(lambda: sum(1 for _ in reader.batches(BATCH, np.random.default_rng(0))), rounds)


def train_step_seconds(blocks: int = 6, width: int = 64, rounds: int = 3) -> float:
    """CPU seconds of one SL step (forward, backward, SGD) of a blocks x width ResNet on BATCH 9x9 positions."""
    model = build_model(NetConfig(blocks=blocks, width=width).for_data(9, ("policy", "value")))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(BATCH, 17, 9, 9)
    y = torch.randint(0, 82, (BATCH,))

    def step():
        loss = torch.nn.functional.cross_entropy(model(x)["policy"], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return _best(step, rounds)


def rollout_microseconds(policy: PatternRolloutPolicy, rollouts: int) -> dict[str, float]:
    """CPU microseconds per rollout move on an empty 9x9 board: trained policy vs uniform random."""
    state = GameState(9)
    tables = policy.tables()
    none = np.zeros(0, np.int8)
    seed_rollouts(1)
    out = {}
    for name, play in (("policy", lambda b, m: policy_rollout(b, m, state.zob, 243, tables, none)),
                       ("uniform", lambda b, m: run_rollout(b, m, state.zob, 243))):
        moves = [0]

        def batch():
            moves[0] = 0
            for _ in range(rollouts):
                moves[0] += play(state.b.copy(), state.m.copy())
        seconds = _best(batch, 3)
        out[name] = seconds / moves[0] * 1e6
        out[f"{name}_moves_per_rollout"] = moves[0] / rollouts
    return out


def load_rollout_policy(path: Path = ROLLOUT_WEIGHTS, **kwargs) -> PatternRolloutPolicy:
    """The committed rollout weights, or random ones (same speed) when there are none."""
    if path.exists():
        return PatternRolloutPolicy.load(path, **kwargs)
    classes = canonical_codes()[1]
    return PatternRolloutPolicy(np.random.default_rng(0).normal(0, 1, num_weights(classes)).astype(np.float32), **kwargs)


def run(quick: bool = False) -> dict:
    """Reader throughput against the SL step it must feed, and rollout speed; prints a table."""
    with tempfile.TemporaryDirectory() as tmp:
        build_dataset(FIXTURES, tmp, BuildConfig(size=9, val_fraction=0.0, shard_size=100_000))
        rate = reader_batches_per_second(Path(tmp), rounds=1 if quick else 3)
    step = train_step_seconds(rounds=1 if quick else 3)
    speed = rollout_microseconds(load_rollout_policy(), rollouts=50 if quick else 400)
    result = {"reader_batches_per_s": rate, "sl_step_s": step, "data_share_of_step": 1 / rate / step, **speed}
    table = Table(title=f"SL data and rollout speed (batch {BATCH}, 9x9, CPU time)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("reader: batches/s (agz, symmetries)", f"{rate:.1f}")
    table.add_row("SL step 6x64 ResNet: s", f"{step:.3f}")
    table.add_row("data time / step time", f"{result['data_share_of_step']:.1%}")
    table.add_row("rollout policy: us/move", f"{speed['policy']:.2f}")
    table.add_row("uniform random: us/move", f"{speed['uniform']:.2f}")
    Console().print(table)
    return result


def mcts_match(rollout: Path, games: int, seconds: float | None, seed: int = 0, opponent: str = "uniform",
               simulations: int | None = None) -> dict:
    """MCTS with the trained rollout policy vs MCTS with `opponent` rollouts, 9x9, both with the same
    seconds per move (simulations None) or the same simulations per move (seconds None).

    Colours alternate; returns wins (jigo = 1/2), win rate and its 95% Wilson interval.
    """
    from agents.mcts_agent import MCTSAgent
    from benchmarks.mcts_strength import ROLLOUTS
    from rlgo.arena.game import GameConfig, play_game
    from rlgo.go.rules import Rules
    from rlgo.go.state import BLACK, WHITE
    from rlgo.search.evaluator import RolloutEvaluator
    from rlgo.search.mcts import UNLIMITED
    from rlgo.stats.intervals import wilson
    for rollout_policy in (load_rollout_policy(rollout), ROLLOUTS[opponent]()):  # compile before the clock runs
        MCTSAgent(evaluator=RolloutEvaluator(rollout_policy), simulations=64).select_move(GameState(9))
    wins = 0.0
    budget = dict(seconds_per_move=seconds, simulations=simulations or UNLIMITED)
    for game in range(games):
        ours = MCTSAgent(evaluator=RolloutEvaluator(load_rollout_policy(rollout, seed=seed + game)),
                         seed=seed + game, **budget)
        theirs = MCTSAgent(evaluator=RolloutEvaluator(ROLLOUTS[opponent](seed=seed + 1000 + game)),
                           seed=seed + 1000 + game, **budget)
        color = BLACK if game % 2 == 0 else WHITE
        black, white = (ours, theirs) if color == BLACK else (theirs, ours)
        result = play_game(black, white, GameConfig(size=9, rules=Rules(), seed=seed + game))
        wins += 1.0 if result.winner == color else 0.0 if result.winner in (BLACK, WHITE) else 0.5
        print(f"game {game + 1}: policy rollouts as {'BW'[color - 1]}: {result.result} ({result.reason}, "
              f"{result.moves} moves); {wins:g}/{game + 1}", flush=True)
    low, high = wilson(wins, games)
    return {"games": games, "wins": wins, "winrate": wins / games, "ci95": (low, high), "seconds": seconds,
            "simulations": simulations, "opponent": opponent}


def outcome_agreement(sgf_dir: Path, games: int, rollouts: int = 64, cuts=(10, 20, 30),
                      rollout: Path = ROLLOUT_WEIGHTS) -> dict[tuple[str, int], float]:
    """How often the sign of the mean rollout value after `cut` moves of a recorded game matches its result.

    For the trained policy and uniform rollouts, `rollouts` rollouts per position; a measure
    of the rollouts as evaluators, independent of any search.
    """
    import dataclasses

    from rlgo.go.rules import Rules
    from rlgo.go.sgf import load_sgf, record_to_state
    from rlgo.search.rollout import UniformRolloutPolicy
    policies = {"policy": load_rollout_policy(rollout, seed=1, rollouts=rollouts),
                "uniform": UniformRolloutPolicy(seed=1, rollouts=rollouts)}
    hits: dict[tuple[str, int], list[bool]] = {(name, cut): [] for name in policies for cut in cuts}
    for path in sorted(sgf_dir.glob("*.sgf"))[:games]:
        record = load_sgf(path)
        winner = record.winner()
        if winner not in (1, 2):
            continue
        for cut in cuts:
            if len(record.moves) <= cut + 5:
                continue
            start = dataclasses.replace(record, moves=record.moves[:cut], move_where=[])
            state = record_to_state(start, Rules(ko="simple", komi=record.komi))
            for name, policy in policies.items():
                value = policy.rollout_values(state.b[None], state.m[None], state.zob, record.komi)[0]
                black_wins = (value if state.to_play == 1 else -value) > 0
                hits[(name, cut)].append(black_wins == (winner == 1))
    return {key: float(np.mean(v)) for key, v in hits.items() if v}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", choices=("speed", "mcts", "outcome"), default="speed")
    parser.add_argument("--sgf", type=Path, default=FIXTURES, help="games for `outcome` (default: the test fixtures)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--games", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=0.5, help="seconds per move in the MCTS match")
    parser.add_argument("--simulations", type=int, default=None,
                        help="equal simulations per move instead of equal time (then --seconds is ignored)")
    parser.add_argument("--opponent", choices=("uniform", "heuristic"), default="uniform")
    parser.add_argument("--rollout", type=Path, default=ROLLOUT_WEIGHTS)
    parser.add_argument("--seed", type=int, default=0)
    add_renamed_flags(parser)
    args = parser.parse_args()
    if args.what == "speed":
        run(args.quick)
    elif args.what == "outcome":
        for (name, cut), share in outcome_agreement(args.sgf, args.games).items():
            print(f"{name:8s} after {cut:2d} moves: rollout sign = game result in {share:.1%}")
    else:
        seconds = None if args.simulations else args.seconds
        print(mcts_match(args.rollout, args.games, seconds, args.seed, args.opponent, args.simulations))


if __name__ == "__main__":
    main()
