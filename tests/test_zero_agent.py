"""ZeroAgent and its `zero:` spec: loads a checkpoint, searches with PUCT, plays legal moves, refuses bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.specs import SpecError, make_agent
from agents.zero_agent import THREAD_LEAVES, ZERO_CONFIG, ZeroAgent
from rlgo.go.coords import RESIGN
from rlgo.go.deadstones import dead_stones
from rlgo.go.rules import Rules
from rlgo.go.state import BLACK, WHITE, GameState
from rlgo.search.evaluator import NetworkEvaluator
from rlgo.search.mcts import mover_lead
from tests.conftest import board_from_ascii
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
    save_checkpoint(path, build_model(NetConfig(board_size=5, blocks=1, width=8)))
    return path


def test_spec_builds_an_agent_that_plays_a_legal_game(ckpt):
    agent = make_agent(f"zero:ckpt={ckpt},simulations=24,seed=3", size=5, rules=Rules(komi=2.5))
    state = GameState(5, Rules(komi=2.5))
    while not state.is_over and state.move_number < 60:
        move = agent.select_move(state)
        if move == RESIGN:
            break
        assert state.is_legal(move)
        state.play(move)
        assert agent.last_result.simulations == 24
        infos = agent.analysis()
        assert infos and infos[0].visits >= infos[-1].visits and 0 <= infos[0].winrate <= 1
    assert agent.name == "zero-net"


def test_same_seed_same_moves_and_positional_checkpoint(ckpt):
    def game(spec):
        agent, state = make_agent(spec, size=5), GameState(5)
        return [state.play(agent.select_move(state)) or state.moves[-1][1] for _ in range(6)]
    assert game(f"zero:{ckpt},simulations=16,seed=1") == game(f"zero:ckpt={ckpt},simulations=16,seed=1")
    openings = {tuple(game(f"zero:{ckpt},simulations=16,seed={seed},temperature_moves=6")) for seed in range(4)}
    assert len(openings) > 1  # drawn in proportion to visits: seeds give different games


def test_bad_specs_and_checkpoints_are_refused(ckpt, tmp_path):
    with pytest.raises(SpecError, match="checkpoint"):
        make_agent("zero:simulations=10", size=5)
    with pytest.raises(SpecError, match="simulations"):
        make_agent(f"zero:ckpt={ckpt},simulations=0", size=5)
    with pytest.raises(CheckpointError, match="board size"):
        make_agent(f"zero:ckpt={ckpt}", size=9)
    with pytest.raises(CheckpointError, match="does not exist"):
        make_agent(f"zero:ckpt={tmp_path / 'missing.pt'}", size=5)
    value_only = tmp_path / "value.pt"
    save_checkpoint(value_only, build_model(NetConfig(board_size=5, blocks=1, width=8, heads=("value",))))
    with pytest.raises(ValueError, match="policy"):
        make_agent(f"zero:ckpt={value_only}", size=5)


def test_a_run_folder_means_its_best_network(ckpt, tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "gen-0003.pt").write_bytes(ckpt.read_bytes())
    (run / "best.json").write_text('{"generation": 3, "checkpoint": "checkpoints/gen-0003.pt"}')
    agent = make_agent(f"zero:ckpt={run},simulations=8", size=5)
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
    assert agent.last_result.reason == "time" and agent.last_result.simulations > 8
    assert np.isfinite(agent.last_result.seconds)



# Black's three left-hand groups live; the four white stones on column B are dead. White has just
# passed: the raw area count says Black is 5.5 behind, with the dead stones removed Black leads by 10.5.
DEAD_IN_BLACKS_AREA = """
    . O . X . X . O .
    X X X X X X O O O
    . O . X X X O . .
    X X X X X O O . .
    . O . X X O . . .
    X X X X X O . . .
    . O . X X O . . .
    X X X X X O O . .
    . . X X X X O . .
"""
# Every empty point is a single-point eye of Black; with komi 30.5 Black is behind on any count.
ONLY_EYES = """
    . X . X .
    X X X X X
    . X . X .
    X X X X X
    . X . X .
"""


def loves_pass(planes, legal):
    """A 'network' whose favourite move is always pass, with even values."""
    priors = np.where(legal, 1e-3, 0.0)
    priors[:, -1] = 1.0
    return (priors / priors.sum(axis=1, keepdims=True)).astype(np.float32), np.zeros(len(legal), np.float32)


def test_passes_when_the_count_without_dead_stones_favours_it(ckpt):
    state = board_from_ascii(DEAD_IN_BLACKS_AREA, to_play=WHITE)
    state.play(state.pass_move)
    dead = dead_stones(state)
    assert len(dead) == 4 and mover_lead(state) < 0 < mover_lead(state, dead)  # the fixture is what it says
    agent = ZeroAgent(NetworkEvaluator(loves_pass, board_size=9), simulations=32)
    assert agent.select_move(state) == state.pass_move


def test_never_fills_its_own_eyes_when_behind(ckpt):
    rules = Rules(komi=30.5)
    state = board_from_ascii(ONLY_EYES, rules, to_play=BLACK)
    assert mover_lead(state) < 0 and all(state.fills_own_eye(int(p)) for p in np.flatnonzero(state.legal_mask()[:-1]))
    for agent in (make_agent(f"zero:ckpt={ckpt},simulations=16", size=5, rules=rules),
                  ZeroAgent(NetworkEvaluator(loves_pass, board_size=5), simulations=16)):
        assert agent.select_move(state) == state.pass_move


def test_pass_rule_plays_on_while_the_count_is_against_us():
    rules = Rules(komi=2.5)
    guarded = ZeroAgent(NetworkEvaluator(loves_pass, board_size=5), simulations=16)
    free = ZeroAgent(NetworkEvaluator(loves_pass, board_size=5), simulations=16, pass_guard=False)
    behind = GameState(5, rules)
    behind.play(12)  # White to move owns nothing: passing would let Black pass back and win
    move = guarded.select_move(behind)
    assert move != behind.pass_move and behind.is_legal(move) and not behind.fills_own_eye(move)
    assert free.select_move(behind) == behind.pass_move
    ahead = GameState(5, rules)
    ahead.play(ahead.pass_move)  # Black passed on an empty board: White leads by komi and may pass
    assert guarded.select_move(ahead) == ahead.pass_move


def test_threads_key_sets_the_network_threads_default_one(ckpt):
    torch.set_num_threads(2)
    one = make_agent(f"zero:ckpt={ckpt},simulations=8", size=5)
    assert torch.get_num_threads() == 1 and one.config.batch_size == ZERO_CONFIG.batch_size
    on_torch = make_agent(f"zero:ckpt={ckpt},simulations=8,threads=2,backend=torch", size=5)
    assert torch.get_num_threads() == 2 and on_torch.config.batch_size == 2 * THREAD_LEAVES
    two = make_agent(f"zero:ckpt={ckpt},simulations=8,threads=2,backend=onnxruntime", size=5)
    # the ONNX Runtime net cuts each batch between its 2 threads; torch, left with its small ops, keeps one
    assert two.networks()[0].threads == 2 and torch.get_num_threads() == 1
    assert two.config.batch_size == 2 * THREAD_LEAVES
    torch.set_num_threads(1)
    with pytest.raises(SpecError, match="threads"):
        make_agent(f"zero:ckpt={ckpt},threads=-1", size=5)


def test_gumbel_root_by_spec(ckpt):
    agent = make_agent(f"zero:ckpt={ckpt},simulations=17,root=gumbel,m=4,seed=2", size=5)
    assert agent.config.root == "gumbel" and agent.config.gumbel_m == 4
    state = GameState(5)
    for _ in range(4):
        move = agent.select_move(state)
        assert state.is_legal(move) and agent.last_result.simulations == 17
        state.play(move)
    with pytest.raises(SpecError, match="root"):
        make_agent(f"zero:ckpt={ckpt},root=sampled", size=5)
