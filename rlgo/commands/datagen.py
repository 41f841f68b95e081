"""`rlgo datagen`: games of a GTP engine against itself as SGF files (teacher data for `train sl`)."""
from __future__ import annotations

import argparse

from rlgo.commands import add_options, board_size, komi_value, positive_int
from rlgo.commands.options import DataclassOptions
from rlgo.seeds import fresh_seed
from rlgo.train.common import progress_bar
from rlgo.train.data.engine_games import DatagenConfig, generate, pending_games

EPILOG = """\
example:
  rlgo datagen --engine "/usr/games/gnugo --mode gtp --level 10" --games 500 --out data/gnugo9 \\
      --workers 2 --random-opening 2 --seed 1

Games are written as DIR/game-000123.sgf (atomically); rerunning the same command plays only
the missing ones. The random opening moves are stored as setup stones, not as moves. Each
record's comment names its game index and seed (fresh entropy unless --seed is given).
"""


OPTIONS = DataclassOptions(DatagenConfig, exclude=("seed",),
                           types={"games": positive_int, "size": board_size, "komi": komi_value},
                           metavars={"engine": "CMD", "random_opening": "K"})
"""The options of DatagenConfig; --seed (default: fresh entropy), --out and --workers are the command's own."""


def register(subparsers) -> None:
    p = subparsers.add_parser("datagen", help="generate SGF games with a GTP engine (e.g. GNU Go)",
                              description="Play a GTP engine against itself and save one SGF per game.",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    OPTIONS.add_to(p)
    add_options(p, "seed")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder of SGF files")
    p.add_argument("--workers", type=positive_int, default=1, help="engine processes (default: %(default)s)")


def run(args) -> int:
    cfg = OPTIONS.config(args, seed=fresh_seed() if args.seed is None else args.seed)
    todo = len(pending_games(args.out, cfg.games))
    with progress_bar() as bar:
        task = bar.add_task("datagen", total=cfg.games, completed=cfg.games - todo, info="")
        generate(cfg, args.out, args.workers,
                 on_game=lambda i, result: bar.update(task, advance=1, info=f"game {i}: {result}"))
    print(f"{cfg.games} games in {args.out} ({todo} new)")
    return 0
