"""Options made from config dataclasses: one flag per field with its docstring and default, TOML round trips."""
from __future__ import annotations

import argparse
import dataclasses
import json
import typing

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cli
from rlgo.commands import ConfigError, subcommand_parser
from rlgo.commands.options import REQUIRED, field_docs, first_sentence
from rlgo.go.rules import PRESETS
from rlgo.nn.model import NET_DATA_FIELDS, NetConfigError
from rlgo.train.common import TrainError


def _commands():
    from rlgo.commands import compress, datagen, dataset, tournament, train_pg, train_sl, train_value, train_zero
    return {"sl": [train_sl.OPTIONS], "value": [train_value.DATA, train_value.TRAIN], "pg": [train_pg.OPTIONS],
            "zero": [train_zero.OPTIONS], "tournament": [tournament.OPTIONS], "datagen": [datagen.OPTIONS],
            "dataset build": [dataset.OPTIONS], "compress prune": [compress.PRUNE_SETTINGS],
            "compress distill": [compress.LOSS, compress.DISTILL_SETTINGS]}


COMMANDS = _commands()
ARGV = {"sl": ["train", "sl"], "value": ["train", "value"], "pg": ["train", "pg"], "zero": ["train", "zero"]}
"""The words of each command (default: the key's words)."""
LEFT_OUT = {  # fields that are no option of the command, and why
    "sl": {"out", "log_every", "checkpoint_seconds", *NET_DATA_FIELDS},  # out: --out/--resume; the rest: internal
    "value": {"data", "out", "rules", "move_cap", "temperature", "seed", *NET_DATA_FIELDS},  # data: generated; rules:
    "pg": {"out", "rules", "schedule", "warmup", "min_lr_ratio", "step_at", "step_gamma"},  # --rules/--komi; constant lr
    "zero": {"out", *NET_DATA_FIELDS},
    "tournament": {"rules", "game.seed"},  # --rules, --komi and --ko make the Rules; game seeds are derived
    "datagen": {"seed"},  # the standard --seed (fresh entropy by default)
    "dataset build": set(), "compress prune": set(), "compress distill": set(),
}
FLAG = {("tournament", "time_per_move"): "time", ("compress prune", "steps"): "finetune-steps"}
"""Options whose flag is not the field's name."""
DEFAULTS = {"compress prune": {"steps": 0}, "compress distill": {"steps": 1000}}
"""Defaults a command sets in place of the field's."""


def fields(cls, skip, default=None, path=()):
    """(name, docstring, default) of every field of `cls` not in `skip` (names or dotted paths), nested
    dataclasses flattened."""
    docs, hints = field_docs(cls), typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip or ".".join(path + (f.name,)) in skip:
            continue
        if f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            value = REQUIRED
        value = value if default is None else getattr(default, f.name)
        if dataclasses.is_dataclass(hints[f.name]):
            yield from fields(hints[f.name], skip, value, path + (f.name,))
        else:
            yield f.name, docs[f.name], value


def help_lines(kind: str, monkeypatch) -> list[str]:
    """The option entries of `rlgo KIND --help`, each joined on one line."""
    monkeypatch.setenv("COLUMNS", "2000")
    argv = ARGV.get(kind, kind.split())
    parser = subcommand_parser(cli.build_parser(argv), argv)
    entries: list[str] = []
    for line in parser.format_help().split(parser.epilog)[0].splitlines():
        if line.startswith("  -"):
            entries.append(line.strip())
        elif line.startswith("   ") and entries:
            entries[-1] += " " + line.strip()
    return entries


@pytest.mark.parametrize("kind", list(COMMANDS))
def test_every_field_is_one_flag_with_its_docstring_and_default(kind, monkeypatch):
    lines = help_lines(kind, monkeypatch)
    classes = {o.cls for o in COMMANDS[kind]}
    seen = set()
    for cls in classes:
        for name, doc, default in fields(cls, LEFT_OUT[kind]):
            if name in seen:
                continue
            seen.add(name)
            default = DEFAULTS.get(kind, {}).get(name, default)
            dashed = FLAG.get((kind, name), name.replace("_", "-"))
            entries = [line for line in lines if line.split()[0].rstrip(",") in (f"--{dashed}", f"--no-{dashed}")]
            assert len(entries) == 1, (name, entries)
            assert first_sentence(doc) in entries[0], (name, entries[0])
            if default is REQUIRED or name in ("sl", "rl"):
                assert "(required)" in entries[0]
            elif default is not None and not isinstance(default, bool):
                shown = " ".join(map(str, default)) if isinstance(default, tuple) else str(default)
                assert f"(default: {repr(shown) if shown == '' else shown})" in entries[0], (name, entries[0])
    assert len(lines) == len({line.split()[0] for line in lines})  # one entry per flag


def _values(option):
    """A hypothesis strategy of plausible values of one option."""
    if option.parse is None:
        return st.booleans()
    if option.choices:
        return st.sampled_from(option.choices)
    if option.name == "rules":
        return st.sampled_from(sorted(PRESETS))
    if option.many:
        return st.lists(st.floats(0.05, 0.95), min_size=1, max_size=3)
    if option.metavar == "N":
        return st.integers(0, 40)
    if option.metavar == "X":
        return st.floats(0.0, 1.0)
    return st.text("abcxyz/.", min_size=1, max_size=8)


def toml_text(values: dict) -> str:
    """TOML of flat {key: value} (numbers, strings, booleans, lists of floats)."""
    return "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items() if value is not None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.data())
@pytest.mark.parametrize("kind", ["sl", "pg", "zero"])
def test_a_config_written_to_toml_loads_back_equal(kind, data, tmp_path):
    (options,) = COMMANDS[kind]
    chosen = data.draw(st.lists(st.sampled_from(options.options), max_size=5, unique_by=lambda o: o.name))
    given_ = {o.name: data.draw(_values(o), label=o.name) for o in chosen}
    try:  # what the command line would let through
        given_ = {o.name: [o.parse(str(v)) for v in given_[o.name]] if o.many else
                  given_[o.name] if o.parse is None else o.parse(str(given_[o.name])) for o in chosen}
    except argparse.ArgumentTypeError:
        return
    required = {"data": "d", "sl": "s.pt"}
    args = argparse.Namespace(**{o.name: None for o in options.options})
    vars(args).update({k: v for k, v in required.items() if hasattr(args, k)}, **given_)
    try:
        cfg = options.config(args, out="runs/x")
    except (ValueError, TypeError) as exc:  # a combination the config refuses
        assert isinstance(exc, (TrainError, NetConfigError, ValueError))
        return
    path = tmp_path / f"{kind}.toml"
    path.write_text(toml_text({"out": "runs/x", **options.flat(cfg)}))
    argv = ["train", kind, "--config", str(path)]
    loaded = cli.build_parser(argv).parse_args(argv)
    assert options.config(loaded, out=str(loaded.out)) == cfg


def test_an_unknown_key_names_the_file_and_the_closest_field(tmp_path):
    path = tmp_path / "z.toml"
    for key, near in (("games_per_gen", "games_per_generation"), ("blcks", "blocks"), ("c-pucct", "c_puct")):
        path.write_text(f"{key} = 3\n")
        with pytest.raises(ConfigError, match=f"^{path}: unknown key '{key}'; did you mean '{near}'\\? valid keys: "):
            cli.build_parser(["train", "zero"]).parse_args(["train", "zero", "--config", str(path)])


def test_a_required_field_missing_everywhere_is_named_by_its_flag(tmp_path):
    from rlgo.commands.train_sl import OPTIONS
    args = cli.build_parser(["train", "sl"]).parse_args(["train", "sl", "--out", str(tmp_path)])
    with pytest.raises(ConfigError, match="--data is required"):
        OPTIONS.config(args, out=str(tmp_path))


def test_flags_of_nested_and_bool_fields_set_them():
    from rlgo.commands.train_sl import OPTIONS
    argv = ["train", "sl", "--data", "d", "--blocks", "3", "--feature-set", "extended", "--no-symmetries",
            "--time-budget-s", "2"]
    cfg = OPTIONS.config(cli.build_parser(argv).parse_args(argv), out="o")
    assert (cfg.net.blocks, cfg.net.feature_set, cfg.symmetries, cfg.time_budget_s) == (3, "extended", False, 2.0)


@pytest.mark.parametrize("words, ray", [([], ""), (["--ray"], "local"), (["--ray", "auto"], "auto"),
                                        (["--ray", "10.0.0.2:6379"], "10.0.0.2:6379")])
def test_an_option_given_alone_takes_its_bare_value(words, ray):
    from rlgo.commands.train_zero import OPTIONS
    argv = ["train", "zero", *words]
    assert OPTIONS.config(cli.build_parser(argv).parse_args(argv), out="o").ray == ray


def test_tournament_flags_fill_the_nested_game_config_and_rules(tmp_path):
    from rlgo.commands.tournament import OPTIONS
    argv = ["tournament", "--agents", "random", "mcts", "--out", str(tmp_path), "--size", "7", "--time", "1.5",
            "--move-cap", "90", "--scoring", "area", "--parallel", "2"]
    cfg = OPTIONS.config(cli.build_parser(argv).parse_args(argv))
    assert (cfg.agents, cfg.parallel, cfg.game.size, cfg.game.time_per_move, cfg.game.move_cap, cfg.game.scoring) \
        == (("random", "mcts"), 2, 7, 1.5, 90, "area")
    assert cfg.game.seed == 0  # left out: each game's seed is derived from the tournament's
