"""The `rlgo` command line: one entry point that dispatches to rlgo/commands/<name>.py."""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from rlgo.commands import is_user_error, subcommand_parser
from rlgo.renames import add_renamed_flags

COMMANDS = {
    "play": "play a game against an agent in the terminal",
    "gtp": "run an agent as a GTP engine on stdin/stdout (Sabaki, GoGui, Lizzie)",
    "analysis": "KataGo's JSON analysis engine protocol on stdin/stdout (KaTrain, scripts)",
    "datagen": "generate SGF games with a GTP engine (e.g. GNU Go)",
    "dataset": "build training datasets from SGF records",
    "train": "train networks: sl, pg, value, zero",
    "compress": "compress a network: int8 quantization, pruning, distillation",
    "tournament": "rate agents: round-robin or gauntlet, Elo with 95%% intervals",
    "plot": "PNG figures of a training run's metrics (losses, Elo, speed, resignations)",
    "bench": "speed benchmarks (board, search, nn, features, data, pg, zero, parallel)",
}
"""Subcommand modules under rlgo.commands with their one-line summaries, in help order."""

EXAMPLES = """\
examples:
  rlgo play                                    9x9 game against the MCTS agent
  rlgo play --size 19 --handicap 4 --time 5    handicap game on 19x19, 5 s per move
  rlgo gtp --agent mcts:simulations=2000          GTP engine for Sabaki / GoGui
  rlgo train zero --config configs/zero9.toml  AlphaGo Zero self-play loop, 9x9
  rlgo plot runs/zero9                         PNG figures of the run's metrics
  rlgo tournament --help                       rate agents against each other
  rlgo bench board --quick                     board simulation speed

`--debug` (anywhere on the line) shows full tracebacks instead of one-line errors.
"""


def command_modules(names=None):
    """(name, module) of the command modules that exist among `names` (default: all).

    A module not written yet is skipped; an import error inside a module propagates.
    """
    for name in COMMANDS if names is None else names:
        module_name = f"rlgo.commands.{name}"
        if importlib.util.find_spec(module_name) is not None:
            yield name, importlib.import_module(module_name)


def build_parser(argv: list[str] = (), load_all: bool = False) -> argparse.ArgumentParser:
    """The parser; each subcommand parser carries its module's `run` as `args.run`.

    Only the command named in `argv` is imported (some pull in torch); the others get a
    placeholder with their summary, unless `load_all`.
    """
    parser = argparse.ArgumentParser(
        prog="rlgo", description="rlgo: a Go engine and reinforcement-learning lab.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((token for token in argv if not token.startswith("-")), None)
    wanted = list(COMMANDS) if load_all else [chosen] if chosen in COMMANDS else []
    modules = dict(command_modules(wanted))
    for name, summary in COMMANDS.items():
        if name in modules:
            before = set(subparsers.choices)
            modules[name].register(subparsers)
            for added in set(subparsers.choices) - before:
                subparsers.choices[added].set_defaults(run=modules[name].run)
        elif importlib.util.find_spec(f"rlgo.commands.{name}") is not None:
            subparsers.add_parser(name, help=summary)
    add_renamed_flags(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `rlgo` with `argv` (default: sys.argv[1:]); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [token for token in argv if token != "--debug"]
    prog = "rlgo"
    try:
        parser = build_parser(argv)
        prog = subcommand_parser(parser, argv).prog
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
