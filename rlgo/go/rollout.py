"""Uniform random rollouts in Numba (simple ko inside rollouts; superko is the tree's job)."""
from __future__ import annotations

import numpy as np
from numba import njit

from rlgo.go.kernels import (
    BLACK, EMP, EPOS, LEGAL, M_N, M_NEMPTY, M_PASSES, M_TOPLAY, WHITE,
    area_counts, is_eyeish, legality, ownership, play_pass, play_vertex,
)


@njit(cache=True)
def seed(value):
    """Seed Numba's internal generator (used by the rollout kernels)."""
    np.random.seed(value)


@njit(cache=True)
def random_move(b, m):
    """A uniformly random legal vertex that does not fill an own eye, or 0 (pass) if none.

    Candidates are drawn without replacement from the empty list; rejected ones are swapped
    to the end of the live range, so the list order changes but stays a valid empty list.
    """
    color = m[M_TOPLAY]
    live = m[M_NEMPTY]
    while live > 0:
        i = np.random.randint(live)
        v = b[EMP, i]
        if legality(b, m, v, color) == LEGAL and not is_eyeish(b, m, v, color):
            return v
        live -= 1
        other = b[EMP, live]
        b[EMP, i] = other
        b[EPOS, other] = i
        b[EMP, live] = v
        b[EPOS, v] = live
    return 0


@njit(cache=True)
def run_rollout(b, m, zob, move_cap):
    """Play random moves on (b, m) in place until two passes or `move_cap`; returns moves made."""
    moves = 0
    while m[M_PASSES] < 2 and moves < move_cap:
        v = random_move(b, m)
        if v == 0:
            play_pass(m)
        else:
            play_vertex(b, m, zob, v, m[M_TOPLAY])
        moves += 1
    return moves


@njit(cache=True)
def rollout_score(b, m, zob, komi, move_cap):
    """Run a rollout on copies of (b, m); returns the area score for Black (B - W - komi)."""
    bb = b.copy()
    mm = m.copy()
    run_rollout(bb, mm, zob, move_cap)
    black, white = area_counts(bb, mm)
    return black - white - komi


@njit(cache=True)
def rollouts_from(b, m, zob, komi, count):
    """Run `count` rollouts from (b, m) (move cap 3*N*N); returns Black's wins (score > 0)."""
    n = m[M_N]
    wins = 0
    for _ in range(count):
        if rollout_score(b, m, zob, komi, 3 * n * n) > 0:
            wins += 1
    return wins


@njit(cache=True)
def ownership_playouts(b, m, zob, count, move_cap, komi):
    """(mean black-positive area ownership per vertex float64 [A], area score B - W - komi of each
    rollout float64 [count]) over `count` random rollouts.

    Every other rollout starts with the other colour, so neither side gains the tempo.
    """
    total = np.zeros(b.shape[1], dtype=np.float64)
    scores = np.empty(count, dtype=np.float64)
    owner = np.empty(b.shape[1], dtype=np.int8)
    for i in range(count):
        bb = b.copy()
        mm = m.copy()
        if i % 2:
            play_pass(mm)
        mm[M_PASSES] = 0  # a finished game is played on to the end
        run_rollout(bb, mm, zob, move_cap)
        ownership(bb, mm, owner)
        score = -komi
        for v in range(owner.shape[0]):
            if owner[v] == BLACK:
                total[v] += 1.0
                score += 1.0
            elif owner[v] == WHITE:
                total[v] -= 1.0
                score -= 1.0
        scores[i] = score
    return total / count, scores
