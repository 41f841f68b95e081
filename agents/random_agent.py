"""Uniformly random legal moves (never fills its own single-point eye unless nothing else)."""
from __future__ import annotations

import numpy as np

from agents.base import Agent
from rlgo.go.state import GameState


class RandomAgent(Agent):
    """Plays a uniformly random legal move that does not fill an own eye; passes otherwise."""

    name = "random"

    def __init__(self, seed: int | None = None):
        self.rng = np.random.default_rng(seed)

    def select_move(self, state: GameState) -> int:
        mask = state.legal_mask()
        mask[state.pass_move] = False
        candidates = [int(p) for p in np.flatnonzero(mask) if not state.fills_own_eye(int(p))]
        if not candidates:
            return state.pass_move
        return int(self.rng.choice(candidates))
