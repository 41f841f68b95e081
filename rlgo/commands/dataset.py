"""`rlgo dataset build`: SGF folders / archives -> training shards (see rlgo.train.data)."""
from __future__ import annotations

import argparse

from rlgo.commands import board_size, positive_int
from rlgo.commands.options import DataclassOptions
from rlgo.train.common import progress_bar
from rlgo.train.data.build import SKIP_REASONS, BuildConfig, build_dataset
from rlgo.train.data.sources import list_inputs

EPILOG = """\
example:
  rlgo dataset build data/gnugo9 data/gnugo9-shards --size 9 --min-moves 20 --no-handicap

Ctrl-C keeps every complete shard; rerunning the same command continues after the last one.
"""


OPTIONS = DataclassOptions(BuildConfig, types={"size": board_size, "shard_size": positive_int},
                           metavars={"min_rank": "RANK"})


def register(subparsers) -> None:
    p = subparsers.add_parser("dataset", help="build training datasets from SGF records",
                              description="Build training datasets from SGF records.")
    sub = p.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="SGF folder/archive -> shards", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Filter, replay, dedupe and split SGF games into npz shards.")
    b.add_argument("inputs", metavar="SGF_DIR_OR_ARCHIVE", help="folder, .sgf file or .zip/.tar.gz archive")
    b.add_argument("out", metavar="OUT", help="dataset folder (created; resumed when it exists)")
    OPTIONS.add_to(b)


def run(args) -> int:
    cfg = OPTIONS.config(args)
    inputs = list_inputs(args.inputs)
    plain = all(p.suffix.lower() == ".sgf" for p in inputs)
    with progress_bar() as bar:
        task = bar.add_task("dataset", total=len(inputs) if plain else None, info="")
        manifest = build_dataset(args.inputs, args.out, cfg,
                                 on_source=lambda key, status: bar.update(task, advance=1, info=status))
    stats = manifest.stats
    skipped = ", ".join(f"{r} {stats[r]}" for r in SKIP_REASONS if stats.get(r))
    print(f"{args.out}: {stats.get('games', 0)} games, {manifest.positions('train')} train / "
          f"{manifest.positions('val')} val positions in {len(manifest.shards)} shards; "
          f"{stats.get('sources', 0)} records read" + (f"; skipped: {skipped}" if skipped else ""))
    if not stats.get("games"):
        print(f"rlgo dataset: no usable games under {args.inputs}")
        return 1
    return 0
