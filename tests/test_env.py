"""The gymnasium Go environment: API conformance, rewards, masks, illegal actions, seeding."""
import importlib
import re
import warnings
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium.error import InvalidAction, ResetNeeded, UnsupportedMode
from gymnasium.utils.env_checker import check_env

import envs
from agents.base import Agent
from envs.go_env import GoEnv, GoEnvError
from rlgo.go.coords import RESIGN
from rlgo.go.features import FeatureSetError, encode
from rlgo.go.rules import Rules
from rlgo.go.state import BLACK, EMPTY, WHITE


def play_out(env, seed, first=None):
    """Step random legal actions (from info's mask) until the end; returns the transitions."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed) if first is None else first
    steps = []
    done = False
    while not done:
        mask = info["action_mask"].copy()
        mask[-1] = mask[-1] and (rng.random() < 0.1 or mask[:-1].sum() == 0)
        action = int(rng.choice(np.flatnonzero(mask)))
        obs, reward, terminated, truncated, info = env.step(action)
        steps.append((action, obs, reward, terminated, truncated, info))
        done = terminated or truncated
    return steps


@pytest.mark.parametrize("kwargs", [
    {"size": 5},
    {"size": 5, "opponent": "random", "agent_color": "white", "feature_set": "alphago", "render_mode": "ansi"},
])
def test_env_checker_passes(kwargs, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gymnasium.make(envs.GO_ENV_ID, **kwargs).unwrapped)


def test_make_and_spaces():
    env = gymnasium.make("rlgo/Go-v0", size=5)
    obs, info = env.reset(seed=0)
    assert env.action_space.n == 26 and env.observation_space.shape == (17, 5, 5)
    assert obs.dtype == np.float32 and env.observation_space.contains(obs)
    assert info["action_mask"].shape == (26,) and info["action_mask"].all()


def test_registration_is_idempotent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(envs)
    assert gymnasium.spec(envs.GO_ENV_ID).entry_point == "envs.go_env:GoEnv"


@pytest.mark.parametrize("color", ["black", "white"])
def test_episode_against_random_scores_for_the_agent(color):
    env = GoEnv(size=5, opponent="random", agent_color=color)
    agent = BLACK if color == "black" else WHITE
    steps = play_out(env, seed=7)
    state = env.state
    assert all(s[2] == 0.0 for s in steps[:-1])
    *_, reward, terminated, truncated, info = steps[-1]
    assert terminated and not truncated and reward in (-1.0, 0.0, 1.0)
    score = state.score()  # Black - White - komi
    winner = BLACK if score > 0 else WHITE if score < 0 else EMPTY
    assert info["winner"] == winner and reward == (0.0 if winner == EMPTY else 1.0 if winner == agent else -1.0)
    assert [c for c, _ in state.moves] == [BLACK, WHITE] * (len(state.moves) // 2) + [BLACK] * (len(state.moves) % 2)
    assert all(state.moves[i][1] == a for i, (a, *_) in zip(range(agent - 1, len(state.moves), 2), steps))


def test_self_play_rewards_the_player_who_moved_last():
    env = GoEnv(size=5, move_cap=40)
    steps = play_out(env, seed=3)
    mover = env.state.moves[-1][0]
    winner = env.state.winner()
    assert steps[-1][2] == (0.0 if winner == EMPTY else 1.0 if winner == mover else -1.0)
    assert env.state.move_number == len(steps) <= 40


def test_komi_replaces_the_komi_of_the_rules():
    env = GoEnv(size=5, rules=Rules(ko="simple", komi=0.5), komi=2.0)
    assert env.rules == Rules(ko="simple", komi=2.0)
    assert GoEnv(size=5, rules="japanese").rules.scoring == "territory"


def test_max_moves_ends_and_scores_the_game():
    env = GoEnv(size=5, move_cap=3, komi=0.5)
    env.reset(seed=0)
    for action in (12, 0, 6):
        *_, reward, terminated, _, info = env.step(action)
    assert terminated and info["result"] == "B+0.5" and reward == 1.0  # 2 stones - 1 - komi; Black moved last


def test_action_mask_and_observation_follow_the_state():
    env = GoEnv(size=6, opponent="random", feature_set="alphago")
    obs, info = env.reset(seed=11)
    rng = np.random.default_rng(0)
    while True:
        assert np.array_equal(info["action_mask"], env.state.legal_mask())
        assert np.array_equal(obs, encode(env.state, "alphago"))
        obs, reward, terminated, _, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"][:-1]))))
        if terminated or not info["action_mask"][:-1].any():
            break


def test_illegal_action_ends_the_episode_without_playing():
    env = GoEnv(size=5)
    env.reset(seed=0)
    env.step(12)
    before = env.state.board().copy()
    obs, reward, terminated, truncated, info = env.step(12)
    assert (reward, terminated, truncated, info["illegal_move"]) == (-1.0, True, False, "occupied")
    assert np.array_equal(env.state.board(), before) and env.state.move_number == 1
    with pytest.raises(ResetNeeded):
        env.step(0)


@pytest.mark.parametrize("action", [-1, 26, 3.5, "pass"])
def test_out_of_range_action_raises(action):
    env = GoEnv(size=5)
    env.reset(seed=0)
    with pytest.raises(InvalidAction, match=repr(action)):
        env.step(action)


def test_same_seed_same_episode():
    runs = [play_out(GoEnv(size=5, opponent="random", feature_set="alphago"), seed=5) for _ in range(2)]
    assert len(runs[0]) == len(runs[1])
    for a, b in zip(*runs):
        assert a[0] == b[0] and np.array_equal(a[1], b[1]) and a[2:5] == b[2:5]
        assert np.array_equal(a[5]["action_mask"], b[5]["action_mask"])
    games = {tuple(GoEnv(size=5, opponent="random").reset(seed=s)[0][8].ravel()) for s in range(6)}
    white = {tuple(np.flatnonzero(GoEnv(size=5, opponent="random", agent_color="white").reset(seed=s)[0][8]))
             for s in range(6)}
    assert len(games) == 1 and len(white) > 1  # the opponent's opening move depends on the seed


class _Resigner(Agent):
    def select_move(self, state):
        return RESIGN


def test_resigning_opponent_loses():
    env = GoEnv(size=5, opponent=_Resigner())
    env.reset(seed=0)
    *_, reward, terminated, _, info = env.step(0)
    assert terminated and reward == 1.0 and info["result"] == "B+R"


def test_render_modes(capsys):
    env = GoEnv(size=5, render_mode="ansi")
    env.reset(seed=0)
    env.step(12)
    assert env.render() == str(env.state) and "(X)" in env.render()
    human = GoEnv(size=5, render_mode="human")
    human.reset(seed=0)
    assert human.render() is None and str(human.state) in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, error, text", [
    ({"opponent": "bogus"}, GoEnvError, "bogus"),
    ({"render_mode": "rgb_array"}, UnsupportedMode, "rgb_array"),
    ({"feature_set": "nope"}, FeatureSetError, "nope"),
    ({"move_cap": 0}, GoEnvError, "0"),
    ({"rules": "nope"}, ValueError, "nope"),
    ({"rules": 42}, GoEnvError, "42"),
    ({"agent_color": "red"}, GoEnvError, "red"),
])
def test_bad_arguments(kwargs, error, text):
    with pytest.raises(error, match=text):
        GoEnv(size=5, **kwargs)


# ----------------------------------------------------------------- masks for RL toolkits, spec opponents
def test_action_masks_is_the_info_mask_and_empty_after_the_end():
    env = GoEnv(size=5, opponent="random", move_cap=30)
    obs, info = env.reset(seed=2)
    rng = np.random.default_rng(2)
    done = False
    while not done:
        assert env.action_masks().dtype == bool and np.array_equal(env.action_masks(), info["action_mask"])
        assert np.array_equal(env.action_masks(), env.state.legal_mask())
        obs, reward, done, _, info = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
    assert not env.action_masks().any() and not info["action_mask"].any()


@pytest.mark.parametrize("opponent", ["self", "random"])
def test_dict_observation_carries_the_mask_as_pettingzoo_does(opponent):
    env = gymnasium.make(envs.GO_ENV_ID, size=5, opponent=opponent, dict_observation=True).unwrapped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env)
    obs, info = env.reset(seed=4)
    assert set(obs) == {"observation", "action_mask"} and obs["action_mask"].dtype == np.int8
    assert env.observation_space.contains(obs)
    rng = np.random.default_rng(4)
    done = False
    while not done:
        assert np.array_equal(obs["action_mask"], info["action_mask"].astype(np.int8))
        assert np.array_equal(obs["observation"], encode(env.state, "agz"))
        obs, _, done, _, info = env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
    assert not obs["action_mask"].any()


def test_opponent_from_an_agent_spec_replies_with_its_search():
    env = GoEnv(size=5, opponent="mcts:simulations=16", agent_color="white")
    obs, info = env.reset(seed=0)
    assert env.state.move_number == 1 and env.opponent.name.startswith("mcts")  # the opponent opened
    steps = play_out(env, seed=0, first=(obs, info))
    assert steps[-1][3] and env.state.move_number >= len(steps) * 2 - 1
    with pytest.raises(GoEnvError, match="playoutz"):
        GoEnv(size=5, opponent="mcts:playoutz=5")


def test_spec_opponent_is_built_by_the_factory_and_reseeded_on_seeded_resets():
    calls = []

    def factory(spec, size, rules, seed):
        calls.append((spec, size, rules.komi, seed))
        return make_agent(spec, size=size, rules=rules, seed=seed)

    from agents.specs import make_agent
    env = GoEnv(size=5, komi=3.5, opponent="random", agent_color="white", opponent_factory=factory)
    first = env.reset(seed=9)[0]
    env.reset()  # unseeded: the same opponent goes on
    again = env.reset(seed=9)[0]
    assert [c[:3] for c in calls] == [("random", 5, 3.5)] * 3
    assert calls[0][3] is None and calls[1][3] == calls[2][3] is not None
    assert np.array_equal(first, again)


def test_maskable_ppo_trains_a_few_steps_if_installed():
    """sb3-contrib is optional (not in CI): the test runs only where it is installed."""
    ppo = pytest.importorskip("sb3_contrib")
    model = ppo.MaskablePPO("MlpPolicy", GoEnv(size=5, opponent="random", move_cap=30), n_steps=32, batch_size=16,
                            n_epochs=1, seed=0, device="cpu")
    model.learn(64)
    assert model.num_timesteps >= 64


def readme_env_blocks() -> list[str]:
    """The Python blocks of the README's environment section."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("### Environments for RL toolkits", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


@pytest.mark.parametrize("index", range(3))
def test_readme_environment_examples_run(index, capsys):
    code = readme_env_blocks()[index]
    for module in ("sb3_contrib", "pettingzoo"):
        if module in code:
            pytest.importorskip(module)
    exec(compile(code, f"README.md env example {index}", "exec"), {})
    if index == 0:
        result, _, reward = capsys.readouterr().out.split()
        assert result[0] in "BW0" and float(reward) in (-1.0, 0.0, 1.0)
