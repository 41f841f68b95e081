"""Scores for the terminal game: live estimates and the settled end of a game (dead stones, territory)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlgo.arena.ownership import DEFAULT_ESTIMATOR, estimate_ownership
from rlgo.go.deadstones import dead_stones, rollout_ownership
from rlgo.go.state import BLACK, EMPTY, GameState

SCORE_ROLLOUTS = 1000
"""Random rollouts behind an ownership estimate (a few tens of milliseconds on 9x9)."""


@dataclass(frozen=True)
class Settlement:
    """How a finished (or hypothetically finished) game scores."""

    dead: list[int]
    """Points of the stones judged dead."""
    owner: np.ndarray
    """int8 [N, N]: area owner of each point once the dead stones are removed (EMPTY = dame)."""
    result: str
    """SGF result with the dead stones removed ('B+3.5', 'W+R', '0')."""


def score_estimate(state: GameState, rollouts: int = SCORE_ROLLOUTS, seed: int = 0,
                   agent=None) -> tuple[np.ndarray, float, str]:
    """(float [N, N] black-positive ownership in [-1, 1], expected area score B - W - komi, where they come
    from): `agent`'s network ownership head (and score head) when it has one, else random rollouts."""
    if agent is not None and any("ownership" in net.cfg.heads for net in agent.networks()):
        judged = agent.estimate([state], fill=False)[0]
        sign = 1.0 if state.to_play == BLACK else -1.0
        own = sign * judged.ownership.reshape(state.size, state.size)
        if judged.score_lead is not None:
            return own, sign * judged.score_lead, "the network's score head; ownership from its ownership head"
        return own, float(own.sum() - state.rules.komi), "the network's ownership head"
    own = rollout_ownership(state, rollouts, seed)
    return own, float(own.sum() - state.rules.komi), "mean of random rollouts"


def settle(state: GameState, rollouts: int = SCORE_ROLLOUTS, seed: int = 0,
           estimator: str = DEFAULT_ESTIMATOR) -> Settlement:
    """Dead stones from the `estimator`'s ownership (`rollouts` of them for "rollout"), the
    territory they leave, and the result."""
    if state.resigned != EMPTY:
        return Settlement(dead=[], owner=np.zeros((state.size, state.size), np.int8), result=state.result())
    own = rollout_ownership(state, rollouts, seed) if estimator == "rollout" else estimate_ownership(state, estimator)
    dead = dead_stones(state, own)
    return Settlement(dead=dead, owner=state.ownership(dead), result=state.result(dead))
