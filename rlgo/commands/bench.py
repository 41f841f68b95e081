"""`rlgo bench [board|search|nn|features|data|pg|zero|all]`: run benchmarks/bench_<name>.py from the source checkout."""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from rlgo.commands import CommandError

SUITES = ("board", "search", "nn", "features", "data", "pg", "zero", "parallel", "server")
"""Benchmarks by name: each is benchmarks/bench_<name>.py with run(quick=False) -> dict."""
ROOT = Path(__file__).resolve().parents[2]
"""The checkout holding benchmarks/ (it is not installed with the package)."""

EPILOG = """\
examples:
  rlgo bench board --quick      board rollouts/s, JIT warm-up, start-up time, vs OpenSpiel
  rlgo bench all --quick        every benchmark, short timings
  rlgo bench nn                 network forward/backward throughput
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench", help="speed benchmarks (board, search, nn, features, data, pg, zero, parallel, server)",
        description="Run speed benchmarks.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", nargs="?", choices=SUITES + ("all",), default="all",
                        help="which benchmark (default: all)")
    parser.add_argument("--quick", action="store_true", help="short timings (seconds, not minutes)")


def load_suite(name: str):
    """The module benchmarks/bench_<name>.py (CommandError when this checkout does not have it)."""
    if not (ROOT / "benchmarks" / f"bench_{name}.py").is_file():
        raise CommandError(f"benchmark {name!r} not found: {ROOT / 'benchmarks'} has no bench_{name}.py "
                           "(rlgo bench runs from a source checkout)")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(f"benchmarks.bench_{name}")


def run(args) -> int:
    if args.suite != "all":
        load_suite(args.suite).run(quick=args.quick)
        return 0
    available = [name for name in SUITES if (ROOT / "benchmarks" / f"bench_{name}.py").is_file()]
    if not available:
        raise CommandError(f"no benchmarks found in {ROOT / 'benchmarks'}")
    for name in available:
        load_suite(name).run(quick=args.quick)
    return 0
