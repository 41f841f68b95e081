"""The evaluator protocol: a batch of leaves in, priors and values out (no torch here).

The one protocol of every leaf evaluation: networks (NetworkEvaluator around a
`(planes, legal) -> (priors, values)` callable), rollouts (RolloutEvaluator), AlphaGo's mixed
leaves (MixedEvaluator) and test fakes. The search calls it once per step with the leaves of
all the trees bound to it. An evaluator has
- `feature_set`: a feature-set name (rlgo.go.features) whose planes the search computes
  into `LeafBatch.planes`, or None when the evaluator reads raw boards only;
- `history_length`: positions of history it needs in `LeafBatch.history` (0 = none; the search
  may give more rows);
- `evaluate(batch) -> (priors float32 [B, N*N+1], values float32 [B])`: priors over the
  legal moves (`batch.legal`; the search renormalises them over the legal set) and values
  in [-1, 1], both for each leaf's side to move;
- optionally `scores = True`: `evaluate` also writes each leaf's final margin into
  `batch.score` (given whenever every evaluator of a search has scores), so the search backs up
  score statistics.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from rlgo.go import features
from rlgo.search.rollout import UniformRolloutPolicy


class EvaluatorError(ValueError):
    """An evaluator returned arrays of the wrong shape or non-finite numbers."""


@dataclass(frozen=True)
class LeafBatch:
    """Leaves gathered by one search step (arrays are views into the search's buffers: copy to keep)."""

    size: int
    """Board size N."""
    b: np.ndarray
    """int32 [B, 7, (N+2)**2]: kernel board arrays of the leaves (see rlgo.go.kernels)."""
    m: np.ndarray
    """int64 [B, NMETA]: kernel meta rows (side to move in column M_TOPLAY)."""
    legal: np.ndarray
    """bool [B, N*N+1]: legal moves (superko included) of each leaf's side to move; pass always legal.

    For evaluators without a feature_set, a leaf that gets no children at this evaluation
    (SearchConfig.expand_visits > 1) shows pass only: its priors are not used."""
    history: np.ndarray
    """int8 [B, K, (N+2)**2]: colour rows, [:, 0] the leaf, [:, j] j moves earlier (K = history_length)."""
    planes: np.ndarray | None
    """float32 [B, C, N, N] feature planes, or None when the evaluator has no feature_set."""
    zob: np.ndarray
    """int64 [3, (N+2)**2]: the Zobrist table the boards use (for rollouts)."""
    komi: float
    """Komi of the game (for rollout scoring)."""
    amaf: np.ndarray
    """int8 [B, N*N] zeros for a rollout evaluator to fill with the colour that first played each
    point (UCT-RAVE), or [B, 0] when the search does not use RAVE."""
    score: np.ndarray | None = None
    """float32 [B, 2] for an evaluator with `scores` to fill with each leaf's mean final margin in points
    (komi included) and its mean square, for the side to move; None when the search keeps no scores."""


class Evaluator(Protocol):
    """What the search calls once per batch."""

    feature_set: str | None
    history_length: int

    def evaluate(self, batch: LeafBatch) -> tuple[np.ndarray, np.ndarray]:
        """(priors float32 [B, N*N+1], values float32 [B]) for each leaf's side to move."""


class RolloutPolicy(Protocol):
    """Rollouts from raw boards (see rlgo.search.rollout; `amaf=` and `score=` outputs optional)."""

    def rollout_values(self, b: np.ndarray, m: np.ndarray, zob: np.ndarray, komi: float) -> np.ndarray:
        """float32 [B]: rollout result in [-1, 1] for each leaf's side to move."""


def uniform_priors(legal: np.ndarray) -> np.ndarray:
    """float32 [B, N*N+1]: equal priors over each row's legal moves."""
    legal = legal.astype(np.float32)
    return legal / legal.sum(axis=1, keepdims=True)


class RolloutEvaluator:
    """Uniform priors, values from a rollout policy (plain Monte-Carlo tree search); its rollouts' final
    margins are the leaves' scores."""

    feature_set = None
    history_length = 0
    scores = True

    def __init__(self, policy: RolloutPolicy):
        self.policy = policy

    def evaluate(self, batch: LeafBatch) -> tuple[np.ndarray, np.ndarray]:
        outputs = {"amaf": batch.amaf} if batch.amaf.shape[1] else {}
        if batch.score is not None:
            outputs["score"] = batch.score
        values = self.policy.rollout_values(batch.b, batch.m, batch.zob, batch.komi, **outputs)
        return uniform_priors(batch.legal), values


class UniformRolloutEvaluator(RolloutEvaluator):
    """Uniform priors and uniformly random rollouts (`rollouts` per leaf), seeded."""

    def __init__(self, seed: int = 0, rollouts: int = 1, move_cap: int | None = None):
        super().__init__(UniformRolloutPolicy(seed, rollouts, move_cap))


class NetworkEvaluator:
    """Adapter for any callable (planes float32 [B, C, N, N], legal bool [B, N*N+1]) -> (priors, values),
    such as rlgo.nn.evaluator.TorchEvaluator; `board_size` (optional) is checked by the search."""

    def __init__(self, net: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
                 feature_set: str = "agz", history_length: int = features.HISTORY_LENGTH,
                 board_size: int | None = None):
        self.net = net
        self.feature_set = feature_set
        self.history_length = history_length
        self.board_size = board_size if board_size is not None else getattr(net, "board_size", None)

    def evaluate(self, batch: LeafBatch) -> tuple[np.ndarray, np.ndarray]:
        return self.net(batch.planes, batch.legal)


class MixedEvaluator:
    """AlphaGo (2016) leaf evaluation: priors from `network`, V = (1 - lam) * v_net + lam * z_rollout."""

    def __init__(self, network: Evaluator, rollout: RolloutPolicy, lam: float = 0.5):
        if not 0 <= lam <= 1:
            raise ValueError(f"mixing weight lam must be in [0, 1], got {lam!r}")
        self.network = network
        self.rollout = rollout
        self.lam = lam
        self.feature_set = network.feature_set
        self.history_length = network.history_length
        self.board_size = getattr(network, "board_size", None)

    def evaluate(self, batch: LeafBatch) -> tuple[np.ndarray, np.ndarray]:
        priors, v_net = self.network.evaluate(batch)
        if self.lam == 0:
            return priors, v_net
        z = self.rollout.rollout_values(batch.b, batch.m, batch.zob, batch.komi)
        return priors, ((1 - self.lam) * np.asarray(v_net, np.float32) + self.lam * z).astype(np.float32)


def encode_planes(feature_set: str, size: int, b: np.ndarray, m: np.ndarray, history: np.ndarray) -> np.ndarray:
    """float32 [B, C, N, N] planes of each leaf (rlgo.go.features.encode_many: one Numba call)."""
    out = np.empty((b.shape[0], features.feature_planes(feature_set), size, size), np.float32)
    return features.encode_many(feature_set, b, m, history, out)


def check_outputs(priors, values, count: int, moves: int) -> tuple[np.ndarray, np.ndarray]:
    """(priors float32 [count, moves], values float32 [count]), C-contiguous, or EvaluatorError on other
    shapes. The search's back-up kernel refuses non-finite numbers (EvaluatorError) and clips values to [-1, 1]."""
    priors = np.ascontiguousarray(priors, dtype=np.float32)
    values = np.ascontiguousarray(values, dtype=np.float32)
    if priors.shape != (count, moves) or values.shape != (count,):
        raise EvaluatorError(f"evaluator must return priors [{count}, {moves}] and values [{count}], "
                             f"got {list(priors.shape)} and {list(values.shape)}")
    return priors, values
