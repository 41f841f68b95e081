"""PolicyAgent and AlphaGoAgent: specs, move choice, leaf-value mixing, time control."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.alphago_agent import AlphaGoAgent, PolicyValueEvaluator
from agents.policy_agent import PolicyAgent, playable_mask
from agents.random_agent import RandomAgent
from agents.specs import SpecError, agent_names, make_agent
from rlgo.arena.game import GameConfig, play_game
from rlgo.go import features
from rlgo.go.rules import Rules
from rlgo.go.state import GameState
from rlgo.nn.checkpoint import CheckpointError, save_checkpoint
from rlgo.nn.inference import PolicyNet
from rlgo.search.evaluator import LeafBatch, encode_planes
from tests.conftest import board_from_ascii
from tests.test_pg import _one_thread, tiny_net  # noqa: F401 (autouse fixture: one torch thread)

RULES = Rules(komi=0.5)




@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    d = tmp_path_factory.mktemp("ag")
    return {"policy": str(save_checkpoint(d / "p.pt", tiny_net(seed=1))),
            "value": str(save_checkpoint(d / "v.pt", tiny_net(heads=("value",), seed=2))),
            "value_alphago": str(save_checkpoint(d / "va.pt", tiny_net(feature_set="alphago", heads=("value",)))),
            "value7": str(save_checkpoint(d / "v7.pt", tiny_net(7, heads=("value",))))}


class ConstantRollout:
    """Every rollout ends with value `z` for the side to move."""

    def __init__(self, z: float):
        self.z = z

    def rollout_values(self, b, m, zob, komi):
        return np.full(b.shape[0], self.z, np.float32)


def leaf_batch(states: list[GameState], feature_set: str = "agz") -> LeafBatch:
    b = np.stack([s.b for s in states])
    m = np.stack([s.m for s in states])
    hist = np.stack([s.position_history(features.HISTORY_LENGTH) for s in states])
    legal = np.stack([s.legal_mask() for s in states])
    return LeafBatch(size=5, b=b, m=m, legal=legal, history=hist, planes=encode_planes(feature_set, 5, b, m, hist),
                     zob=states[0].zob, komi=0.5, amaf=np.zeros((len(states), 0), np.int8))


def some_states() -> list[GameState]:
    rng = np.random.default_rng(0)
    out = []
    for k in range(4):
        s = GameState(5, RULES)
        for _ in range(3 * k):
            s.play(RandomAgent(int(rng.integers(1000))).select_move(s))
        out.append(s)
    return out


def test_specs_are_registered(ckpts):
    assert {"policy", "alphago"} <= set(agent_names())
    assert isinstance(make_agent(f"policy:ckpt={ckpts['policy']}", 5, RULES), PolicyAgent)
    agent = make_agent(f"alphago:ckpt={ckpts['policy']},value={ckpts['value']},lambda=0.3,simulations=50", 5, RULES)
    assert isinstance(agent, AlphaGoAgent) and agent.lam == 0.3 and agent.config.simulations == 50


@pytest.mark.parametrize("spec, error, text", [
    ("policy", SpecError, "needs a checkpoint"),
    ("policy:ckpt=/no/such.pt", CheckpointError, "does not exist"),
    ("policy:ckpt={value}", CheckpointError, "no policy head"),
    ("policy:ckpt={policy},temperature=-1", SpecError, "temperature"),
    ("alphago:ckpt={policy}", SpecError, "give value=PATH or lambda=1"),
    ("alphago:ckpt={policy},value={value7}", CheckpointError, "board size"),
    ("alphago:ckpt={policy},value={policy},lambda=2", SpecError, "lambda must be in"),
    ("alphago:ckpt={value},lambda=1", CheckpointError, "no policy head"),
])
def test_spec_errors(ckpts, spec, error, text):
    with pytest.raises(error, match=text):
        make_agent(spec.format(**ckpts), 5, RULES)


def test_policy_agent_plays_the_argmax_over_playable_moves(ckpts):
    agent = make_agent(f"policy:ckpt={ckpts['policy']}", 5, RULES)
    for state in some_states():
        expected = policy_argmax(state)
        assert agent.select_move(state) == expected
        assert agent.analysis()[0].move == expected


def test_policy_agent_never_fills_its_own_eye(ckpts):
    state = board_from_ascii("""
        .X.X.
        XXXXX
        OOOOO
        .....
        .....
    """, RULES)
    sampler = make_agent(f"policy:ckpt={ckpts['policy']},temperature=3,seed=1", 5, RULES)
    moves = {sampler.select_move(state) for _ in range(60)}
    assert moves and not moves & {0, 2, 4}
    assert playable_mask(state)[[0, 2, 4]].tolist() == [False, False, False]
    assert playable_mask(state, prune_eye_fills=False)[[0, 2, 4]].all()


def policy_argmax(state: GameState) -> int:
    """The checkpoint 'policy' network's most likely playable move, computed directly."""
    with torch.no_grad():
        logits = tiny_net(seed=1).eval()(torch.from_numpy(features.encode(state)[None]))["policy"][0].numpy()
    return int(np.argmax(np.where(playable_mask(state), logits, -np.inf)))


def test_policy_agent_passes_after_a_pass_only_when_ahead(tmp_path):
    net = tiny_net(seed=1)
    with torch.no_grad():
        net.heads["policy"].pass_move.bias.fill_(-100.0)  # the network itself never passes
    agent = make_agent(f"policy:ckpt={save_checkpoint(tmp_path / 'nopass.pt', net)}", 5, RULES)
    ahead = board_from_ascii("""
        ..X..
        XXXXX
        .....
        OOOOO
        ..O..
    """, RULES)
    ahead.play(ahead.pass_move)  # Black passes; White, to move, leads by the komi on the area count
    assert ahead.area_score() < 0 and agent.select_move(ahead) == ahead.pass_move
    behind = board_from_ascii("""
        ..X..
        XXXXX
        .....
        .....
        OOOOO
    """, RULES)
    behind.play(behind.pass_move)  # White is behind by 4.5: the policy decides, and it does not pass
    assert behind.area_score() > 0 and agent.select_move(behind) != behind.pass_move


def test_leaf_values_mix_value_net_and_rollouts(ckpts):
    policy = PolicyNet(tiny_net(seed=1))
    value = tiny_net(heads=("value",), seed=2)
    states = some_states()
    batch = leaf_batch(states)
    with torch.no_grad():
        v_net = value.eval()(torch.from_numpy(batch.planes))["value"].numpy()
    for lam in (0.0, 0.5, 1.0):
        agent = AlphaGoAgent(policy, value, ConstantRollout(-0.6), lam)
        priors, values = agent.evaluator.evaluate(batch)
        np.testing.assert_allclose(values, (1 - lam) * v_net + lam * -0.6, atol=1e-6)
        np.testing.assert_allclose(priors.sum(axis=1), 1.0, rtol=1e-5)
        assert (priors[~batch.legal] == 0).all()


def test_value_net_with_its_own_feature_set(ckpts):
    """A value net on 'alphago' planes behind an 'agz' policy: its planes are encoded from the raw boards."""
    value = tiny_net(feature_set="alphago", heads=("value",))
    evaluator = PolicyValueEvaluator(PolicyNet(tiny_net(seed=1)), value)
    states = some_states()
    _, values = evaluator.evaluate(leaf_batch(states))
    with torch.no_grad():
        expected = value.eval()(torch.from_numpy(np.stack([features.encode(s, "alphago") for s in states])))
    np.testing.assert_allclose(values, expected["value"].numpy(), atol=1e-6)


def test_alphago_finds_the_winning_capture(ckpts):
    """Black loses by 3.5 as the board stands (16 - 9 - 10.5) and wins by capturing the white group at C3:
    rollouts alone (lambda=1) show it and the search plays it rather than pass."""
    state = board_from_ascii("""
        .XXX.
        XOOOX
        XO.OX
        XOOOX
        .XXX.
    """, Rules(komi=10.5))
    agent = make_agent(f"alphago:ckpt={ckpts['policy']},lambda=1,simulations=200,seed=1", 5, RULES)
    assert agent.select_move(state) == 12


def test_alphago_plays_a_legal_game_and_honours_time(ckpts):
    agent = make_agent(f"alphago:ckpt={ckpts['policy']},value={ckpts['value']},simulations=24", 5, RULES)
    result = play_game(agent, RandomAgent(3), GameConfig(size=5, rules=RULES, move_cap=40, scoring="area"))
    assert not result.reason.startswith("forfeit"), result.detail
    timed = make_agent(f"alphago:ckpt={ckpts['policy']},value={ckpts['value']},time=0.3", 5, RULES)
    timed.select_move(GameState(5, RULES))
    assert timed.last_result.reason == "time"
