"""`rlgo train {sl,pg,value,zero}`: dispatch to rlgo/commands/train_<kind>.py."""
from __future__ import annotations

import argparse
import importlib

from rlgo.commands import positive_float, positive_int
from rlgo.nn.model import NET_DATA_FIELDS

KINDS = ("sl", "pg", "value", "zero")
"""Training loops, each in rlgo/commands/train_<kind>.py with register(subparsers) / run(args)."""

EPILOG = """\
examples:
  rlgo train sl --help                            supervised learning from game records
  rlgo train pg --config configs/pg9.toml         policy-gradient self-play vs past policies
  rlgo train value --config configs/value9.toml   value network from self-play positions
  rlgo train zero --config configs/zero9.toml     AlphaGo Zero self-play loop
  rlgo train zero --resume runs/zero9             continue a run from its last checkpoint

Every training command takes --config FILE.toml (keys: the option names, flags override them;
configs/ holds zero9.toml, pg9.toml, value9.toml), starts a run with --out RUN and continues
one with --resume RUN.
"""


TYPES = {name: positive_int for name in (
    "blocks", "width", "epochs", "batch_size", "ddp", "iterations", "games_per_iter", "snapshot_every", "eval_games",
    "checkpoint_every", "games", "shard_size", "games_per_generation", "simulations", "gumbel_m", "leaves_per_game",
    "parallel_games", "window_games", "steps_per_generation", "gate_games", "generations", "pipeline", "micro_batches")}
TYPES.update(lr=positive_float, temperature=positive_float, val_fraction=positive_float)
"""argparse types of the training options that must be positive (the configs check the rest)."""
NET_EXCLUDE = NET_DATA_FIELDS
"""NetConfig fields that no training command takes (set from the data)."""


def kind_modules():
    """The train_<kind> modules that exist (missing ones are skipped; other import errors propagate)."""
    for kind in KINDS:
        name = f"rlgo.commands.train_{kind}"
        try:
            yield importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train networks: sl, pg, value, zero", description="Train networks.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    for module in kind_modules():
        before = set(kinds.choices)
        module.register(kinds)
        for name in set(kinds.choices) - before:
            kinds.choices[name].set_defaults(train_run=module.run)


def run(args) -> int:
    return args.train_run(args)
