"""ZeroAgent and its `zero:` spec: loads a checkpoint, searches with PUCT, plays legal moves, refuses bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.base import RESIGN
from agents.mcts_agent import MCTSAgent
from agents.specs import SpecError, make_agent
from rlgo.go import features
from rlgo.go.rules import Rules
from rlgo.go.state import GameState
from rlgo.nn.checkpoint import CheckpointError, save_checkpoint
from rlgo.nn.model import NetConfig, build_model


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread: tiny batches gain nothing from more, and idle spinning threads crawl on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("zero") / "net.pt"
    save_checkpoint(path, build_model(NetConfig(board_size=5, depth=1, width=8)))
    return path


def test_spec_builds_an_agent_that_plays_a_legal_game(ckpt):
    agent = make_agent(f"zero:ckpt={ckpt},playouts=24,seed=3", size=5, rules=Rules(komi=2.5))
    state = GameState(5, Rules(komi=2.5))
    while not state.is_over and state.move_number < 60:
        move = agent.select_move(state)
        if move == RESIGN:
            break
        assert state.is_legal(move)
        state.play(move)
        assert agent.last_result.playouts == 24
        infos = agent.analysis()
        assert infos and infos[0].visits >= infos[-1].visits and 0 <= infos[0].winrate <= 1
    assert agent.name == "zero-net"


def test_same_seed_same_moves_and_positional_checkpoint(ckpt):
    def game(spec):
        agent, state = make_agent(spec, size=5), GameState(5)
        return [state.play(agent.select_move(state)) or state.moves[-1][1] for _ in range(6)]
    assert game(f"zero:{ckpt},playouts=16,seed=1") == game(f"zero:ckpt={ckpt},playouts=16,seed=1")
    openings = {tuple(game(f"zero:{ckpt},playouts=16,seed={seed},opening=6")) for seed in range(4)}
    assert len(openings) > 1  # drawn in proportion to visits: seeds give different games


def test_bad_specs_and_checkpoints_are_refused(ckpt, tmp_path):
    with pytest.raises(SpecError, match="checkpoint"):
        make_agent("zero:playouts=10", size=5)
    with pytest.raises(SpecError, match="playouts"):
        make_agent(f"zero:ckpt={ckpt},playouts=0", size=5)
    with pytest.raises(CheckpointError, match="board size"):
        make_agent(f"zero:ckpt={ckpt}", size=9)
    with pytest.raises(CheckpointError, match="does not exist"):
        make_agent(f"zero:ckpt={tmp_path / 'missing.pt'}", size=5)
    value_only = tmp_path / "value.pt"
    save_checkpoint(value_only, build_model(NetConfig(board_size=5, depth=1, width=8, heads=("value",))))
    with pytest.raises(ValueError, match="policy"):
        make_agent(f"zero:ckpt={value_only}", size=5)


def test_a_run_folder_means_its_best_network(ckpt, tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "gen-0003.pt").write_bytes(ckpt.read_bytes())
    (run / "best.json").write_text('{"generation": 3, "checkpoint": "checkpoints/gen-0003.pt"}')
    agent = make_agent(f"zero:ckpt={run},playouts=8", size=5)
    assert agent.name == "zero-gen-0003"
    (run / "best.json").write_text('{"generation": 3}')
    with pytest.raises(SpecError, match="damaged"):
        make_agent(f"zero:ckpt={run}", size=5)
    with pytest.raises(SpecError, match="best.json"):
        make_agent(f"zero:ckpt={tmp_path / 'run' / 'checkpoints'}", size=5)


def test_time_limit_alone_bounds_the_search(ckpt):
    agent = make_agent(f"zero:ckpt={ckpt},time=0.3", size=5)
    state = GameState(5)
    agent.select_move(state)
    assert agent.last_result.reason == "time" and agent.last_result.playouts > 8
    assert np.isfinite(agent.last_result.seconds)



def test_pass_guard_replaces_a_pass_while_the_count_is_against_us(ckpt, monkeypatch):
    rules = Rules(komi=2.5)
    guarded = make_agent(f"zero:ckpt={ckpt},playouts=16", size=5, rules=rules)
    free = make_agent(f"zero:ckpt={ckpt},playouts=16,pass_guard=false", size=5, rules=rules)
    behind = GameState(5, rules)
    behind.play(12)  # White to move owns nothing: passing would let Black pass back and win
    for agent in (guarded, free):
        agent.select_move(behind)  # a real search, so there are visited moves to fall back on
    monkeypatch.setattr(MCTSAgent, "select_move", lambda self, state: state.pass_move)  # the search wants to pass
    move = guarded.select_move(behind)
    assert move != behind.pass_move and move == int(np.argmax(guarded.search.visit_counts()[:-1]))
    assert free.select_move(behind) == behind.pass_move
    ahead = GameState(5, rules)
    ahead.play(ahead.pass_move)  # Black passed on an empty board: White leads by komi and may pass
    assert guarded.select_move(ahead) == ahead.pass_move


def test_pass_guard_falls_back_on_the_network_when_the_search_saw_only_pass(ckpt, monkeypatch):
    agent = make_agent(f"zero:ckpt={ckpt},playouts=8", size=5)
    state = GameState(5)
    state.play(12)
    agent.select_move(state)
    monkeypatch.setattr(MCTSAgent, "select_move", lambda self, st: st.pass_move)
    monkeypatch.setattr(MCTSAgent, "_best_non_pass", staticmethod(lambda search, fallback: fallback))
    legal = state.legal_mask()
    priors, _ = agent.evaluator.net(features.encode(state)[None], legal[None])
    priors[0, ~legal] = -1
    priors[0, -1] = -1
    assert agent.select_move(state) == int(np.argmax(priors[0]))
