"""Kernel boards rebuilt from stored samples: stones by point plus side to move, ko, last move, move
number and komi (the shard fields of rlgo.train.data.shards).

Training code turns stored positions back into kernel arrays here, so every feature set and
pattern is computed exactly as in play, without knowing the kernel's rows or meta slots.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from rlgo.go.coords import to_vertex
from rlgo.go.kernels import (
    EMPTY, KOMI_SCALE, M_KO, M_KOMI, M_LAST, M_MOVENUM, M_N, M_PASSES, M_TOPLAY, NO_VERTEX, PASS_VERTEX, WALL,
    new_board, play_vertex,
)


def empty_board(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The kernel arrays (b, m) of an empty `size` board: the template that `restore_board` starts from."""
    return new_board(size)


@njit(cache=True)
def restore_board(tb, tm, zob, stones, to_play, ko, last, move_number, komi, b, m):
    """Fill (b, m) with a stored position, starting from the empty template (tb, tm) of `empty_board`.

    stones int8 [N*N] (0 empty, 1 black, 2 white); to_play colour; ko the simple-ko point or -1;
    last the last move (point, N*N = pass, -1 none); move_number; komi.
    """
    b[:] = tb
    m[:] = tm
    n = tm[M_N]
    for p in range(n * n):
        if stones[p] != EMPTY:
            play_vertex(b, m, zob, to_vertex(p, n), stones[p])
    m[M_TOPLAY] = to_play
    m[M_KO] = to_vertex(ko, n) if ko >= 0 else NO_VERTEX
    m[M_LAST] = NO_VERTEX if last < 0 else (PASS_VERTEX if last == n * n else to_vertex(last, n))
    m[M_PASSES] = 1 if last == n * n else 0
    m[M_MOVENUM] = move_number
    m[M_KOMI] = round(komi * KOMI_SCALE)


@njit(cache=True)
def restore_history(stones, move_number, hist):
    """Fill hist int8 [K, A] (kernel colour rows, as GameState.position_history) from stored stones
    int8 [K, N*N] ([j] j moves ago); rows before the first move are all 0."""
    n = int(np.sqrt(stones.shape[1]) + 0.5)
    for j in range(stones.shape[0]):
        if j > move_number:
            hist[j, :] = 0
            continue
        hist[j, :] = WALL
        for p in range(n * n):
            hist[j, to_vertex(p, n)] = stones[j, p]
