"""Run an agent's `select_move` in a worker thread while the main thread polls its analysis."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agents.base import Agent, MoveInfo
from rlgo.go.state import GameState

POLL_SECONDS = 0.1
"""How often the main thread reads `Agent.analysis()` while the agent thinks."""


@dataclass
class Thought:
    """The outcome of one `think` call."""

    move: int
    """The agent's move (point, N*N pass, or RESIGN)."""
    analysis: list[MoveInfo] = field(default_factory=list)
    """The agent's analysis right after it answered (best first; empty for agents that do not search)."""
    seconds: float = 0.0
    """Wall time the agent took."""
    interrupted: bool = False
    """Whether Ctrl-C asked the agent to answer early."""


def think(agent: Agent, state: GameState, on_update: Callable[[list[MoveInfo], float], None] | None = None) -> Thought:
    """`agent.select_move(copy of state)` in a thread; Ctrl-C calls `agent.stop()` and waits for the answer.

    `on_update(analysis, elapsed)` runs in the calling thread every POLL_SECONDS. Errors of the
    agent are re-raised here.
    """
    box: dict = {}
    done = threading.Event()  # not Thread.is_alive: a join() cut short by Ctrl-C can leave it wrong
    position = state.copy()

    def work():
        try:
            box["move"] = agent.select_move(position)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc
        finally:
            done.set()

    start = time.perf_counter()
    threading.Thread(target=work, name=f"{agent.name}-think", daemon=True).start()
    stopped = False
    while not done.is_set():
        try:
            if stopped:
                agent.stop()  # again: a Ctrl-C before the search began is forgotten when it begins
            if not done.wait(POLL_SECONDS) and on_update is not None:
                on_update(agent.analysis(), time.perf_counter() - start)
        except KeyboardInterrupt:
            agent.stop()
            stopped = True
    if "error" in box:
        raise box["error"]
    return Thought(move=int(box["move"]), analysis=agent.analysis(),
                   seconds=time.perf_counter() - start, interrupted=stopped)
