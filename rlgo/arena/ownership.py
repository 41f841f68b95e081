"""Ownership estimators by name, for scoring finished games: random rollouts or the learned network.

The rollout estimator and what is built on any estimate (chain status, dead stones) live in
rlgo.go.deadstones; the learned one needs rlgo.nn, so it is chosen here, above both.
"""
from __future__ import annotations

import numpy as np

from rlgo.go.deadstones import rollout_ownership
from rlgo.go.state import GameState

ESTIMATORS = ("rollout", "learned")
"""Ownership estimators by name: random rollouts, or the learned network (rlgo.arena.learned_ownership)."""
DEFAULT_ESTIMATOR = "rollout"
"""The estimator of game-end scoring in tournaments and `rlgo play`: the one that agreed best
with GNU Go's dead stones (docs/vision.md)."""


def estimate_ownership(state: GameState, estimator: str = DEFAULT_ESTIMATOR, seed: int = 0) -> np.ndarray:
    """float64 [N, N]: black-positive ownership in [-1, 1] by the estimator named `estimator`."""
    if estimator == "rollout":
        return rollout_ownership(state, seed=seed)
    if estimator == "learned":
        from rlgo.arena.learned_ownership import learned_ownership  # imports torch
        return learned_ownership(state)
    raise ValueError(f"unknown ownership estimator {estimator!r}; valid: {', '.join(ESTIMATORS)}")
