"""MCTSAgent strength: a match against RandomAgent and a short one against GNU Go, with Wilson intervals.

    python -m benchmarks.mcts_strength --opponent random --games 20 --simulations 1000
    python -m benchmarks.mcts_strength --opponent gnugo:level=1 --games 10 --simulations 20000
"""
from __future__ import annotations

import argparse
import time

from agents.mcts_agent import ROLLOUT_CONFIG, MCTSAgent
from agents.specs import make_agent
from rlgo.arena.game import GameConfig, play_game
from rlgo.go.rules import Rules
from rlgo.go.state import BLACK, WHITE
from rlgo.renames import add_renamed_flags
from rlgo.search.evaluator import RolloutEvaluator
from rlgo.search.rollout import HeuristicRolloutPolicy, UniformRolloutPolicy
from rlgo.stats.intervals import wilson


ROLLOUTS = {"uniform": UniformRolloutPolicy, "heuristic": HeuristicRolloutPolicy}


def match(opponent: str, games: int, simulations: int, size: int = 9, seconds: float | None = None,
          seed: int = 0, rollout: str = "heuristic", verbose: bool = True, **overrides) -> dict:
    """MCTSAgent (alternating colours, Black first) against the `opponent` spec; returns a summary."""
    rules = Rules()
    wins = 0.0
    start = time.perf_counter()
    for game in range(games):
        evaluator = RolloutEvaluator(ROLLOUTS[rollout](seed=seed + game))
        ours = MCTSAgent(evaluator=evaluator, seconds_per_move=seconds, simulations=simulations, seed=seed + game,
                         **overrides)
        theirs = make_agent(opponent, size, rules, seed=seed + 1000 + game)
        color = BLACK if game % 2 == 0 else WHITE
        black, white = (ours, theirs) if color == BLACK else (theirs, ours)
        try:
            result = play_game(black, white, GameConfig(size=size, rules=rules, seed=seed + game))
        finally:
            theirs.close()
        wins += 1.0 if result.winner == color else 0.5 if result.winner not in (BLACK, WHITE) else 0.0
        if verbose:
            side = "B" if color == BLACK else "W"
            print(f"game {game + 1}: mcts as {side}: {result.result} ({result.reason}, {result.moves} moves, "
                  f"{result.seconds[color - 1]:.1f} s thinking)", flush=True)
    low, high = wilson(wins, games)
    return {"opponent": opponent, "games": games, "simulations": simulations, "wins": wins,
            "winrate": wins / games, "ci95": (low, high), "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--opponent", default="random", help="agent spec (default: random)")
    parser.add_argument("--games", type=int, default=20)
    parser.add_argument("--simulations", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=None, help="time per move on top of simulations")
    parser.add_argument("--size", type=int, default=9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rollout", choices=sorted(ROLLOUTS), default="heuristic", help="our rollout policy")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="SearchConfig override for our agent, e.g. --set c_uct=0.5 (repeatable)")
    add_renamed_flags(parser)
    args = parser.parse_args()
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = type(getattr(ROLLOUT_CONFIG, key))(value) if value not in ("True", "False") else value == "True"
    summary = match(args.opponent, args.games, args.simulations, args.size, args.seconds, args.seed, args.rollout,
                    **overrides)
    low, high = summary["ci95"]
    print(f"mcts ({args.rollout} rollouts, {args.simulations} simulations, {overrides}) vs {args.opponent}: {summary['wins']:g}/{args.games} "
          f"= {summary['winrate']:.1%} (95% CI {low:.1%}..{high:.1%}), {summary['seconds']:.0f} s")


if __name__ == "__main__":
    main()
