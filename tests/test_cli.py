"""The `rlgo` entry point: every --help, exit codes, one-line user errors, TOML configs."""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import given, settings, strategies as st

import cli
from rlgo.commands import (
    ConfigError, add_config_option, add_options, is_user_error, positive_int, rules_from_args, standard_options,
)
from rlgo.commands.options import DataclassOptions
from rlgo.go.errors import GoError
from rlgo.go.rules import PRESETS

ROOT = Path(__file__).resolve().parent.parent


def rlgo(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `python cli.py ARGV` in a subprocess (no terminal)."""
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *argv], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def command_paths() -> list[tuple[str, ...]]:
    """Every (sub)command path of the current parser, e.g. ('play',), ('train', 'zero')."""
    paths = []

    def walk(parser, prefix):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    paths.append(prefix + (name,))
                    walk(sub, prefix + (name,))

    walk(cli.build_parser(load_all=True), ())
    return paths


def test_known_commands_are_registered():
    names = {p[0] for p in command_paths()}
    assert {"play", "train", "bench"} <= names
    assert names <= set(cli.COMMANDS)
    placeholders = cli.build_parser(["play"])._actions[-1].choices
    assert set(placeholders) == names  # every command is listed even when only `play` is imported


def is_leaf(path: tuple[str, ...]) -> bool:
    return not any(other[:len(path)] == path and len(other) > len(path) for other in command_paths())


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_subcommand_help_exits_0(path, capsys):
    assert cli.main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: rlgo {' '.join(path)}")
    if is_leaf(path):
        assert "example" in out.lower(), f"`rlgo {' '.join(path)} --help` shows no examples"


@pytest.mark.parametrize("path", [("play",), ("gtp",), ("tournament",), ("bench",), ("train", "zero")], ids=" ".join)
def test_help_through_the_real_entry_point(path):
    if path not in command_paths():
        pytest.skip(f"rlgo {' '.join(path)} not written yet")
    out = rlgo(*path, "--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"usage: rlgo {' '.join(path)}") and not out.stderr


def test_top_level_help_lists_commands():
    out = rlgo("--help")
    assert out.returncode == 0
    for path in command_paths():
        if len(path) == 1:
            assert path[0] in out.stdout


@pytest.mark.parametrize("argv, needle", [
    (("play", "--size", "30"), "--size"),
    (("play", "--size", "nine"), "--size"),
    (("play", "--rules", "klingon"), "klingon"),
    (("play", "--color", "red"), "--color"),
    (("play", "--time", "-1"), "--time"),
    (("play", "--handicap", "1"), "--handicap"),
    (("frobnicate",), "frobnicate"),
    ((), "COMMAND"),
])
def test_usage_errors_exit_2_without_traceback(argv, needle):
    out = rlgo(*argv)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert needle in out.stderr.splitlines()[-1]


@pytest.mark.parametrize("argv, needle", [
    (("play", "--agent", "nosuchagent", "--no-color"), "nosuchagent"),
    (("play", "--agent", "random:depth=3", "--no-color"), "depth"),
    (("play", "--size", "5", "--handicap", "4", "--no-color"), "handicap"),
    (("bench", "board", "--quick", "--debug-nothing"), "--debug-nothing"),
])
def test_user_errors_are_one_line(argv, needle):
    out = rlgo(*argv)
    assert out.returncode in (1, 2), out.stderr
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert needle in lines[-1]
    if out.returncode == 1:
        assert len(lines) == 1


@pytest.mark.skipif(not {"policy", "mcts"} <= set(__import__("agents.specs").specs.agent_names()),
                    reason="policy agent not written yet")
def test_missing_checkpoint_is_a_one_line_error(tmp_path):
    out = rlgo("play", "--agent", f"policy:ckpt={tmp_path / 'missing.pt'}", "--no-color")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1 and "missing.pt" in out.stderr


def test_real_training_config_is_checked_before_training(tmp_path):
    if ("train", "zero") not in command_paths():
        pytest.skip("rlgo train zero not written yet")
    cfg = tmp_path / "zero.toml"
    cfg.write_text("no_such_option = 3\n")
    status, err = run_main(["train", "zero", "--config", str(cfg)])
    assert status == 1 and "no_such_option" in err and err.startswith("rlgo train zero: error:")


def test_missing_config_file_is_a_one_line_error(tmp_path):
    missing = tmp_path / "nope.toml"
    status, err = run_main_with(fake_module(lambda args: 0), ["fake", "--config", str(missing)])
    assert status == 1
    assert str(missing) in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------- in-process: errors and --debug
@dataclasses.dataclass(frozen=True)
class FakeConfig:
    """A fake run."""

    games: int
    """Games to play."""
    lr: float = 0.1
    """Learning rate."""
    opt: Literal["sgd", "adam"] = "sgd"
    """Optimizer."""
    tags: tuple[str, ...] = ()
    """Labels of the run."""
    fast: bool = False
    """Play fast."""


FAKE_OPTIONS = DataclassOptions(FakeConfig, types={"games": positive_int})


def fake_module(run, name="fake"):
    """A command module with one subcommand whose options mimic a training command."""
    def register(subparsers):
        parser = subparsers.add_parser(name, help="fake command", epilog="examples: none")
        add_options(parser, "size", "seed", "out", "resume", "simulations")
        FAKE_OPTIONS.add_to(parser)
        add_config_option(parser, FAKE_OPTIONS.options + standard_options("size", "seed", "out", "simulations"))
    return types.SimpleNamespace(register=register, run=run)


def run_main(argv):
    """cli.main in this process; returns (exit code, stderr text)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = cli.main(argv)
    return status, err.getvalue()


def run_main_with(module, argv):
    """run_main with only `module` registered, as command 'fake'."""
    original = cli.command_modules, cli.COMMANDS
    cli.command_modules = lambda names=None: iter([("fake", module)])
    cli.COMMANDS = {"fake": "a fake command"}
    try:
        return run_main(argv)
    finally:
        cli.command_modules, cli.COMMANDS = original


@pytest.mark.parametrize("exc", [GoError("bad vertex 'Z9'"), FileNotFoundError(2, "No such file", "x.sgf"),
                                 ConfigError("cfg.toml: unknown key 'lrr'")])
def test_project_and_file_errors_print_one_line(exc):
    def run(args):
        raise exc
    status, err = run_main_with(fake_module(run), ["fake", "--games", "1"])
    assert status == 1
    assert err.count("\n") == 1 and err.startswith("rlgo fake: error: ")
    assert str(exc) in err


def test_bugs_keep_their_traceback():
    def run(args):
        raise KeyError("internal")
    with pytest.raises(KeyError):
        run_main_with(fake_module(run), ["fake", "--games", "1"])


def test_debug_anywhere_shows_the_traceback():
    def run(args):
        raise GoError("boom")
    for argv in (["--debug", "fake", "--games", "1"], ["fake", "--games", "1", "--debug"]):
        with pytest.raises(GoError):
            run_main_with(fake_module(run), argv)


def test_run_return_value_is_the_exit_code():
    assert run_main_with(fake_module(lambda args: 3), ["fake", "--games", "1"])[0] == 3
    assert run_main_with(fake_module(lambda args: None), ["fake", "--games", "1"])[0] == 0


def test_is_user_error_by_defining_package():
    project_error = type("DatasetError", (Exception,), {"__module__": "rlgo.train.data.x"})
    foreign_error = type("DatasetError", (Exception,), {"__module__": "torch.utils.data"})
    assert is_user_error(project_error("x"))
    assert is_user_error(type("Sub", (project_error,), {"__module__": "tests"})("x"))
    assert not is_user_error(foreign_error("x"))
    assert not is_user_error(ValueError("x")) and not is_user_error(TypeError("x"))


def test_missing_command_modules_are_skipped_but_broken_ones_raise(monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", {"play": "p", "no_such_command": "n"})
    assert [name for name, _ in cli.command_modules()] == ["play"]

    def broken_import(name):
        raise ModuleNotFoundError("No module named 'torchvision'", name="torchvision")
    monkeypatch.setattr(cli.importlib, "import_module", broken_import)
    with pytest.raises(ModuleNotFoundError):
        list(cli.command_modules())


# ----------------------------------------------------------------- TOML configs
def parse_with_config(argv, text, tmp_path):
    """Parse `argv` (config path appended) with a fake command, the way cli.main does."""
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    parser = argparse.ArgumentParser(prog="rlgo")
    sub = parser.add_subparsers(dest="command")
    fake_module(lambda a: 0).register(sub)
    return parser.parse_args(["fake", *argv, "--config", str(path)])


@settings(max_examples=25, deadline=None)
@given(lr_file=st.floats(0.001, 10), lr_cli=st.one_of(st.none(), st.floats(0.001, 10)),
       games=st.integers(1, 10**6), size=st.integers(2, 25))
def test_config_sets_defaults_and_flags_win(tmp_path_factory, lr_file, lr_cli, games, size):
    tmp = tmp_path_factory.mktemp("cfg")
    argv = [] if lr_cli is None else ["--lr", repr(lr_cli)]
    args = parse_with_config(argv, f"lr = {lr_file!r}\ngames = {games}\nsize = {size}\n", tmp)
    assert args.lr == (lr_file if lr_cli is None else lr_cli)
    assert args.games == games and args.size == size  # a required option may come from the file


def test_config_dash_keys_lists_and_flags(tmp_path):
    args = parse_with_config(["--games", "2"], 'opt = "adam"\ntags = ["a", "b"]\nfast = true\nout = "runs/x"\n',
                             tmp_path)
    assert (args.opt, args.tags, args.fast, args.out) == ("adam", ["a", "b"], True, Path("runs/x"))
    assert FAKE_OPTIONS.config(args) == FakeConfig(games=2, opt="adam", tags=("a", "b"), fast=True)


def test_flags_before_the_config_win_too(tmp_path):
    args = parse_with_config(["--lr", "0.5", "--games", "3"], "lr = 0.25\ngames = 9\n", tmp_path)
    assert (args.lr, args.games) == (0.5, 3)


@pytest.mark.parametrize("text, needle", [
    ("lrr = 0.1\n", "'lrr'"),
    ("size = 99\n", "size"),
    ('opt = "rmsprop"\n', "rmsprop"),
    ('seed = "many"\n', "seed"),
    ("lr = [0.1, 0.2]\n", "lr"),
    ("[train]\nlr = 0.1\n", "table"),
])
def test_bad_config_names_the_key(tmp_path, text, needle):
    with pytest.raises(ConfigError, match=needle):
        parse_with_config(["--games", "1"], text, tmp_path)


def test_toml_syntax_error_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"cfg\.toml: TOML syntax error: .*line 2"):
        parse_with_config(["--games", "1"], "lr = 0.1\nsize = = 9\n", tmp_path)
    path = tmp_path / "broken.toml"
    path.write_text("games = [1,\n")
    status, err = run_main_with(fake_module(lambda args: 0), ["fake", "--config", str(path)])
    assert status == 1 and str(path) in err and len(err.strip().splitlines()) == 1


def test_unknown_keys_are_answered_with_the_field_names(tmp_path):
    argv = ["train", "sl", "--config", str(tmp_path / "sl.toml")]
    (tmp_path / "sl.toml").write_text("batch-sise = 64\n")
    with pytest.raises(ConfigError) as error:
        cli.build_parser(argv).parse_args(argv)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'sl.toml'}: unknown key 'batch-sise'; did you mean 'batch_size'?")
    valid = message.split("valid keys: ")[1].split(", ")
    assert {"batch_size", "symmetries", "value_weight", "blocks", "lr", "out"} <= set(valid)
    assert not [k for k in valid if "-" in k] and "config" not in valid and "help" not in valid


@pytest.mark.parametrize("text, expected", [("symmetries = false\n", False), ("symmetries = true\n", True),
                                            ("no-symmetries = true\n", False), ("no_symmetries = false\n", True),
                                            ("batch_size = 32\n", True)])
def test_flag_keys_give_the_field(tmp_path, text, expected):
    from rlgo.commands.train_sl import OPTIONS
    (tmp_path / "sl.toml").write_text("data = 'd'\nout = 'o'\n" + text)
    argv = ["train", "sl", "--config", str(tmp_path / "sl.toml")]
    assert OPTIONS.config(cli.build_parser(argv).parse_args(argv), out="o").symmetries is expected
    (tmp_path / "sl.toml").write_text("no-symmetries = 1\n")
    with pytest.raises(ConfigError, match="no-symmetries must be true or false"):
        cli.build_parser(argv).parse_args(argv)


def test_a_shipped_config_is_found_by_its_name_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for kind, name in (("zero", "zero9.toml"), ("pg", "pg9.toml"), ("value", "value9.toml")):
        argv = ["train", kind, "--config", name]
        args = cli.build_parser(argv).parse_args(argv)
        assert str(args.out) == f"runs/{name[:-5]}"
    assert (ROOT / "configs" / "zero9.toml").exists()


@pytest.mark.parametrize("out, resume, expected", [
    ("runs/a", None, (Path("runs/a"), False)),
    (None, "runs/a", (Path("runs/a"), True)),
    ("runs/a", "runs/a", (Path("runs/a"), True)),
    ("runs/a", True, "--resume takes the run folder: write --resume runs/a instead of --out RUN --resume"),
    ("runs/a", "runs/b", "name different folders"),
    (None, None, "--out RUN (a new run) or --resume RUN (continue one) is required"),
])
def test_one_resume_form_for_every_training_command(out, resume, expected):
    from rlgo.commands import CommandError, run_folder
    args = argparse.Namespace(out=out, resume=resume)
    if isinstance(expected, tuple):
        assert run_folder(args) == expected
    else:
        with pytest.raises(CommandError, match=re.escape(expected)):
            run_folder(args)


@pytest.mark.parametrize("kind, required", [("sl", ["--data", "d"]), ("pg", ["--sl", "s.pt"]),
                                            ("value", ["--sl", "s.pt", "--rl", "r.pt", "--games", "1"]),
                                            ("zero", [])])
def test_bare_resume_flag_is_answered_with_the_form_to_use(kind, required, tmp_path):
    status, err = run_main(["train", kind, *required, "--out", str(tmp_path), "--resume"])
    assert status == 1 and f"--resume takes the run folder: write --resume {tmp_path}" in err
    assert len(err.strip().splitlines()) == 1


def test_config_through_main(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("games = 7\nlr = 0.5\n")
    seen = {}

    def run(args):
        seen.update(vars(args))
        return 0
    assert run_main_with(fake_module(run), ["fake", "--config", str(cfg), "--lr", "0.25"])[0] == 0
    assert (seen["games"], seen["lr"]) == (7, 0.25)
    cfg.write_text("games = 'many'\n")
    status, err = run_main_with(fake_module(run), ["fake", "--config", str(cfg)])
    assert status == 1 and "games" in err and "many" in err


# ----------------------------------------------------------------- option helpers
@pytest.mark.parametrize("name", list(PRESETS))
def test_rules_from_args_applies_komi(name):
    parser = argparse.ArgumentParser()
    add_options(parser, "rules", "komi")
    assert rules_from_args(parser.parse_args(["--rules", name.upper()])) == PRESETS[name]
    assert rules_from_args(parser.parse_args(["--rules", name, "--komi", "0.5"])).komi == 0.5


