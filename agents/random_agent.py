"""Uniformly random legal moves (never fills its own single-point eye unless nothing else)."""
from __future__ import annotations

import numpy as np

from agents.base import Agent, MoveInfo
from agents.estimates import move_analysis
from rlgo.go.state import GameState
from rlgo.search.filters import root_moves

ANALYSIS_ROLLOUTS = 1500
"""Random rollouts shared out over the candidates of one analysis (at least 8 each: about 0.1 s on 9x9)."""


class RandomAgent(Agent):
    """Plays a uniformly random legal move that does not fill an own eye; passes otherwise."""

    name = "random"

    def __init__(self, seed: int | None = None):
        self.rng = np.random.default_rng(seed)
        self._position: GameState | None = None
        self._last: list[MoveInfo] = []

    def select_move(self, state: GameState) -> int:
        self._position, self._last = state.copy(), []
        allowed = root_moves(self.filters, state.to_play, state.size)
        candidates = [p for p in self._candidates(state) if allowed[p]]
        if not candidates:
            return state.pass_move
        return int(self.rng.choice(candidates))

    def ponder(self, state: GameState, visits: int | None = None) -> None:
        self._position, self._last = state.copy(), []

    def analysis(self) -> list[MoveInfo]:
        """Every move it may choose, each with prior 1/count (its real odds), visits 0, and the win rate
        and score of uniformly random rollouts after the move."""
        position = self._position
        if position is None or position.is_over:
            return []
        if not self._last:
            moves = self._candidates(position) or [position.pass_move]
            rollouts = max(8, ANALYSIS_ROLLOUTS // len(moves))
            self._last = move_analysis(self, position, moves, [1.0 / len(moves)] * len(moves), rollouts)
        return list(self._last)

    @staticmethod
    def _candidates(state: GameState) -> list[int]:
        mask = state.legal_mask()
        mask[state.pass_move] = False
        return [int(p) for p in np.flatnonzero(mask) if not state.fills_own_eye(int(p))]
