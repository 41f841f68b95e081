"""Shared pieces of the `rlgo` subcommands: standard options, TOML configs, user-facing errors.

Every command module `rlgo/commands/<name>.py` exposes `register(subparsers)` and
`run(args) -> int` (0 ok, 1 runtime error; argparse exits 2 on usage errors). A command
module only parses arguments and calls library functions.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from rlgo.commands.options import ConfigError, Option, add_config_option as _add_config_option  # noqa: F401
from rlgo.go import coords
from rlgo.go.errors import GoError
from rlgo.go.rules import KO_RULES, PRESETS, Rules, rules_from_name

PROJECT_PACKAGES = ("rlgo", "agents", "envs", "benchmarks")
"""Top-level packages whose exception classes are user-facing errors (one line, no traceback)."""

DEFAULT_AGENT = "default"
"""The agent of `rlgo play`, `rlgo gtp` and `rlgo analysis`: the network shipped for the board size
(9x9: models/zero9_b6c64-int8.pt, docs/strength.md) at 1 s a move, else Monte-Carlo tree search with
rollouts (agents/default_agent.py)."""

_FILE_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError)
CONFIGS = Path(__file__).resolve().parents[2] / "configs"
"""The shipped TOML configs (zero9.toml, pg9.toml, value9.toml); `--config NAME` also looks here."""


class CommandError(Exception):
    """A user error found by a command (bad combination of options, missing input)."""


def is_user_error(exc: BaseException) -> bool:
    """Whether `exc` is a user error: an exception class of the project's packages or a file error."""
    if isinstance(exc, _FILE_ERRORS):
        return True
    return any(cls.__module__.split(".")[0] in PROJECT_PACKAGES for cls in type(exc).__mro__)


# ----------------------------------------------------------------- argument types
def board_size(text: str) -> int:
    """argparse type: a supported board size (2..25)."""
    try:
        return coords.check_size(int(text))
    except (ValueError, GoError):
        raise argparse.ArgumentTypeError(
            f"board size must be an integer in {coords.MIN_SIZE}..{coords.MAX_SIZE}, got {text!r}") from None


def positive_int(text: str) -> int:
    """argparse type: an integer > 0."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def number_in(accept, what: str):
    """argparse type: a float for which `accept(value)` holds (NaN for text that is no number);
    otherwise 'expected WHAT, got TEXT'."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return parse


positive_float = number_in(lambda v: 0 < v < float("inf"), "a positive number")
"""argparse type: a finite number > 0."""


def rules_name(text: str) -> str:
    """argparse type: a rules preset name (case-insensitive)."""
    if text.lower() not in PRESETS:
        raise argparse.ArgumentTypeError(f"unknown rules {text!r}; valid: {', '.join(PRESETS)}")
    return text.lower()


def komi_value(text: str) -> float:
    """argparse type: a komi (any finite number, usually x.5)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not abs(value) < 1000:
        raise argparse.ArgumentTypeError(f"komi must be a number, got {text!r}")
    return value


# ----------------------------------------------------------------- standard options
_OPTIONS = {o.name: o for o in (
    Option("size", "board size 2..25", board_size, 9, metavar="N", keep_default=True),
    Option("komi", "komi (default: the rules' komi)", komi_value, None, show_default=False, keep_default=True),
    Option("rules", f"rules preset: {', '.join(PRESETS)}", rules_name, "chinese", metavar="NAME", keep_default=True),
    Option("ko", "ko rule, overriding the preset's (chinese: positional)", str, None, choices=KO_RULES,
           show_default=False, keep_default=True),
    Option("agent", f"agent spec, e.g. random, mcts:simulations=2000, zero:ckpt=PATH (default: {DEFAULT_AGENT}, the "
           "network shipped for the board size, else mcts)", str, DEFAULT_AGENT, metavar="SPEC", show_default=False,
           keep_default=True),
    Option("seed", "random seed (default: fresh entropy)", int, None, show_default=False, keep_default=True),
    Option("device", "torch device: auto (cuda when available, else cpu), cpu, cuda, cuda:1, mps", str, "auto",
           keep_default=True),
    Option("out", "output file or folder", Path, None, metavar="PATH", show_default=False, keep_default=True),
    Option("simulations", "search simulations per move", positive_int, None, metavar="N", show_default=False,
           keep_default=True),
)}
RUN_OPTION = Option("out", "run folder of a new run (--resume RUN continues one)", Path, None, metavar="RUN",
                    show_default=False)
"""`--out RUN` of the training commands (a TOML key as well); see `run_folder`."""
STANDARD_OPTIONS = (*_OPTIONS, "resume")
"""Names accepted by `add_options`; the same flag means the same thing in every subcommand."""


def standard_options(*names: str, **defaults) -> list[Option]:
    """The standard Options named (not resume); keyword arguments override their defaults."""
    unknown = sorted(set(defaults) - set(names))
    if unknown:
        raise TypeError(f"defaults for options not added: {unknown}")
    return [dataclasses.replace(_OPTIONS[n], default=defaults[n]) if n in defaults else _OPTIONS[n] for n in names]


def add_options(parser: argparse.ArgumentParser, *names: str, **defaults) -> None:
    """Add standard options by name (see STANDARD_OPTIONS); keyword arguments override defaults."""
    for option in standard_options(*(n for n in names if n != "resume"), **defaults):
        option.add_to(parser)
    if "resume" in names:
        parser.add_argument("--resume", type=Path, nargs="?", const=True, default=None, metavar="RUN",
                            help="continue the run in folder RUN from its last checkpoint")


def add_run_options(parser: argparse.ArgumentParser) -> list[Option]:
    """Add `--out RUN` and `--resume RUN` of a training command; returns the Option of --out (for --config)."""
    RUN_OPTION.add_to(parser)
    add_options(parser, "resume")
    return [RUN_OPTION]


def rules_from_args(args: argparse.Namespace) -> Rules:
    """Rules from `--rules` with `--komi` and `--ko` applied when given."""
    rules = rules_from_name(args.rules)
    komi, ko = getattr(args, "komi", None), getattr(args, "ko", None)
    rules = rules if komi is None else rules.with_komi(komi)
    return rules if ko is None else dataclasses.replace(rules, ko=ko)


def run_folder(args: argparse.Namespace) -> tuple[Path, bool]:
    """(run folder, resume) of a training command: `--out RUN` starts a run, `--resume RUN` continues one."""
    out, resume = getattr(args, "out", None), args.resume
    if resume is True:  # the bare flag
        raise CommandError(f"--resume takes the run folder: write --resume {out or 'RUN'} "
                           f"instead of --out RUN --resume")
    if resume is not None:
        if out is not None and Path(out) != Path(resume):
            raise CommandError(f"--out {out} and --resume {resume} name different folders; "
                               f"--resume RUN alone continues RUN")
        return Path(resume), True
    if out is None:
        raise CommandError("--out RUN (a new run) or --resume RUN (continue one) is required")
    return Path(out), False


def next_steps(*commands: str) -> str:
    """The lines printed at the end of a training run: what to run next."""
    return "next:\n" + "".join(f"  {command}\n" for command in commands).rstrip("\n")


# ----------------------------------------------------------------- TOML configs
def shipped_config(text: str) -> Path:
    """The path `text`, or the shipped config of that name when `text` names no file."""
    path = Path(text)
    return CONFIGS / path.name if not path.exists() and (CONFIGS / path.name).exists() else path


def add_config_option(parser: argparse.ArgumentParser, options) -> None:
    """Add `--config FILE.toml`: its keys set the `options` not given on the command line."""
    _add_config_option(parser, options, find=shipped_config,
                       help="TOML file of option values (keys: the option names, e.g. lr = 0.01, batch_size = 256, "
                            "gating = false); command-line flags override it; a name not found here is looked "
                            "up in rlgo's configs/ (zero9.toml, pg9.toml, value9.toml)")


def subcommand_parser(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.ArgumentParser:
    """The innermost subcommand parser named by the words of `argv` (its .prog is e.g. 'rlgo train zero')."""
    for token in argv:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if subs and token in subs[0].choices:
            parser = subs[0].choices[token]
    return parser
