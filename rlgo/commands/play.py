"""`rlgo play`: a game against an agent in the terminal."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from rlgo.commands import add_options, board_size, positive_float, rules_from_args
from rlgo.commands.options import DataclassOptions
from rlgo.play.config import GameConfig

HINT_AGENT = "mcts:simulations=400"
"""Searches hints when the opponent gives no analysis of its own."""

EPILOG = """\
examples:
  rlgo play                                  9x9 against the default agent (1.5 s per move), you are Black
  rlgo play --color white --time 3           you take White, the agent thinks 3 s per move
  rlgo play --size 19 --handicap 4           19x19 with four handicap stones for you (komi 0.5)
  rlgo play --agent gtp:"/usr/games/gnugo --mode gtp --level 5"
  rlgo play --agent random --no-color        a quick game in a dumb terminal

At the prompt: a move (D4, d4), pass, resign, undo, hint, score, save FILE.sgf, load FILE.sgf, help, quit.
"""


def handicap_count(text: str) -> int:
    """argparse type: 0 (no handicap) or 2..9 stones."""
    value = int(text) if text.isdigit() else -1
    if value not in (0, *range(2, 10)):
        raise argparse.ArgumentTypeError(f"expected 0 or 2..9 stones, got {text!r}")
    return value


OPTIONS = DataclassOptions(GameConfig, exclude=("rules", "seed"),
                           types={"size": board_size, "handicap": handicap_count, "move_time": positive_float},
                           flags={"move_time": ("--time",)}, metavars={"move_time": "SECONDS"})
"""The options of rlgo.play.config.GameConfig; the rules come from --rules, --komi and --ko."""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "play", help="play a game against an agent in the terminal",
        description="Play Go against an agent in the terminal.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    OPTIONS.add_to(parser)
    add_options(parser, "agent", "komi", "rules", "ko", "seed")
    parser.add_argument("--sgf-dir", type=Path, default=None, metavar="DIR",
                        help="where finished games are saved (default: ~/.rlgo/games, else ./games)")
    parser.add_argument("--no-color", action="store_true",
                        help="plain ASCII board (automatic when stdout is not a terminal or TERM=dumb)")


def run(args) -> int:
    # imported here so that `rlgo play --help` does not wait for Numba
    from agents.specs import make_agent
    from rlgo.go.handicap import fixed_handicap_points
    from rlgo.play.session import Game
    from rlgo.play.terminal import (
        Terminal,
        TerminalConfig,
        default_sgf_dir,
        should_be_plain,
    )
    from rlgo.seeds import fresh_seed

    rules = rules_from_args(args)
    seed = fresh_seed() if args.seed is None else args.seed
    config = OPTIONS.config(args, seed=seed)
    if config.handicap:
        fixed_handicap_points(config.size, config.handicap)  # HandicapError when the board size does not allow it
        if args.komi is None:
            rules = rules.with_komi(0.5)
    config = dataclasses.replace(config, rules=rules)

    def opponent(size, rules):
        return make_agent(args.agent, size, rules, seed=seed)

    def hinter(size, rules):
        return make_agent(HINT_AGENT, size, rules, seed=seed)

    game = Game(config, opponent, hinter)
    try:
        terminal = Terminal(game, TerminalConfig(plain=should_be_plain(args.no_color, sys.stdout.isatty()),
                                                 sgf_dir=args.sgf_dir or default_sgf_dir(),
                                                 seed=seed))
        return terminal.run()
    finally:
        game.close()
