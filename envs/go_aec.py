"""PettingZoo AEC environment: Go for two agents, black_0 and white_0 (as PettingZoo's go_v5 names them).

Needs the optional extra `pettingzoo` (pip install "rlgo[pettingzoo]").

    from envs.go_aec import env
    game = env(size=9)
    game.reset(seed=0)
    for agent in game.agent_iter():
        observation, reward, termination, truncation, info = game.last()
        mask = observation["action_mask"]
        game.step(None if termination or truncation else int(np.flatnonzero(mask)[0]))

Observations follow go_v5's layout, {"observation": planes, "action_mask": int8 [N*N+1]}, with
the planes of `feature_set` (float32 [C, N, N]) seen from the observing agent's side; the mask
is that agent's legal moves while it is to move, all 0 otherwise. Actions are points
0..N*N-1 (row-major, row 0 at the top) and N*N = pass. At the end (two passes, or `move_cap`
moves scored as they stand) the winner gets +1 and the loser -1 (0 each for jigo). An illegal
action ends the game without being played: -1 for the agent that tried it, 0 for the other,
and its info["illegal_move"] names the reason (go_v5 does the same with TerminateIllegalWrapper).
"""
from __future__ import annotations

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv
from pettingzoo.utils import wrappers

from envs.go_env import GoEnvError, game_rules, mask_observation_space, move_limit, render_board
from rlgo.go.features import encode, feature_planes
from rlgo.go.rules import Rules
from rlgo.go.state import BLACK, EMPTY, WHITE, GameState

AGENTS = ("black_0", "white_0")
"""Agent names in move order, as in PettingZoo's go_v5."""
_COLOR = {"black_0": BLACK, "white_0": WHITE}


def env(**kwargs) -> AECEnv:
    """GoAECEnv wrapped as PettingZoo's classic environments are (out-of-bounds actions and calls out of
    order raise)."""
    return wrappers.OrderEnforcingWrapper(wrappers.AssertOutOfBoundsWrapper(GoAECEnv(**kwargs)))


class GoAECEnv(AECEnv):
    """Go as a PettingZoo AEC environment (module docstring)."""

    metadata = {"render_modes": ["ansi", "human"], "name": "rlgo_go_v0", "is_parallelizable": False,
                "render_fps": 4}

    def __init__(self, size: int = 9, komi: float = 7.5, rules: str | Rules = "chinese", feature_set: str = "agz",
                 move_cap: int | None = None, render_mode: str | None = None):
        """`komi` replaces the komi of `rules` (a preset name or a Rules); move_cap defaults to 3*N*N."""
        super().__init__()
        self.rules = game_rules(rules, komi)
        self.size = GameState(size).size  # validates the size
        self.feature_set = feature_set
        planes = spaces.Box(0.0, 1.0, (feature_planes(feature_set), size, size), np.float32)
        self.move_cap = move_limit(move_cap, size)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise GoEnvError(f"render_mode must be one of {self.metadata['render_modes']} or None, "
                             f"got {render_mode!r}")
        self.render_mode = render_mode
        self.possible_agents = list(AGENTS)
        self.observation_spaces = {a: mask_observation_space(planes, size) for a in AGENTS}
        self.action_spaces = {a: spaces.Discrete(size * size + 1) for a in AGENTS}
        self.state = GameState(size, self.rules)

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self.state = GameState(self.size, self.rules)
        self.agents = list(AGENTS)
        self.agent_selection = AGENTS[0]
        self.rewards = {a: 0.0 for a in AGENTS}
        self._cumulative_rewards = {a: 0.0 for a in AGENTS}
        self.terminations = {a: False for a in AGENTS}
        self.truncations = {a: False for a in AGENTS}
        self.infos = {a: {} for a in AGENTS}

    def observe(self, agent: str) -> dict:
        color = _COLOR[agent]
        view = self.state
        if color != view.to_play:  # the planes are always from the observer's side
            view = view.copy()
            view.set_to_play(color)
        to_move = color == self.state.to_play and not self.terminations[agent]
        mask = self.state.legal_mask() if to_move else np.zeros(self.size ** 2 + 1, dtype=bool)
        return {"observation": encode(view, self.feature_set), "action_mask": mask.astype(np.int8)}

    def step(self, action) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        other = AGENTS[1 - AGENTS.index(agent)]
        reason = self.state.illegal_reason(int(action))
        if reason is not None:
            self._end({agent: -1.0, other: 0.0})
            self.infos[agent] = {"illegal_move": reason}
        else:
            self.state.play(int(action))
            if self.state.is_over or self.state.move_number >= self.move_cap:
                winner = self.state.winner()
                self._end({a: 0.0 if winner == EMPTY else 1.0 if winner == _COLOR[a] else -1.0 for a in AGENTS})
                for a in AGENTS:
                    self.infos[a] = {"result": self.state.result(), "winner": winner}
        self.agent_selection = other
        self._accumulate_rewards()
        if self.render_mode == "human":
            self.render()

    def render(self):
        """'ansi': the board diagram as a str; 'human': print it."""
        return render_board(self.state, self.render_mode)

    def close(self) -> None:
        pass

    def _end(self, rewards: dict[str, float]) -> None:
        self.rewards = rewards
        self.terminations = {a: True for a in AGENTS}
