"""Shared pieces of the `rlgo` subcommands: standard options, TOML configs, user-facing errors.

Every command module `rlgo/commands/<name>.py` exposes `register(subparsers)` and
`run(args) -> int` (0 ok, 1 runtime error; argparse exits 2 on usage errors). A command
module only parses arguments and calls library functions.
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import tomllib
from pathlib import Path

from rlgo.go import coords
from rlgo.go.errors import GoError
from rlgo.go.rules import PRESETS, Rules, rules_from_name

PROJECT_PACKAGES = ("rlgo", "agents", "envs", "benchmarks")
"""Top-level packages whose exception classes are user-facing errors (one line, no traceback)."""

DEFAULT_AGENT = "mcts"
"""The agent of `rlgo play` and `rlgo gtp`: the strongest that needs no download (Monte-Carlo tree
search with random playouts)."""

_FILE_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError)
CONFIGS = Path(__file__).resolve().parents[2] / "configs"
"""The shipped TOML configs (zero9.toml, pg9.toml, value9.toml); `--config NAME` also looks here."""


class CommandError(Exception):
    """A user error found by a command (bad combination of options, missing input)."""


class ConfigError(CommandError):
    """A TOML config file with an unknown key or a value of the wrong type."""


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
_OPTIONS = {
    "size": (("--size",), dict(type=board_size, default=9, metavar="N", help="board size 2..25 (default: %(default)s)")),
    "komi": (("--komi",), dict(type=komi_value, default=None, help="komi (default: the rules' komi)")),
    "rules": (("--rules",), dict(type=rules_name, default="chinese", metavar="NAME",
                                 help=f"rules preset: {', '.join(PRESETS)} (default: %(default)s)")),
    "agent": (("--agent",), dict(default=DEFAULT_AGENT, metavar="SPEC",
                                 help="agent spec, e.g. random, mcts:playouts=2000, zero:ckpt=PATH (default: %(default)s)")),
    "seed": (("--seed",), dict(type=int, default=None, help="random seed (default: fresh entropy)")),
    "device": (("--device",), dict(default="cpu", help="torch device: cpu, cuda, cuda:1, mps (default: %(default)s)")),
    "out": (("--out",), dict(type=Path, default=None, metavar="PATH", help="output file or folder")),
    "resume": (("--resume",), dict(type=Path, nargs="?", const=True, default=None, metavar="RUN",
                                   help="continue the run in folder RUN from its last checkpoint")),
    "playouts": (("--playouts",), dict(type=positive_int, default=None, metavar="N", help="search playouts per move")),
}
STANDARD_OPTIONS = tuple(_OPTIONS)
"""Names accepted by `add_options`; the same flag means the same thing in every subcommand."""


def add_options(parser: argparse.ArgumentParser, *names: str, **defaults) -> None:
    """Add standard options by name (see STANDARD_OPTIONS); keyword arguments override defaults."""
    for name in names:
        flags, kwargs = _OPTIONS[name]
        kwargs = dict(kwargs)
        if name in defaults:
            kwargs["default"] = defaults.pop(name)
        parser.add_argument(*flags, **kwargs)
    if defaults:
        raise TypeError(f"defaults for options not added: {sorted(defaults)}")


def rules_from_args(args: argparse.Namespace) -> Rules:
    """Rules from `--rules` with `--komi` applied when given."""
    rules = rules_from_name(args.rules)
    komi = getattr(args, "komi", None)
    return rules if komi is None else rules.with_komi(komi)


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


def dataclass_from_args(cls, args: argparse.Namespace, **overrides):
    """Build the (frozen) dataclass `cls` from the fields of `args` with the same names."""
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in vars(args).items() if k in names and v is not None}
    values.update(overrides)
    return cls(**values)


# ----------------------------------------------------------------- TOML configs
def add_config_option(parser: argparse.ArgumentParser) -> None:
    """Add `--config FILE.toml`: top-level keys set option defaults; flags on the command line win."""
    parser.add_argument("--config", type=Path, metavar="FILE.toml",
                        help="TOML file of option values (keys as option names: lr = 0.01, batch-size = 256, "
                             "no-gating = true); command-line flags override it; a name not found here is looked "
                             "up in rlgo's configs/ (zero9.toml, pg9.toml, value9.toml)")


def apply_config(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Set the defaults of the (sub)command named in `argv` from its `--config` file, in place.

    Options that the file provides stop being required, so a config can carry them.
    """
    path = _config_path(argv)
    if path is None:
        return
    target = subcommand_parser(parser, argv)
    if not any(a.dest == "config" for a in target._actions):
        return
    values = load_config(path, config_keys(target))
    for action in target._actions:
        if action.dest in values:
            action.required = False
    target.set_defaults(**values)


def config_keys(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """{key: action}: a TOML key is a long option without its dashes (`batch-size`, or `batch_size`)."""
    keys = {}
    for action in parser._actions:
        for flag in action.option_strings:
            if flag.startswith("--") and action.dest not in ("config", "help"):
                keys[flag[2:]] = keys[flag[2:].replace("-", "_")] = action
    return keys


def load_config(path: Path, keys: dict[str, argparse.Action]) -> dict:
    """Read a TOML file into {dest: value}, each value checked with its option's type and choices."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}") from None
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            raise ConfigError(f"{path}: [{key}] is a table; use top-level keys only")
        action = keys.get(key)
        if action is None:
            names = sorted(k for k in keys if "_" not in k)
            close = difflib.get_close_matches(key.replace("_", "-"), names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{path}: unknown key {key!r}; {hint}valid keys: {', '.join(names)}")
        if action.nargs == 0 or (action.nargs == "?" and isinstance(value, bool)):
            # a flag (or an option's bare form): true gives it, false leaves the default
            if action.nargs == 0 and not isinstance(value, bool):
                raise ConfigError(f"{path}: {key} must be true or false, got {value!r}")
            if value:
                out[action.dest] = action.const
            continue
        out[action.dest] = _config_value(path, key, value, action)
    return out


def _config_value(path: Path, key: str, value, action: argparse.Action):
    items = value if isinstance(value, list) else [value]
    if isinstance(value, list) and action.nargs in (None, "?"):
        raise ConfigError(f"{path}: {key} takes one value, got a list")
    converted = []
    for item in items:
        try:
            item = action.type(str(item)) if action.type is not None else item
        except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
            raise ConfigError(f"{path}: {key} = {item!r}: {exc}") from None
        if action.choices is not None and item not in action.choices:
            raise ConfigError(f"{path}: {key} = {item!r}: choose from {', '.join(map(str, action.choices))}")
        converted.append(item)
    return converted if isinstance(value, list) else converted[0]


def _config_path(argv: list[str]) -> Path | None:
    for i, token in enumerate(argv):
        if token == "--":
            return None
        if token == "--config" and i + 1 < len(argv):
            return _shipped(Path(argv[i + 1]))
        if token.startswith("--config="):
            return _shipped(Path(token.split("=", 1)[1]))
    return None


def _shipped(path: Path) -> Path:
    """`path`, or the shipped config of that name when `path` does not exist."""
    return CONFIGS / path.name if not path.exists() and (CONFIGS / path.name).exists() else path


def subcommand_parser(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.ArgumentParser:
    """The innermost subcommand parser named by the words of `argv` (its .prog is e.g. 'rlgo train zero')."""
    for token in argv:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if subs and token in subs[0].choices:
            parser = subs[0].choices[token]
    return parser
