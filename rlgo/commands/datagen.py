"""`rlgo datagen`: games of a GTP engine against itself as SGF files (teacher data for `train sl`)."""
from __future__ import annotations

import argparse

from rlgo.commands import add_options, positive_int
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


def register(subparsers) -> None:
    p = subparsers.add_parser("datagen", help="generate SGF games with a GTP engine (e.g. GNU Go)",
                              description="Play a GTP engine against itself and save one SGF per game.",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--engine", default="/usr/games/gnugo --mode gtp --level 10", metavar="CMD",
                   help="engine command line (default: %(default)s)")
    p.add_argument("--games", type=positive_int, required=True, help="number of games wanted in --out")
    add_options(p, "size", "seed")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder of SGF files")
    p.add_argument("--komi", type=float, default=7.5, help="komi (default: %(default)s)")
    p.add_argument("--workers", type=positive_int, default=1, help="engine processes (default: %(default)s)")
    p.add_argument("--random-opening", type=int, default=0, metavar="K",
                   help="uniform random legal moves before the engine plays (default: %(default)s)")
    p.add_argument("--move-cap", type=int, default=0, help="move cap per game (default: 3*N*N)")


def run(args) -> int:
    cfg = DatagenConfig(engine=args.engine, games=args.games, size=args.size, komi=args.komi,
                        random_opening=args.random_opening,
                        seed=fresh_seed() if args.seed is None else args.seed, move_cap=args.move_cap)
    todo = len(pending_games(args.out, cfg.games))
    with progress_bar() as bar:
        task = bar.add_task("datagen", total=cfg.games, completed=cfg.games - todo, info="")
        generate(cfg, args.out, args.workers,
                 on_game=lambda i, result: bar.update(task, advance=1, info=f"game {i}: {result}"))
    print(f"{cfg.games} games in {args.out} ({todo} new)")
    return 0
