"""Names that changed (issue 14), kept for one release: an old flag, spec key or config key answers
with what it became, and a stored run's config.json is read with its old keys renamed.

One word for one thing: `simulations` are tree-search simulations per move, `rollouts` are random
games played to the end (rlgo.go.rollout, rlgo.search.rollout); `blocks` is trunk depth; a
`move_cap` ends a game; `temperature_moves` are the opening moves chosen in proportion to visits.
"""
from __future__ import annotations

import argparse
import sys

FLAGS = {
    "--playouts": "--simulations",
    "--fast-playouts": "--fast-simulations",
    "--gate-playouts": "--gate-simulations",
    "--features": "--feature-set",
    "--max-moves": "--move-cap",
    "--cap": "--random-move-max",
    "--eye-fills": "--no-prune-eye-fills",
    "--time-budget": "--time-budget-s",
}
"""Old command-line flag -> new flag (TOML config keys are the same names without the dashes)."""

SPEC_KEYS = {
    "playouts": "simulations",
    "opening": "temperature_moves",
    "eye_fills": "prune_eye_fills",
}
"""Old agent-spec key -> new key (rlgo.agents.specs)."""

CONFIG_KEYS = {
    "playouts": "simulations",
    "fast_playouts": "fast_simulations",
    "gate_playouts": "gate_simulations",
    "max_moves": "move_cap",
    "depth": "blocks",
}
"""Old key of a stored config (a zero run's config.json, a checkpoint's NetConfig) -> new key."""

VALUES = {"playout": "rollout"}
"""Old value of a choice (the dead-stone estimator of `--dead-stones` and GameConfig) -> new value."""

NOTES = {
    "--time-budget": "it takes seconds, the old flag took minutes",
    "--eye-fills": "the default leaves own-eye fills out; the new flag lets them in, as the old one did",
    "eye_fills": "inverted: eye_fills=true is prune_eye_fills=false",
}
"""What else a user must know about a rename."""


def renamed(old: str, table: dict) -> str | None:
    """'X was renamed to Y' (plus its note) when `old` is in `table`, else None."""
    if old not in table:
        return None
    note = NOTES.get(old)
    return f"{old} was renamed to {table[old]}" + (f" ({note})" if note else "")


def migrate(data: dict, what: str, table: dict = CONFIG_KEYS, quiet: bool = False) -> dict:
    """`data` with its old keys renamed; prints one note naming them on stderr unless `quiet`.

    A key whose new name is also present is an old leftover: the new value wins.
    """
    old = [k for k in data if k in table]
    if not old:
        return data
    if not quiet:
        pairs = ", ".join(f"{k} -> {table[k]}" for k in old)
        print(f"rlgo: note: {what} uses old names ({pairs}); read with the new ones", file=sys.stderr)
    return {table.get(k, k): v for k, v in data.items() if k not in table or table[k] not in data}


class RenamedFlag(argparse.Action):
    """A hidden option that stops the parser with 'X was renamed to Y' (exit status 2)."""

    def __init__(self, option_strings, dest, **kwargs):
        kwargs.update(nargs="?", help=argparse.SUPPRESS, default=argparse.SUPPRESS)
        super().__init__(option_strings, argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        parser.exit(2, f"{parser.prog}: error: {renamed(option_string, FLAGS)}\n")


def add_renamed_flags(parser: argparse.ArgumentParser) -> None:
    """Give `parser` and its subcommand parsers a hidden RenamedFlag for each old flag whose new flag
    they have (and whose old spelling they do not use for something else)."""
    flags = parser._option_string_actions  # argparse keeps no public list of a parser's flags
    for old, new in FLAGS.items():
        if new in flags and old not in flags:
            parser.add_argument(old, action=RenamedFlag)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                add_renamed_flags(sub)
