"""The `rlgo` command line: one entry point that dispatches to rlgo/commands/<name>.py."""
from __future__ import annotations

import argparse
import importlib
import sys

from rlgo.commands import apply_config, is_user_error, subcommand_parser

COMMANDS = ("play", "gtp", "datagen", "dataset", "train", "tournament", "bench")
"""Subcommand modules under rlgo.commands, in help order; ones not written yet are skipped."""

EXAMPLES = """\
examples:
  rlgo play                                  9x9 game against the MCTS agent
  rlgo play --size 19 --handicap 4 --time 5  handicap game on 19x19, 5 s per move
  rlgo gtp --agent mcts:playouts=2000        GTP engine for Sabaki / GoGui
  rlgo train zero --config zero9.toml        AlphaGo Zero self-play loop
  rlgo tournament --help                     rate agents against each other
  rlgo bench board --quick                   board playout speed

`--debug` (anywhere on the line) shows full tracebacks instead of one-line errors.
"""


def command_modules():
    """The command modules that exist (a missing module is skipped; other import errors propagate)."""
    for name in COMMANDS:
        module_name = f"rlgo.commands.{name}"
        try:
            yield importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise


def build_parser() -> argparse.ArgumentParser:
    """The full parser; each subcommand parser carries its module's `run` as `args.run`."""
    parser = argparse.ArgumentParser(
        prog="rlgo", description="rlgo: a Go engine and reinforcement-learning lab.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in command_modules():
        before = set(subparsers.choices)
        module.register(subparsers)
        for name in set(subparsers.choices) - before:
            subparsers.choices[name].set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `rlgo` with `argv` (default: sys.argv[1:]); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [token for token in argv if token != "--debug"]
    prog = "rlgo"
    try:
        parser = build_parser()
        prog = subcommand_parser(parser, argv).prog
        apply_config(parser, argv)
        args = parser.parse_args(argv)
        return int(args.run(args) or 0)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        print("rlgo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`); nothing more to say
        return 1
    except Exception as exc:
        if debug or not is_user_error(exc):
            raise
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
