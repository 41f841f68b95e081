"""The shipped 9x9 networks (agents.default_agent.SHIPPED) and the `default` agent that plays them."""
from __future__ import annotations

import numpy as np
import pytest

from agents.default_agent import MODELS, SHIPPED, BySizeAgent, spec_for
from agents.mcts_agent import MCTSAgent
from agents.specs import make_agent
from agents.zero_agent import ZeroAgent
from rlgo.arena.game import GameConfig
from rlgo.arena.tournament import TournamentConfig, run_tournament
from rlgo.commands import DEFAULT_AGENT
from rlgo.go.rules import KO_RULES, Rules
from rlgo.go.state import BLACK, COLOR_NAMES, GameState
from rlgo.nn.checkpoint import load_checkpoint

INT8, FP32 = (MODELS / name for name in SHIPPED[9])
FAST = f"zero:ckpt={INT8},simulations=16"
"""The default agent's network at a small fixed budget (tests do not time moves)."""


@pytest.mark.parametrize("path, backend", [(INT8, "onnxruntime"), (FP32, "torch")])
def test_the_shipped_networks_load_safely_with_all_four_heads(path, backend):
    model, meta = load_checkpoint(path, expect_board_size=9, backend=backend)
    assert meta.board_size == 9 and meta.feature_set == "extended"
    assert {"policy", "value", "ownership", "score"} <= set(model.cfg.heads)
    if backend == "onnxruntime":
        assert meta.compression["method"] == "int8" and meta.compression["source"]


def test_the_int8_network_agrees_with_its_fp32_original():
    int8, fp32 = make_agent(FAST, size=9, seed=1), make_agent(f"zero:ckpt={FP32},backend=torch", size=9, seed=1)
    states = [GameState(9, Rules(komi=7))]
    for gtp in ("E5", "C3", "G7", "C7", "D6", "F4"):
        states.append(states[-1].copy())
        states[-1].play_gtp(gtp)
    a, b = int8.estimate(states), fp32.estimate(states)
    top = [int(np.argmax(x.policy)) == int(np.argmax(y.policy)) for x, y in zip(a, b)]
    assert sum(top) >= len(states) - 2
    assert max(abs(x.winrate - y.winrate) for x, y in zip(a, b)) < 0.1


def test_the_default_spec_is_the_shipped_network_on_9x9_and_mcts_elsewhere():
    assert DEFAULT_AGENT == "default"
    agent = make_agent(DEFAULT_AGENT, size=9, seed=1)
    assert isinstance(agent, BySizeAgent) and isinstance(agent.current, ZeroAgent)
    assert agent.current.clock.seconds_per_move == 1.0 and str(INT8) in spec_for(9)
    state = GameState(13)
    agent.warm_up(state)
    assert isinstance(agent.current, MCTSAgent) and spec_for(13) == "mcts:time=1"
    agent.close()


@pytest.mark.parametrize("ko", KO_RULES)
def test_the_shipped_network_plays_legal_moves_under_every_ko_rule(ko):
    agent = make_agent(FAST, size=9, rules=Rules(ko=ko), seed=3)
    state = GameState(9, Rules(ko=ko, komi=7))
    for _ in range(60):
        move = agent.select_move(state)
        if move < 0:  # resigned
            break
        assert state.legal_mask()[move], (ko, state.moves)
        state.play(move)
        if state.is_over:
            break
    assert len(state.moves) >= 20


def test_the_network_reads_komi():
    agent = make_agent(FAST, size=9, seed=1)
    komis = (-7.0, 5.5, 9.0, 21.0)
    black = agent.estimate([GameState(9, Rules(komi=komi)) for komi in komis])  # Black to move in each
    assert [e.winrate for e in black] == sorted((e.winrate for e in black), reverse=True)
    assert black[0].winrate > black[-1].winrate + 0.1
    assert black[1].score_lead > black[2].score_lead  # 3.5 points of komi: the score head sees them
    assert 14 < black[0].score_lead - black[-1].score_lead < 42  # 28 points of komi


def test_a_quick_match_against_random_is_won_every_game(tmp_path):
    config = TournamentConfig(agents=(FAST, "random"), out=tmp_path / "t", mode="gauntlet", games_per_pair=4,
                              game=GameConfig(size=9, rules=Rules(komi=7), scoring="area"), seed=5)
    records = run_tournament(config, make_agent)
    assert len(records) == 4
    winners = [r["black"] if r["winner"] == COLOR_NAMES[BLACK] else r["white"] for r in records]
    assert winners == [FAST] * 4, [(r["black"], r["result"]) for r in records]


def test_a_gtp_engine_on_the_default_agent_takes_any_board_size():
    from rlgo.gtp.engine import GTPEngine
    from rlgo.gtp.protocol import parse_command
    engine = GTPEngine(make_agent("default:time=0.2", size=None, seed=2), size=None, rules=Rules(komi=7))
    try:
        for size in (9, 13, 9):
            ok, reply = engine.handle(parse_command(f"boardsize {size}"))
            assert ok, reply
            ok, vertex = engine.handle(parse_command("genmove b"))
            assert ok and engine.state.size == size and len(engine.state.moves) == 1, vertex
        assert isinstance(engine.agent.current, ZeroAgent)  # back on 9x9: the network again
    finally:
        engine.agent.close()
