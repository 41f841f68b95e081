"""The PettingZoo AEC Go environment: PettingZoo's own api_test and seed_test, agent names, rewards, masks."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pettingzoo")
from pettingzoo.test import api_test, seed_test  # noqa: E402

from envs.go_aec import AGENTS, GoAECEnv, env  # noqa: E402
from envs.go_env import GoEnvError  # noqa: E402
from rlgo.go.features import encode  # noqa: E402
from rlgo.go.state import BLACK, EMPTY, WHITE  # noqa: E402


@pytest.mark.filterwarnings("ignore:Observation:UserWarning")  # go_v5's Dict observations warn alike
@pytest.mark.parametrize("make", [lambda: env(size=5), lambda: GoAECEnv(size=5, move_cap=12, feature_set="alphago")])
def test_pettingzoo_api_test_passes(make):
    api_test(make(), num_cycles=300)


def test_pettingzoo_seed_test_passes():
    seed_test(lambda: env(size=5, move_cap=30), num_cycles=100)


def random_masked_game(game, seed: int) -> tuple[list[tuple[str, int]], dict[str, float]]:
    """Play random legal actions (from each observation's mask) to the end; returns the (agent, action)
    list and each agent's final reward as `last()` reports it."""
    rng = np.random.default_rng(seed)
    game.reset(seed=seed)
    played, final = [], {}
    for agent in game.agent_iter():
        observation, reward, termination, truncation, info = game.last()
        if termination or truncation:
            final[agent] = reward
            game.step(None)
            continue
        mask = observation["action_mask"]
        mask[-1] = mask[-1] and (rng.random() < 0.1 or mask[:-1].sum() == 0)
        action = int(rng.choice(np.flatnonzero(mask)))
        played.append((agent, action))
        game.step(action)
    return played, final


@pytest.mark.parametrize("seed", range(4))
def test_agents_alternate_and_the_winner_gets_plus_one(seed):
    game = GoAECEnv(size=5, komi=0.5 + seed, move_cap=60)
    played, final = random_masked_game(game, seed)
    assert game.possible_agents == ["black_0", "white_0"] == list(AGENTS)
    assert [a for a, _ in played] == [AGENTS[i % 2] for i in range(len(played))]
    state = game.state
    assert [m for _, m in state.moves] == [a for _, a in played]
    winner = state.winner()
    expected = {a: 0.0 if winner == EMPTY else 1.0 if winner == c else -1.0 for a, c in zip(AGENTS, (BLACK, WHITE))}
    assert final == expected and game.agents == []
    assert state.is_over or state.move_number == 60


def test_observation_is_from_the_observer_and_the_mask_only_for_the_mover():
    game = GoAECEnv(size=5)
    game.reset()
    game.step(12)  # Black E3 (centre); White to move
    white, black = game.observe("white_0"), game.observe("black_0")
    assert np.array_equal(white["observation"], encode(game.state, "agz"))
    assert np.array_equal(white["action_mask"], game.state.legal_mask().astype(np.int8))
    assert not black["action_mask"].any()
    # plane 0 holds the observer's own stones: Black's centre stone for black_0, nothing for white_0
    assert black["observation"][0, 2, 2] == 1 and white["observation"][0].sum() == 0
    assert white["observation"][8, 2, 2] == 1


def test_illegal_action_ends_the_game_against_the_mover():
    game = GoAECEnv(size=5)
    game.reset()
    game.step(12)
    game.step(12)  # White on the occupied point
    _, reward, termination, _, info = game.last()
    assert termination and game.state.move_number == 1
    assert game.rewards == {"black_0": 0.0, "white_0": -1.0}
    assert game.infos["white_0"]["illegal_move"] == "occupied"


def test_two_passes_score_the_game():
    game = GoAECEnv(size=5, komi=0.5)
    game.reset()
    for action in (12, 25, 25):
        game.step(action)
    assert all(game.terminations.values()) and game.infos["black_0"]["result"] == "B+24.5"
    assert game.rewards == {"black_0": 1.0, "white_0": -1.0}


@pytest.mark.parametrize("kwargs, text", [({"move_cap": 0}, "move_cap"), ({"rules": 7}, "rules"),
                                          ({"render_mode": "rgb_array"}, "rgb_array")])
def test_bad_arguments(kwargs, text):
    with pytest.raises(GoEnvError, match=text):
        GoAECEnv(size=5, **kwargs)


def test_render_ansi():
    game = GoAECEnv(size=5, render_mode="ansi")
    game.reset()
    game.step(12)
    assert game.render() == str(game.state)
