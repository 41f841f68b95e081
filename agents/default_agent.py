"""The `default` agent of `rlgo play`, `rlgo gtp` and `rlgo analysis`: the network shipped for the board
size (models/, see SHIPPED) searching by time, else `mcts` with the same time per move.

One agent object plays every board size (a GUI may send `boardsize 19` to an engine started for
9x9): `BySizeAgent` builds the agent of a size when a game of that size first comes and hands
each call to it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from agents.base import Agent
from agents.specs import SpecError, make_agent, register_agent
from rlgo.go.rules import Rules
from rlgo.go.state import GameState
from rlgo.nn.backend import onnxruntime_available

MODELS = Path(__file__).resolve().parents[1] / "models"
SHIPPED = {9: ("zero9_b6c64-int8.pt", "zero9_b6c64.pt")}
"""Board size -> the networks (in models/) the default agent plays on it, trained by `rlgo train zero`
(docs/strength.md; 9x9: generation 129): the int8 copy (ONNX Runtime, 2.5x the simulations of torch fp32
in the same time), else the fp32 original where onnxruntime is missing. The pruned copy
models/zero9_b6c64-c50-int8.pt is of generation 20 (models/zero9_b6c64-g20.pt)."""
SECONDS = 1.0
"""Seconds per move of the default agent (GTP time settings replace it)."""
THREADS = min(2, os.cpu_count() or 1)
"""Network threads of the default agent: one game has the machine, and a second thread runs 1.5x the
simulations a move on two cores (agents.zero_agent.THREAD_LEAVES)."""


def spec_for(size: int, time: float = SECONDS) -> str:
    """The agent spec the default agent plays on `size`."""
    if size not in SHIPPED:
        return f"mcts:time={time:g}"
    int8, fp32 = SHIPPED[size]
    net = int8 if onnxruntime_available() else fp32
    return f"zero:ckpt=\"{MODELS / net}\",time={time:g},threads={THREADS}"


class BySizeAgent(Agent):
    """One agent per board size, built by `build(size)` when a game of that size first comes; each call
    goes to the agent of the current size, and GTP time settings and move filters reach all of them."""

    def __init__(self, build: Callable[[int], Agent], size: int = 9):
        self._build = build
        self._agents: dict[int, Agent] = {}
        self._size = size
        self._time: tuple[float, float, int] | None = None

    def _at(self, size: int) -> Agent:
        agent = self._agents.get(size)
        if agent is None:
            agent = self._agents[size] = self._build(size)
            if self._time is not None:
                agent.set_time(*self._time)
            agent.restrict(self.filters)
        self._size = size
        return agent

    @property
    def current(self) -> Agent:
        """The agent of the board size of the latest game."""
        return self._at(self._size)

    @property
    def name(self) -> str:
        return self.current.name

    def reset(self) -> None:
        for agent in self._agents.values():
            agent.reset()

    def select_move(self, state: GameState) -> int:
        return self._at(state.size).select_move(state)

    def warm_up(self, state: GameState) -> None:
        self._at(state.size).warm_up(state)

    def ponder(self, state: GameState, visits: int | None = None) -> None:
        self._at(state.size).ponder(state, visits)

    def restrict(self, filters: tuple = ()) -> None:
        super().restrict(filters)
        for agent in self._agents.values():
            agent.restrict(filters)

    def analysis(self) -> list:
        agent = self._agents.get(self._size)
        return agent.analysis() if agent is not None else []

    def stop(self) -> None:
        for agent in list(self._agents.values()):  # from another thread: never builds
            agent.stop()

    def set_time(self, main_time: float, byo_yomi_time: float, byo_yomi_stones: int) -> None:
        self._time = (main_time, byo_yomi_time, byo_yomi_stones)
        for agent in self._agents.values():
            agent.set_time(main_time, byo_yomi_time, byo_yomi_stones)

    def time_left(self, color: int, seconds: float, stones: int) -> None:
        self.current.time_left(color, seconds, stones)

    def close(self) -> None:
        for agent in self._agents.values():
            agent.close()
        self._agents.clear()

    def networks(self) -> list:
        return self.current.networks()

    def estimate(self, states: list[GameState], symmetry: int | None = None, fill: bool = True,
                 rollouts: int | None = None) -> list:
        agent = self._at(states[0].size) if states else self.current
        return agent.estimate(states, symmetry, fill, rollouts)


def _from_spec(size: int | None, rules: Rules, time: float = SECONDS, seed: int = 0) -> BySizeAgent:
    """Spec factory: `default`, `default:time=2`."""
    if not time > 0:
        raise SpecError(f"default: time must be > 0, got {time}")
    return BySizeAgent(lambda n: make_agent(spec_for(n, time), size=n, rules=rules, seed=seed), size or 9)


register_agent("default", _from_spec, {
    "time": (float, f"seconds per move (default {SECONDS:g})"),
    "seed": (int, "random seed"),
}, help="the network shipped for the board size (9x9: " + SHIPPED[9][0] + ") searching by time, else mcts")
