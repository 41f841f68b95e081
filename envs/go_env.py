"""Gymnasium environment: Go on an N x N board, against itself or against an agent."""
from __future__ import annotations

from typing import Callable, Protocol

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import InvalidAction, ResetNeeded, UnsupportedMode

from rlgo.go.coords import RESIGN
from rlgo.go.errors import GoError
from rlgo.go.features import encode, feature_planes
from rlgo.go.rules import Rules, rules_from_name
from rlgo.go.state import BLACK, EMPTY, WHITE, GameState

_COLORS = {"black": BLACK, "white": WHITE}


class GoEnvError(GoError, ValueError):
    """A GoEnv argument that is not valid (rules, opponent, agent_color, move_cap)."""


class Opponent(Protocol):
    """What GoEnv needs of an opponent (any rlgo agent): a move for the side to move, or RESIGN."""

    def select_move(self, state: GameState) -> int: ...

    def reset(self) -> None: ...


def make_opponent(spec: str, size: int, rules: Rules, seed: int | None):
    """The default opponent factory: the agent of an rlgo agent spec (agents.specs.make_agent).

    Imported here, when an env first needs it, so that envs does not depend on the agents package
    at import time; pass `opponent_factory` to GoEnv to build opponents some other way.
    """
    from agents.specs import make_agent
    return make_agent(spec, size=size, rules=rules, seed=seed)


def game_rules(rules: str | Rules, komi: float) -> Rules:
    """`rules` (a preset name or a Rules) with `komi`."""
    base = rules_from_name(rules) if isinstance(rules, str) else rules
    if not isinstance(base, Rules):
        raise GoEnvError(f"rules must be a preset name or a Rules, got {rules!r}")
    return base.with_komi(komi)


def move_limit(move_cap: int | None, size: int) -> int:
    """The move cap of an episode (default 3*N*N)."""
    limit = 3 * size * size if move_cap is None else move_cap
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise GoEnvError(f"move_cap must be a positive integer, got {move_cap!r}")
    return limit


def render_board(state: GameState, render_mode: str | None):
    """'ansi': the board diagram as a str; 'human': print it; None: nothing."""
    text = str(state)
    if render_mode == "ansi":
        return text
    if render_mode == "human":
        print(text)
    return None


def mask_observation_space(planes: spaces.Box, size: int) -> spaces.Dict:
    """PettingZoo's observation layout: {"observation": planes, "action_mask": int8 [N*N+1]}."""
    return spaces.Dict({"observation": planes, "action_mask": spaces.Box(0, 1, (size * size + 1,), np.int8)})


class GoEnv(gym.Env):
    """Go as a gymnasium environment.

    Actions are points 0..N*N-1 (row-major, row 0 at the top) and N*N = pass; the
    observation is the feature planes of `feature_set` for the side to move, float32
    [C, N, N] in {0, 1}; info["action_mask"] is bool [N*N+1], the legal moves of the side to
    move (all False once the game is over).

    `action_masks()` returns the same mask (the method MaskablePPO of sb3-contrib calls);
    with dict_observation=True the observation is PettingZoo's layout instead,
    {"observation": planes, "action_mask": int8 [N*N+1]}.

    opponent="self": the agent plays both colours in turn; the reward (+1 win, -1 loss, 0
    jigo, 0 before the end) is from the point of view of the player who just moved.
    opponent=an agent spec ("random", "mcts:simulations=50", "zero:ckpt=PATH", ...) or an agent
    object (any `select_move(state)`, such as an `agents.base.Agent`): the agent plays
    `agent_color` and the opponent replies inside `step` (and opens inside `reset` when the
    agent is White); the reward is from the agent's point of view. A spec is built by
    `opponent_factory(spec, size=, rules=, seed=)` (default `make_opponent`), again on every
    seeded reset with a seed drawn from the env's generator. An opponent that resigns loses.

    The game ends after two consecutive passes (terminated) or, scored as it stands, once
    `move_cap` moves have been played (also terminated: the cap is a rule of this game).
    info then holds "result" ('B+3.5', 'W+R', '0') and "winner" (1 Black, 2 White, 0 jigo).

    Illegal actions: an action in the action space that the rules forbid (occupied,
    suicide, ko, superko) is not played and nothing else is played instead: the episode
    ends (terminated) with reward -1 for the side that tried it and info["illegal_move"] =
    the reason. An action outside 0..N*N raises gymnasium.error.InvalidAction; `step` after
    the end raises gymnasium.error.ResetNeeded.
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}

    def __init__(self, size: int = 9, komi: float = 7.5, rules: str | Rules = "chinese",
                 feature_set: str = "agz", opponent: str | Opponent = "self", agent_color: str = "black",
                 render_mode: str | None = None, move_cap: int | None = None, dict_observation: bool = False,
                 opponent_factory: Callable = make_opponent):
        """`komi` replaces the komi of `rules` (a preset name or a Rules); move_cap defaults to 3*N*N."""
        self.rules = game_rules(rules, komi)
        self.size = GameState(size).size  # validates the size
        self.feature_set = feature_set
        planes = feature_planes(feature_set)
        self.opponent_spec, self.opponent_factory = opponent, opponent_factory
        self.opponent: Opponent | None = None
        if isinstance(opponent, str) and opponent != "self":
            self.opponent = self._build_opponent(None)  # a bad spec fails here, not at the first reset
        elif not (opponent == "self" or callable(getattr(opponent, "select_move", None))):
            raise GoEnvError(f"opponent must be 'self', an agent spec or an agent, got {opponent!r}")
        if agent_color not in _COLORS:
            raise GoEnvError(f"agent_color must be 'black' or 'white', got {agent_color!r}")
        self.agent_color = _COLORS[agent_color]
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise UnsupportedMode(f"render_mode must be one of {self.metadata['render_modes']} or None, "
                                  f"got {render_mode!r}")
        self.render_mode = render_mode
        self.move_cap = move_limit(move_cap, size)
        self.action_space = spaces.Discrete(size * size + 1)
        self.observation_space = spaces.Box(0.0, 1.0, (planes, size, size), np.float32)
        self.dict_observation = dict_observation
        if dict_observation:
            self.observation_space = mask_observation_space(self.observation_space, size)
        self.state = GameState(size, self.rules)
        self._done = True

    # ----------------------------------------------------------------- gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.state = GameState(self.size, self.rules)
        self._done = False
        if isinstance(self.opponent_spec, str) and self.opponent_spec != "self" and seed is not None:
            self.opponent = self._build_opponent(int(self.np_random.integers(2 ** 31)))
        elif self.opponent_spec != "self":
            self.opponent = self.opponent if isinstance(self.opponent_spec, str) else self.opponent_spec
            self.opponent.reset()
        if self.opponent is not None and self.agent_color != self.state.to_play:
            self._opponent_move()
        if self.render_mode == "human":
            self.render()
        return self._observation(), self._info()

    def step(self, action):
        if self._done:
            raise ResetNeeded("the episode is over; call reset() before step()")
        if not self.action_space.contains(action):
            raise InvalidAction(f"action must be an integer in 0..{self.size ** 2} (N*N = pass), got {action!r}")
        action = int(action)
        mover = self.state.to_play
        perspective = mover if self.opponent is None else self.agent_color
        reason = self.state.illegal_reason(action)
        if reason is not None:
            self._done = True
            info = self._info()
            info["illegal_move"] = reason
            return self._observation(), -1.0, True, False, info
        self.state.play(action)
        if self.opponent is not None and not self._game_over():
            self._opponent_move()
        reward = 0.0
        self._done = self._game_over()
        info = self._info()
        if self._done:
            winner = self.state.winner()
            reward = 0.0 if winner == EMPTY else (1.0 if winner == perspective else -1.0)
            info["result"] = self.state.result()
            info["winner"] = winner
        if self.render_mode == "human":
            self.render()
        return self._observation(), reward, self._done, False, info

    def action_masks(self) -> np.ndarray:
        """The legal moves of the side to move, bool [N*N+1] (all False once the episode is over)."""
        return self.state.legal_mask() if not self._done else np.zeros(self.size ** 2 + 1, dtype=bool)

    def render(self):
        """'ansi': the board diagram as a str; 'human': print it."""
        return render_board(self.state, self.render_mode)

    # ----------------------------------------------------------------- private
    def _game_over(self) -> bool:
        return self.state.is_over or self.state.move_number >= self.move_cap

    def _build_opponent(self, seed: int | None) -> Opponent:
        try:
            return self.opponent_factory(self.opponent_spec, size=self.size, rules=self.rules, seed=seed)
        except ValueError as exc:  # an unknown agent or key (agents.specs.SpecError)
            raise GoEnvError(f"opponent {self.opponent_spec!r}: {exc}") from None

    def _opponent_move(self) -> None:
        move = self.opponent.select_move(self.state)
        if move == RESIGN:
            self.state.resign()
        else:
            self.state.play(move)

    def _observation(self):
        planes = encode(self.state, self.feature_set)
        if not self.dict_observation:
            return planes
        return {"observation": planes, "action_mask": self.action_masks().astype(np.int8)}

    def _info(self) -> dict:
        return {"action_mask": self.action_masks(), "to_play": self.state.to_play,
                "move_number": self.state.move_number}
