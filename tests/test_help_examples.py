"""Every example in every `--help` parses (in process) and starts (in a terminal, in a sandbox folder).

"Starts" means: run as printed, from a folder holding the inputs the examples name (the shipped
models, a few GNU Go games and their dataset, a pg learner, a zero run, a finished tournament).
The short commands (plots, reports, dataset builds, the rollout fit, `bench board --quick`)
run to the end with status 0; the long ones (training, data generation, tournaments, `bench
all`) show their first output and then, interrupted with Ctrl-C, stop cleanly (status 0 or
130, no traceback, no error). `bench nn` prints nothing before its one table, minutes later on
a loaded machine, so only the parse test covers it. `rlgo play` examples are answered with `quit` at their first prompt,
`rlgo gtp` examples with `quit` on stdin, `rlgo analysis` examples with one 7x7 query and the
end of input.
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import os
import re
import shlex
import shutil
import sys
from pathlib import Path

import pexpect
import pytest

import cli
from rlgo.nn.model import NetConfig
from tests.conftest import have_gnugo

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "gnugo9"
START_SECONDS = 300
"""Generous bound for the first output of a command (imports, JIT compiles) on a loaded machine."""


def parsers() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """(command path, parser) of the top level and every (sub)command."""
    found = []

    def walk(parser, path):
        found.append((path, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, path + (name,))

    walk(cli.build_parser(load_all=True), ())
    return found


def _command_part(line: str) -> str:
    """The command of an example line: up to the first run of two spaces outside quotes."""
    quote = None
    for i, ch in enumerate(line):
        if ch in "\"'" and quote in (None, ch):
            quote = None if quote else ch
        elif quote is None and line.startswith("  ", i):
            return line[:i]
    return line


def help_examples() -> list[str]:
    """Every `rlgo ...` example line (continuations joined) of every --help, without its description."""
    examples = []
    for _, parser in parsers():
        text = parser.format_help()
        section = re.search(r"^examples?:\n(.*?)(?:\n\n|\Z)", text, re.S | re.M)
        if section is None:
            continue
        lines = section.group(1).splitlines()
        while lines:
            line = lines.pop(0).strip()
            while line.endswith("\\") and lines:
                line = line[:-1].rstrip() + " " + lines.pop(0).strip()
            if line.startswith("rlgo "):
                examples.append(_command_part(line).strip())
    return list(dict.fromkeys(examples))


EXAMPLES = help_examples()


def test_examples_are_found_for_every_command():
    commands = {tuple(shlex.split(e)[1:3]) for e in EXAMPLES}
    assert len(EXAMPLES) >= 25
    for expected in [("play",), ("gtp",), ("datagen",), ("dataset", "build"), ("train", "sl"), ("train", "rollout"),
                     ("train", "pg"), ("train", "value"), ("train", "zero"), ("tournament",), ("bench", "board"),
                     ("plot",)]:
        assert any(c[:len(expected)] == expected for c in commands), expected


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_help_example_parses(example, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # configs/ as the examples name it
    argv = shlex.split(example)[1:]
    if "--help" in argv:
        assert cli.main(argv) == 0
        return
    args = cli.build_parser(argv).parse_args(argv)
    assert callable(args.run)


# ----------------------------------------------------------------- starting them
@pytest.fixture(scope="module")
def sandbox_template(tmp_path_factory) -> Path:
    """A folder with every input the examples name (tiny versions of the runs they continue or plot)."""
    from agents.specs import make_agent
    from rlgo.arena.game import GameConfig
    from rlgo.arena.tournament import TournamentConfig, run_tournament
    from rlgo.train.common import MetricsLogger, OptimConfig
    from rlgo.train.data.build import BuildConfig, build_dataset
    from rlgo.train.pg import PGConfig, train_pg
    from rlgo.train.zero.config import ZeroConfig
    from rlgo.train.zero.loop import open_run

    root = tmp_path_factory.mktemp("examples")
    shutil.copytree(ROOT / "models", root / "models")
    shutil.copytree(FIXTURES, root / "data" / "gnugo9")
    build_dataset(root / "data" / "gnugo9", root / "data" / "gnugo9-shards",
                  BuildConfig(size=9, val_fraction=0.2, shard_size=10_000))
    train_pg(PGConfig(sl=str(root / "models" / "sl9_b6c64.pt"), out=str(root / "runs" / "pg9"), iterations=1,
                      games_per_iter=2, snapshot_every=1, optim=OptimConfig(lr=1e-3), move_cap=4, threads=1))
    open_run(ZeroConfig(out=str(root / "runs" / "zero9"), size=9, net=NetConfig(blocks=1, width=8)), resume=False)
    for run, column in (("zero9", "generation"), ("sl9", "epoch")):
        (root / "runs" / run).mkdir(exist_ok=True)
        log = MetricsLogger(root / "runs" / run, "metrics", tensorboard=False)
        for k in (1, 2):
            log.log(k, **{column: k, "loss": 2.0 / k, "elo": 10.0 * k, "elo_95": 5.0})
    run_tournament(TournamentConfig(agents=("random:seed=1", "random:seed=2"), out=root / "runs" / "t1",
                                    game=GameConfig(size=9, move_cap=6)), make_agent)
    return root


ANALYSIS_QUERY = '{"id":"t","moves":[],"rules":"chinese","komi":9,"boardXSize":7,"boardYSize":7,"maxVisits":8}'
"""A query every analysis example can answer (models/zero7_b4c32.pt is a 7x7 network)."""
SILENT_UNTIL_DONE = (["bench", "nn"],)
"""Examples that print nothing until they finish, minutes later: interrupting them would race their exit."""


def _runs_to_the_end(argv: list[str]) -> bool:
    return (argv[0] in ("plot", "dataset") or argv[:2] in (["train", "rollout"], ["train", "zero-compact"], ["bench", "board"])
            or "--report" in argv)


def _new_folder(argv: list[str]) -> str | None:
    """The folder an example creates (--out of a new run, tournament or dataset), from its parsed arguments."""
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        args = cli.build_parser(argv).parse_args(argv)
    finally:
        os.chdir(cwd)
    if argv[0] == "plot" or getattr(args, "report", False) or getattr(args, "resume", None):
        return None
    out = getattr(args, "out", None)
    return None if out is None else str(out)


NEEDS_EXTRA = ((["plot"], "matplotlib"), (["compress", "quantize"], "onnxruntime"))
"""Commands whose examples need an optional extra (without it they stop with a one-line error, tested elsewhere)."""


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES)
def test_every_help_example_starts(example, sandbox_template, tmp_path):
    argv = shlex.split(example)[1:]
    if any("gnugo" in token for token in argv) and not have_gnugo():
        pytest.skip("GNU Go not installed")
    extra = next((module for prefix, module in NEEDS_EXTRA if argv[:len(prefix)] == prefix), None)
    if extra is not None and importlib.util.find_spec(extra) is None:
        pytest.skip(f"needs the optional package {extra}")
    if argv[:2] in SILENT_UNTIL_DONE:
        pytest.skip("prints nothing until it is done (minutes); the parse test covers it")
    cwd = tmp_path / "sandbox"
    shutil.copytree(sandbox_template, cwd)
    new = None if "--help" in argv else _new_folder(argv)
    if new is not None:  # a new run must not find the fixture of the same name
        target = cwd / new
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    transcript = io.StringIO()
    child = pexpect.spawn(sys.executable, [str(ROOT / "cli.py"), *argv], cwd=str(cwd),
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, encoding="utf-8", timeout=START_SECONDS,
                          dimensions=(50, 200))
    child.logfile_read = transcript
    try:
        if argv[0] == "gtp":
            child.sendline("name")
            child.expect(r"= \S+")
            child.sendline("quit")
        elif argv[0] == "analysis":
            child.sendline(ANALYSIS_QUERY)
            child.expect(r'"moveInfos"')  # the answer, not the echoed query
            child.sendeof()
        elif argv[0] == "play":
            child.expect(r"(Black|White) \d+> ")
            child.sendline("quit")
        elif not ("--help" in argv or _runs_to_the_end(argv)) and child.expect([r"\S", pexpect.EOF]) == 0:
            child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    output = transcript.getvalue()
    assert child.exitstatus in (0, 130), f"{example}: exit {child.exitstatus}\n{output[-3000:]}"
    assert "Traceback" not in output and "error:" not in output, output[-3000:]
