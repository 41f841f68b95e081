"""`rlgo play` with analysis: whose win rate, the expected score, network ownership for `score`, one default agent."""
from __future__ import annotations

import re

import numpy as np
import pytest

from agents.specs import make_agent
from cli import build_parser
from rlgo.commands import DEFAULT_AGENT
from rlgo.go import coords
from rlgo.go.state import BLACK
from rlgo.play.config import GameConfig
from rlgo.play.scoring import score_estimate
from rlgo.play.session import Game
from rlgo.play.terminal import Terminal, TerminalConfig
from tests.test_gtp_gui import SETTLED, SETTLED_LEAD, four_heads, policy_value  # noqa: F401 (fixtures)
from tests.conftest import board_from_ascii
from tests.test_pg import _one_thread  # noqa: F401 (autouse fixture: one torch thread)
from tests.test_play_terminal import scripted


def session(monkeypatch, capsys, tmp_path, spec: str, lines: list[str]) -> str:
    scripted(monkeypatch, lines)
    game = Game(GameConfig(size=9), lambda size, rules: make_agent(spec, size, rules, seed=1),
                lambda size, rules: make_agent("mcts:simulations=100", size, rules, seed=1))
    try:
        Terminal(game, TerminalConfig(plain=True, sgf_dir=tmp_path)).run()
    finally:
        game.close()
    return capsys.readouterr().out


def test_policy_agent_says_no_search_and_its_value_net_win_rate(monkeypatch, capsys, tmp_path, policy_value):
    out = session(monkeypatch, capsys, tmp_path, f"policy:ckpt={policy_value}", ["e5", "hint", "quit"])
    line = re.search(r"White plays \S+  \((.*)\)", out).group(1)
    assert "0 simulations" not in line and "win rate 50%" not in line
    assert re.search(r"no search, prior \d+%, White's win rate \d+%, expected score (B\+|W\+|even)", line)
    hints = re.findall(r"\d\. \S+\s+win\s+\S+%  score\s+(\S+)\s+prior\s+\S+%", out)
    assert len(hints) == 3


def test_mcts_line_names_the_side_and_the_score(monkeypatch, capsys, tmp_path):
    out = session(monkeypatch, capsys, tmp_path, "mcts:simulations=200", ["e5", "hint", "quit"])
    assert re.search(r"White plays \S+  \(\d+\.\ds, \d+ simulations, White's win rate \d+%, expected score "
                     r"(B\+\d+\.\d|W\+\d+\.\d|even)\)", out)
    assert len(re.findall(r"win\s+\S+%  score\s+\S+\s+\d+ simulations", out)) == 3


def test_score_uses_the_network_ownership_head(four_heads):
    agent = make_agent(f"policy:ckpt={four_heads}", 9, None)
    state = board_from_ascii(SETTLED)
    own, expected, source = score_estimate(state, agent=agent)
    judged = agent.estimate([state], fill=False)[0]
    assert "network" in source and expected == pytest.approx(judged.score_lead)  # Black to move: Black's view
    assert np.allclose(own.ravel(), judged.ownership)
    own, expected, source = score_estimate(state, agent=make_agent("random", 9, None))
    assert source == "mean of random rollouts" and expected == pytest.approx(SETTLED_LEAD)
    assert own[0, 0] == 1 and own[0, 8] == -1


def test_play_and_gtp_start_the_same_default_agent():
    defaults = {cmd: build_parser([cmd]).parse_args([cmd]).agent for cmd in ("play", "gtp", "analysis")}
    assert set(defaults.values()) == {DEFAULT_AGENT}


def test_hint_of_a_searching_agent_fills_in_scores():
    game = Game(GameConfig(size=9), lambda size, rules: make_agent("mcts:simulations=100", size, rules, seed=2))
    game.play_human(coords.from_gtp("E5", 9))
    game.agent_move()
    hints = game.hint()
    assert hints and all(h.score_lead is not None and h.visits > 0 for h in hints)
    assert game.state.to_play == BLACK
