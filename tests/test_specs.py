"""Agent specs: parsing, typed values, quoting, errors that list the valid choices, the registry."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from agents.random_agent import RandomAgent
from agents.specs import (
    SpecError, agent_names, describe_agents, gnugo_command, lookup, make_agent, parse_spec, register_agent, split_spec,
)
from rlgo.go.rules import Rules, rules_from_name
from rlgo.go.state import GameState


@pytest.mark.parametrize("spec, name, items", [
    ("random", "random", []),
    ("random:seed=3", "random", [("seed", "3")]),
    ("mcts:simulations=2000", "mcts", [("simulations", "2000")]),
    ("zero:ckpt=runs/a b/x.pt,simulations=200", "zero", [("ckpt", "runs/a b/x.pt"), ("simulations", "200")]),
    ('gtp:"/usr/games/gnugo --mode gtp --level 10"', "gtp", [(None, "/usr/games/gnugo --mode gtp --level 10")]),
    ("gtp:'a, \\'b\\'',timeout=5", "gtp", [(None, "a, 'b'"), ("timeout", "5")]),
    ('gtp:command="x=1,y",name=e', "gtp", [("command", "x=1,y"), ("name", "e")]),
    (" gnugo : level = 1 ", "gnugo", [("level", "1")]),
])
def test_split_spec(spec, name, items):
    assert split_spec(spec) == (name, items)


@pytest.mark.parametrize("spec, message", [
    ("", "invalid agent spec"), (":x", "invalid agent spec"), ("ran dom", "invalid agent spec"),
    ("random:", "empty value"), ("random:seed=1,", "empty value"), ('gtp:"unterminated', "unterminated"),
    ('gtp:"a"b', "expected ','"),
])
def test_malformed_specs(spec, message):
    with pytest.raises(SpecError, match=message):
        split_spec(spec)


def test_unknown_name_lists_valid_agents():
    with pytest.raises(SpecError) as info:
        parse_spec("alphagoo:ckpt=x")
    text = str(info.value)
    assert "alphagoo" in text
    for name in ("random", "gnugo", "gtp", "mcts"):
        assert name in text


@pytest.mark.parametrize("spec, message", [
    ("random:sed=3", "unknown key 'sed'; valid keys: seed"),
    ("random:seed=three", "seed must be int, got 'three'"),
    ("random:3", "needs a key; valid keys: seed"),
    ("random:seed=1,seed=2", "given twice"),
    ("mcts:time=fast", "time must be float"),
    ("gnugo:level=11", "level must be in 0..10"),
    ("gtp", "needs an engine command"),
])
def test_bad_keys_and_values(spec, message):
    with pytest.raises(SpecError, match=message):
        make_agent(spec)


def test_typed_values_and_seed_injection():
    calls = []

    def factory(size, rules, **values):
        calls.append((size, rules, values))
        return RandomAgent(values.get("seed"))

    register_agent("probe_test", factory, {"seed": (int, "seed"), "temp": (float, "t"), "greedy": (bool, "g"),
                                           "path": (str, "p")}, positional="path")
    make_agent('probe_test:temp=0.5,greedy=yes,"a,b"', size=7, rules=Rules(komi=5.5), seed=9)
    make_agent("probe_test:seed=1,greedy=off", seed=9)
    assert calls[0][0] == 7 and calls[0][1].komi == 5.5
    assert calls[0][2] == {"temp": 0.5, "greedy": True, "path": "a,b", "seed": 9}
    assert calls[1][2] == {"seed": 1, "greedy": False}  # an explicit seed wins
    with pytest.raises(SpecError, match="greedy must be bool"):
        make_agent("probe_test:greedy=maybe")
    assert "probe_test" in agent_names() and "temp=FLOAT" in describe_agents()


def test_register_rejects_bad_definitions():
    with pytest.raises(SpecError):
        register_agent("bad name", lambda **k: None, {})
    with pytest.raises(SpecError):
        register_agent("ok_name", lambda **k: None, {"a": (int, "")}, positional="b")


def test_random_spec_builds_the_seeded_agent():
    state = GameState(9)
    assert make_agent("random:seed=4").select_move(state) == RandomAgent(4).select_move(state)


def test_plugin_module_is_imported_on_first_use():
    entry = lookup("mcts")
    assert "simulations" in entry.keys and "time" in entry.keys
    agent = make_agent("mcts:simulations=16,seed=2", size=7)
    assert agent.config.simulations == 16


@pytest.mark.parametrize("rules, flags, absent", [
    (rules_from_name("gnugo"), ["--chinese-rules"], ["--positional-superko", "--allow-all-suicide"]),
    (rules_from_name("chinese"), ["--chinese-rules", "--positional-superko"], ["--allow-all-suicide"]),
    (rules_from_name("tromp-taylor"), ["--positional-superko", "--allow-all-suicide"], []),
    (rules_from_name("japanese"), ["--japanese-rules"], ["--chinese-rules"]),
    (Rules(ko="situational"), ["--situational-superko"], []),
])
def test_gnugo_command_follows_the_rules(rules, flags, absent):
    argv = gnugo_command(3, rules)
    assert argv[:5] == ["/usr/games/gnugo", "--mode", "gtp", "--level", "3"]
    assert all(f in argv for f in flags) and not any(f in argv for f in absent)


def test_gnugo_alias_builds_a_gtp_agent_without_starting_it():
    agent = make_agent("gnugo:level=1,timeout=7", rules=rules_from_name("gnugo"))
    assert agent.per_move_timeout == 7 and agent.name == "gnugo-1" and "--level" in agent.command
    agent.close()


_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20).filter(lambda t: t.strip() == t)


@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), _text, min_size=1, max_size=4))
def test_quoted_values_round_trip(values):
    def quote(text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    spec = "x:" + ",".join(f"{k}={quote(v)}" for k, v in values.items())
    assert split_spec(spec) == ("x", list(values.items()))


def test_an_agent_without_a_given_seed_gets_fresh_entropy():
    seen = []
    register_agent("seed_probe_test", lambda size, rules, seed=0: seen.append(seed), {"seed": (int, "seed")})
    for _ in range(4):
        make_agent("seed_probe_test")
    make_agent("seed_probe_test", seed=7)
    make_agent("seed_probe_test:seed=3", seed=7)
    assert len(set(seen[:4])) == 4 and all(0 <= s < 2 ** 31 for s in seen[:4])  # never the factory's 0
    assert seen[4:] == [7, 3]


def test_two_unseeded_search_agents_do_not_replay_one_game():
    def opening(agent, moves=6):
        state = GameState(5)
        for _ in range(moves):
            state.play(agent.select_move(state))
        return [p for _, p in state.moves]

    games = {tuple(opening(make_agent("mcts:simulations=24", size=5))) for _ in range(4)}
    assert len(games) > 1
    same = {tuple(opening(make_agent("mcts:simulations=24", size=5, seed=11))) for _ in range(2)}
    assert len(same) == 1
