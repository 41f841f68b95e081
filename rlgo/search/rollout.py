"""Rollout policies: batches of leaf boards in, rollout values (side to move) out.

A rollout policy is any object with `rollout_values(b, m, zob, komi) -> float32 [B]` taking
b int32 [B, 7, A] and m int64 [B, NMETA] (left untouched) and returning the mean rollout
result in [-1, 1] for each leaf's side to move. A trained fast policy plugs in by wrapping
its Numba kernel (`policy_rollout_score(b, m, zob, komi, move_cap, weights)` -> B - W - komi)
in such a class; `rollout_values_from_scores` turns scores into values. Policies that also
accept `amaf=` int8 [B, N*N] write the colour that first played each point in a leaf's
(first) rollout there, which UCT-RAVE (SearchConfig.rave) needs; `score=` float32 [B, 2] gets each
leaf's mean final margin in points and its mean square, for the side to move (the search's score
statistics).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from rlgo.go.coords import from_vertex
from rlgo.go.kernels import (
    BLACK, COL, EMPTY, HEAD, LEGAL, M_LAST, M_N, M_PASSES, M_TOPLAY, NEXT, PLIBS,
    area_counts, is_eyeish, legality, play_pass, play_vertex,
)
from rlgo.go.rollout import random_move, seed as seed_rollouts


@njit(cache=True)
def rollout_values_from_scores(scores, m, out):
    """Win (+1) / loss (-1) / jigo (0) for each leaf's side to move from Black-minus-White scores [B, R], averaged over R."""
    for i in range(scores.shape[0]):
        total = 0.0
        for r in range(scores.shape[1]):
            s = scores[i, r]
            total += 1.0 if s > 0 else -1.0 if s < 0 else 0.0
        value = total / scores.shape[1]
        out[i] = value if m[i, M_TOPLAY] == BLACK else -value


@njit(cache=True)
def _atari_liberty(b, h, stride):
    """The only liberty of the chain headed by h, or -1 when it has none or several."""
    if b[PLIBS, h] > 4:  # one liberty touches at most 4 stones of the chain
        return -1
    lib = -1
    s = h
    while True:
        for u in (s - 1, s + 1, s - stride, s + stride):
            if b[COL, u] == EMPTY:
                if lib == -1:
                    lib = u
                elif u != lib:
                    return -1
        s = b[NEXT, s]
        if s == h:
            return lib


@njit(cache=True)
def _playable(b, m, v, color):
    return legality(b, m, v, color) == LEGAL and not is_eyeish(b, m, v, color)


@njit(cache=True)
def _escape_gains(b, v, chain, color, stride):
    """Whether playing v (the last liberty of `chain`) leaves the merged chain with 2+ liberties (estimate)."""
    libs = 0
    for u in (v - 1, v + 1, v - stride, v + stride):
        c = b[COL, u]
        if c == EMPTY:
            libs += 1
        elif c == color and b[HEAD, u] != chain and b[PLIBS, b[HEAD, u]] > 1:
            libs += 2  # another friendly chain with room
    return libs >= 2


@njit(cache=True)
def local_move(b, m):
    """A tactical reply to the last move, or -1: capture a chain it left in atari (the last stone's own
    chain included), else save an own chain it put in atari by capturing an attacker or extending."""
    last = m[M_LAST]
    if last <= 0:
        return -1
    stride = m[M_N] + 2
    color = m[M_TOPLAY]
    opp = 3 - color
    for u in (last, last - 1, last + 1, last - stride, last + stride):
        if b[COL, u] == opp:
            lib = _atari_liberty(b, b[HEAD, u], stride)
            if lib >= 0 and _playable(b, m, lib, color):
                return lib
    for u in (last - 1, last + 1, last - stride, last + stride):
        if b[COL, u] != color:
            continue
        h = b[HEAD, u]
        lib = _atari_liberty(b, h, stride)
        if lib < 0:
            continue
        s = h
        while True:  # capture an adjacent attacker that is itself in atari
            for w in (s - 1, s + 1, s - stride, s + stride):
                if b[COL, w] == opp:
                    take = _atari_liberty(b, b[HEAD, w], stride)
                    if take >= 0 and _playable(b, m, take, color):
                        return take
            s = b[NEXT, s]
            if s == h:
                break
        if _escape_gains(b, lib, h, color, stride) and _playable(b, m, lib, color):
            return lib
    return -1


@njit(cache=True)
def rollout_scores(b, m, zob, komi, move_cap, heuristic, out, amaf):
    """Random rollouts from each leaf (no own-eye filling, simple ko): out[i, r] = B - W - komi.

    `heuristic`: answer the last move's ataris first (`local_move`). When amaf has N*N columns,
    amaf[i, p] gets the colour that first played point p in leaf i's first rollout (0: nobody).
    """
    n = m[0, M_N]
    record = amaf.shape[1] > 0
    for i in range(out.shape[0]):
        for r in range(out.shape[1]):
            bb = b[i].copy()
            mm = m[i].copy()
            moves = 0
            while mm[M_PASSES] < 2 and moves < move_cap:
                v = local_move(bb, mm) if heuristic else -1
                if v < 0:
                    v = random_move(bb, mm)
                if v == 0:
                    play_pass(mm)
                else:
                    if record and r == 0:
                        p = from_vertex(v, n)
                        if amaf[i, p] == 0:
                            amaf[i, p] = mm[M_TOPLAY]
                    play_vertex(bb, mm, zob, v, mm[M_TOPLAY])
                moves += 1
            black, white = area_counts(bb, mm)
            out[i, r] = black - white - komi


def run_rollouts(kernel, args: tuple, b: np.ndarray, m: np.ndarray, zob: np.ndarray, komi: float,
                 rng: np.random.Generator, rollouts: int, move_cap: int | None,
                 amaf: np.ndarray | None, score: np.ndarray | None = None) -> np.ndarray:
    """The body of a kernel policy's `rollout_values`: seed the rollouts from `rng`, run
    `kernel(b, m, zob, komi, move_cap, *args, scores [B, rollouts], amaf)`, turn scores into values.

    move_cap None means 3 * N * N; amaf None means no first-play record; score float32 [B, 2] (optional)
    gets the margins' mean and mean square for each leaf's side to move. Returns float32 [B].
    """
    count = b.shape[0]
    if count == 0:
        return np.zeros(0, np.float32)
    move_cap = move_cap or 3 * int(m[0, M_N]) ** 2
    seed_rollouts(int(rng.integers(2**31)))
    scores = np.empty((count, rollouts), np.float64)
    amaf = np.zeros((count, 0), np.int8) if amaf is None else amaf
    kernel(b, m, zob, float(komi), move_cap, *args, scores, amaf)
    values = np.empty(count, np.float32)
    rollout_values_from_scores(scores, m, values)
    if score is not None:
        sign = np.where(m[:, M_TOPLAY] == BLACK, 1.0, -1.0)
        score[:, 0] = sign * scores.mean(axis=1)
        score[:, 1] = np.square(scores).mean(axis=1)
    return values


class RandomRolloutPolicy:
    """Random rollouts (own eyes never filled), optionally answering ataris first; seeded per batch."""

    heuristic = False

    def __init__(self, seed: int = 0, rollouts: int = 1, move_cap: int | None = None):
        if rollouts < 1:
            raise ValueError(f"rollouts must be >= 1, got {rollouts!r}")
        self.rng = np.random.default_rng(seed)
        self.rollouts = rollouts
        self.move_cap = move_cap
        """Moves per rollout before it is scored anyway (default 3 * N * N)."""

    def rollout_values(self, b: np.ndarray, m: np.ndarray, zob: np.ndarray, komi: float,
                       amaf: np.ndarray | None = None, score: np.ndarray | None = None) -> np.ndarray:
        """float32 [B]: mean rollout result in [-1, 1] for each leaf's side to move (see module doc for amaf
        and score)."""
        return run_rollouts(rollout_scores, (self.heuristic,), b, m, zob, komi, self.rng, self.rollouts,
                            self.move_cap, amaf, score)


class UniformRolloutPolicy(RandomRolloutPolicy):
    """Uniformly random rollouts (moves that fill one's own eye excluded)."""


class HeuristicRolloutPolicy(RandomRolloutPolicy):
    """Random rollouts that first answer the last move's ataris (capture, or save by capture / extension)."""

    heuristic = True
