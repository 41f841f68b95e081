"""`rlgo tournament`: play agents against each other, log every game, fit Elo ratings."""
from __future__ import annotations

import argparse
import dataclasses

from rlgo.arena.tournament import TournamentConfig
from rlgo.commands import CommandError, add_options, board_size, positive_float, positive_int, rules_from_args
from rlgo.commands.options import DataclassOptions

EPILOG = """\
examples:
  rlgo tournament --agents random mcts:simulations=200 gnugo:level=1 --games-per-pair 10 --out runs/t1
  rlgo tournament --agents zero:ckpt=models/zero7_b4c32.pt,simulations=100 mcts:simulations=400 gnugo:level=1 \\
      --mode gauntlet --size 7 --komi 9 --parallel 2 --out runs/g
  rlgo tournament --agents random gnugo:level=1 --anchor gnugo:level=1=0 --time 5 --out runs/t2
  rlgo tournament --report --out runs/t1          tables of an existing tournament, playing nothing

Agent specs: random[:seed=N], mcts:simulations=N|time=S, policy:ckpt=PATH, zero:ckpt=PATH,simulations=N,
gnugo[:level=N], gtp:"COMMAND". Colours alternate within each pair. Rerunning the same command
resumes: games already in OUT/results.jsonl are never played again. Forfeits (crash, timeout,
illegal move) lose the game and are listed after the tables.
"""


def anchor_value(text: str) -> tuple[str, float]:
    """argparse type: SPEC=ELO (the last '=' separates the rating)."""
    spec, sep, value = text.rpartition("=")
    try:
        elo = float(value)
    except ValueError:
        elo = None
    if not sep or not spec or elo is None:
        raise argparse.ArgumentTypeError(f"expected SPEC=ELO such as random=0, got {text!r}")
    return spec, elo


OPTIONS = DataclassOptions(
    TournamentConfig, exclude=("rules", "game.seed"),
    types={"games_per_pair": positive_int, "parallel": positive_int, "size": board_size, "move_cap": positive_int,
           "time_per_move": positive_float},
    flags={"time_per_move": ("--time",)},
    metavars={"agents": "SPEC", "parallel": "P", "time_per_move": "SECONDS", "play_out": "SPEC",
              "dead_stones": "ESTIMATOR", "out": "PATH"})
"""The options of TournamentConfig and its GameConfig; the rules come from --rules, --komi and --ko."""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "tournament", help="rate agents: round-robin or gauntlet, Elo with 95%% intervals",
        description="Play a tournament between agent specs and fit maximum-likelihood Elo ratings.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    OPTIONS.add_to(parser)
    add_options(parser, "komi", "rules", "ko")
    parser.add_argument("--anchor", type=anchor_value, default=None, metavar="SPEC=ELO",
                        help="fix one agent's rating (default: the first agent at 0)")
    parser.add_argument("--report", action="store_true", help="only print the tables of the games in --out")


def run(args) -> int:
    from rich.console import Console

    from agents.specs import make_agent, parse_spec
    from rlgo.stats.results import load_results
    from rlgo.arena.tournament import played_games, run_tournament

    if args.out is None:
        raise CommandError("--out DIR is required (results.jsonl, games/*.sgf and ratings go there)")
    console = Console(stderr=False)
    if args.report:
        records = list(load_results(args.out).values())
        if not records:
            raise CommandError(f"no finished games in {args.out}")
        _print_tables(console, records, args.agents or (), args.anchor, args.out)
        return 0
    if not args.agents or len(args.agents) < 2:
        raise CommandError("--agents needs at least two specs")
    for spec in args.agents:
        parse_spec(spec)  # unknown names or keys fail now, not inside a worker
    if args.anchor is not None and args.anchor[0] not in args.agents:
        raise CommandError(f"--anchor {args.anchor[0]!r} is not one of --agents")
    if args.play_out:
        parse_spec(args.play_out)
    rules = rules_from_args(args)
    try:
        config = OPTIONS.config(args)
        config = dataclasses.replace(config, game=dataclasses.replace(config.game, rules=rules))
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    played, total = played_games(config)
    if played:
        console.print(f"{played} of {total} games already played, playing the remaining {total - played}")
    records = _play(console, config, make_agent, run_tournament)
    _print_tables(console, records, args.agents, args.anchor, args.out)
    return 0


def _play(console, config, factory, run_tournament) -> list[dict]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from rlgo.arena.report import game_line

    with Progress(TextColumn("games"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        bar = progress.add_task("games", total=None)

        def on_result(record: dict, finished: int, total: int) -> None:
            progress.update(bar, completed=finished, total=total)
            progress.console.print(game_line(record, finished, total))

        try:
            return run_tournament(config, factory, on_result)
        except KeyboardInterrupt:
            console.print(f"interrupted: finished games are kept in {config.out}; rerun the same command to resume")
            raise


def _print_tables(console, records, agents, anchor, out) -> None:
    from rlgo.arena.report import crosstable, forfeits, rating_table, ratings_of, repeated_games, save_ratings

    name, elo = anchor if anchor is not None else (None, 0.0)
    ratings = ratings_of(records, agents, anchor=name, anchor_elo=elo)
    console.print(rating_table(ratings))
    console.print(crosstable(records, ratings))
    for (loser, reason), count in sorted(forfeits(records).items()):
        console.print(f"forfeits: {loser}: {count} x {reason}")
    repeats = repeated_games(records, out)
    if repeats:
        console.print(f"repeated games: {repeats} of {len(records)} repeat an earlier game move for move "
                      "(deterministic agents; temperature_moves= varies the openings)")
    save_ratings(out, ratings, records)
    console.print(f"results: {out}/results.jsonl ({len(records)} games, SGFs in {out}/games/), "
                  f"ratings: {out}/ratings.json and {out}/ratings.md")
