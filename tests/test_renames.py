"""The renames of rlgo.renames: every old flag, spec key, TOML key and value answers with its new name,
stored runs still load, and no old name is left in the docs or the help texts."""
from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest

import cli
from agents.specs import SpecError, agent_names, describe_agents, lookup, parse_spec
from rlgo.arena.game import GameConfig
from rlgo.nn.model import NetConfig
from rlgo.renames import CONFIG_KEYS, FLAGS, SPEC_KEYS, VALUES, migrate
from rlgo.train.zero.config import ZeroConfig
from rlgo.train.zero.loop import open_run, resume_config
from tests.test_help_examples import parsers

ROOT = Path(__file__).resolve().parents[1]
ZERO9 = ROOT / "training" / "zero9"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "configs").glob("*.toml"))]


def commands_with(flag: str) -> list[tuple[str, ...]]:
    return [path for path, p in parsers() if flag in p._option_string_actions]


@pytest.mark.parametrize("old, new", sorted(FLAGS.items()))
def test_an_old_flag_names_its_new_flag(old, new, capsys):
    paths = commands_with(new)
    assert paths, f"no command has {new}"
    for path in paths:
        assert cli.main([*path, old, "1"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.endswith(f"error: {old} was renamed to {new}") or f"error: {old} was renamed to {new} (" in err
        assert len(err.splitlines()) == 1


@pytest.mark.parametrize("old, new", sorted(FLAGS.items()))
def test_an_old_toml_key_names_its_new_key(old, new, tmp_path, capsys):
    paths = [p for p in commands_with(new) if "--config" in dict(parsers())[p]._option_string_actions]
    if not paths:
        pytest.skip(f"no command with --config has {new}")
    config = tmp_path / "old.toml"
    config.write_text(f"{old[2:]} = 1\n")
    assert cli.main([*paths[0], "--config", str(config)]) == 1
    err = capsys.readouterr().err.strip()
    assert f"{old[2:]} was renamed to {new[2:]}" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("old, new", sorted(SPEC_KEYS.items()))
def test_an_old_spec_key_names_its_new_key(old, new):
    agents = [name for name in agent_names() if new in lookup(name).keys]
    assert agents, f"no agent takes {new}="
    for name in agents:
        with pytest.raises(SpecError, match=f"^{name}: key {old} was renamed to {new}"):
            parse_spec(f"{name}:{old}=1")


def test_new_names_parse():
    assert parse_spec("mcts:simulations=5")[1] == {"simulations": 5}
    assert parse_spec("zero:ckpt=x.pt,temperature_moves=3")[1]["temperature_moves"] == 3
    assert parse_spec("policy:ckpt=x.pt,prune_eye_fills=false")[1]["prune_eye_fills"] is False
    args = cli.build_parser(["train"]).parse_args(["train", "zero", "--out", "r", "--simulations", "7",
                                                   "--fast-simulations", "2", "--gate-simulations", "5"])
    assert (args.simulations, args.fast_simulations, args.gate_simulations) == (7, 2, 5)


@pytest.mark.parametrize("old, new", sorted(VALUES.items()))
def test_an_old_estimator_names_its_new_one(old, new):
    with pytest.raises(ValueError, match=f"{old} was renamed to {new}"):
        GameConfig(dead_stones=old)
    assert GameConfig(dead_stones=new).dead_stones == new


def test_migrate_renames_old_keys_and_keeps_a_new_one(capsys):
    assert migrate({"playouts": 3, "size": 5}, "x") == {"simulations": 3, "size": 5}
    assert "x uses old names (playouts -> simulations)" in capsys.readouterr().err
    assert migrate({"playouts": 3, "simulations": 4}, "x", quiet=True) == {"simulations": 4}
    assert NetConfig.from_dict({"depth": 3, "width": 8}).blocks == 3


def test_the_stored_zero9_run_under_its_old_names_loads_and_is_migrated_once(tmp_path, capsys):
    run = tmp_path / "zero9"
    shutil.copytree(ZERO9, run)
    current = json.loads((run / "config.json").read_text())
    fields = {f.name for f in dataclasses.fields(ZeroConfig)}
    old_of = {new: old for old, new in CONFIG_KEYS.items() if new in fields}
    stored = {old_of.get(k, k): v for k, v in current.items()}  # the config as a run before the renames wrote it
    assert set(stored) & set(CONFIG_KEYS)
    (run / "config.json").write_text(json.dumps(stored))
    cfg = resume_config(run)
    for old, new in CONFIG_KEYS.items():
        if old in stored:
            assert getattr(cfg, new) == stored[old]
    assert cfg.net.blocks == 6 and cfg.root == "gumbel"
    open_run(cfg, resume=True)
    assert capsys.readouterr().err.count("uses old names") == 1
    migrated = json.loads((run / "config.json").read_text())
    assert not set(migrated) & set(CONFIG_KEYS) and migrated["simulations"] == stored["playouts"]
    assert resume_config(run) == cfg
    open_run(cfg, resume=True)
    assert "old names" not in capsys.readouterr().err


def test_zero_config_from_old_dict():
    cfg = ZeroConfig.from_dict({"out": "r", "playouts": 40, "fast_playouts": 10, "gate_playouts": 20, "max_moves": 90})
    assert (cfg.simulations, cfg.fast_simulations, cfg.gate_simulations, cfg.move_cap) == (40, 10, 20, 90)


def _old_name_patterns() -> list[tuple[str, re.Pattern]]:
    patterns = [(old, re.compile(rf"(?<![\w-]){re.escape(old)}(?![\w-])")) for old in FLAGS]
    patterns += [(f"{old}=", re.compile(rf"[:,]{old}=")) for old in SPEC_KEYS]
    patterns += [(f"{old[2:]} =", re.compile(rf"^{re.escape(old[2:])}\s*=", re.M)) for old in FLAGS]
    patterns += [("playout(s)", re.compile(r"\b[Pp]layouts?\b(?! cap (randomization|\d))"))]
    return patterns


def test_no_old_name_in_docs_or_help():
    texts = {str(p.relative_to(ROOT)): p.read_text() for p in DOCS}
    texts.update({"rlgo " + " ".join(path) + " --help": p.format_help() for path, p in parsers()})
    texts["agent keys"] = describe_agents()
    found = [f"{where}: {name}" for where, text in texts.items() for name, pattern in _old_name_patterns()
             if pattern.search(text)]
    assert not found
