"""Rollout policies: batches of leaf boards in, playout values (side to move) out.

A rollout policy is any object with `playout_values(b, m, zob, komi) -> float32 [B]` taking
b int32 [B, 7, A] and m int64 [B, NMETA] (left untouched) and returning the mean playout
result in [-1, 1] for each leaf's side to move. A trained fast policy plugs in by wrapping
its Numba kernel (`policy_playout_score(b, m, zob, komi, max_moves, weights)` -> B - W - komi)
in such a class; `playout_values_from_scores` turns scores into values.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from rlgo.go.kernels import BLACK, M_N, M_TOPLAY
from rlgo.go.playout import playout_score, seed as seed_playouts


@njit(cache=True)
def playout_values_from_scores(scores, m, out):
    """Win (+1) / loss (-1) / jigo (0) for each leaf's side to move from Black-minus-White scores [B, R], averaged over R."""
    for i in range(scores.shape[0]):
        total = 0.0
        for r in range(scores.shape[1]):
            s = scores[i, r]
            total += 1.0 if s > 0 else -1.0 if s < 0 else 0.0
        value = total / scores.shape[1]
        out[i] = value if m[i, M_TOPLAY] == BLACK else -value


@njit(cache=True)
def uniform_playout_scores(b, m, zob, komi, max_moves, out):
    """Uniform random playouts (no own-eye filling, simple ko): out[i, r] = B - W - komi of playout r."""
    for i in range(out.shape[0]):
        for r in range(out.shape[1]):
            out[i, r] = playout_score(b[i], m[i], zob, komi, max_moves)


class UniformRolloutPolicy:
    """Uniformly random playouts (moves that fill one's own eye excluded), seeded per batch."""

    def __init__(self, seed: int = 0, rollouts: int = 1, max_moves: int | None = None):
        if rollouts < 1:
            raise ValueError(f"rollouts must be >= 1, got {rollouts!r}")
        self.rng = np.random.default_rng(seed)
        self.rollouts = rollouts
        self.max_moves = max_moves
        """Moves per playout before it is scored anyway (default 3 * N * N)."""

    def playout_values(self, b: np.ndarray, m: np.ndarray, zob: np.ndarray, komi: float) -> np.ndarray:
        """float32 [B]: mean playout result in [-1, 1] for each leaf's side to move."""
        count = b.shape[0]
        if count == 0:
            return np.zeros(0, np.float32)
        max_moves = self.max_moves or 3 * int(m[0, M_N]) ** 2
        seed_playouts(int(self.rng.integers(2**31)))
        scores = np.empty((count, self.rollouts), np.float64)
        uniform_playout_scores(b, m, zob, float(komi), max_moves, scores)
        values = np.empty(count, np.float32)
        playout_values_from_scores(scores, m, values)
        return values
