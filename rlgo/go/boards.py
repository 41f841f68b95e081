"""Many boards stacked in kernel arrays: b int32 [G, 7, A], m int64 [G, NMETA] (rlgo.go.kernels).

Code above rlgo.go holds such stacks (batched self-play, value-net samples) without reading
their rows or meta slots by index: it starts them here, reads them through the accessors, and
steps them with the kernels below (legality by rlgo.go.legal, so every ko rule holds exactly).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from rlgo.go.kernels import COL, M_HASH, M_N, M_PASSES, M_TOPLAY, area_counts, new_board
from rlgo.go.legal import KO_MODES, legal_moves, play_point, position_key
from rlgo.go.rules import Rules
from rlgo.go.state import zobrist


def new_boards(count: int, size: int, rules: Rules, history: int, cap: int):
    """`count` empty boards, Black to move: (b [G, 7, A], m [G, NMETA], hist int8 [G, history, A] colour
    rows with [:, 0] the start, keys int64 [G, cap+1] superko keys with [:, 0] the start's)."""
    b, m = new_board(size, rules.suicide, rules.komi)
    hist = np.zeros((count, history, b.shape[1]), np.int8)
    if history:
        hist[:, 0] = b[COL]
    keys = np.zeros((count, cap + 1), np.int64)
    keys[:, 0] = position_key(m[M_HASH], m[M_TOPLAY], KO_MODES[rules.ko], zobrist(size))
    return np.repeat(b[None], count, axis=0), np.repeat(m[None], count, axis=0), hist, keys


def to_play(m: np.ndarray) -> np.ndarray:
    """int64 [...]: the colour to move (BLACK 1 / WHITE 2) of each meta row m [..., NMETA]."""
    return m[..., M_TOPLAY]


def board_size(m: np.ndarray) -> int:
    """The board size N of a stack of meta rows m [..., NMETA] (all of one size)."""
    return int(m.reshape(-1, m.shape[-1])[0, M_N])


def colors(b: np.ndarray) -> np.ndarray:
    """int8 [..., A]: kernel colour rows (EMPTY / BLACK / WHITE, WALL on the border) of boards b [..., 7, A]."""
    return b[..., COL, :].astype(np.int8)


@njit(cache=True)
def legal_masks(b, m, zob, keys, moves, ko_mode, prune, games, out):
    """out[g] = legal moves (bool [N*N+1]) of game g for each g in `games`; keys[g, :moves[g]+1] are the
    game's positions so far (superko)."""
    for g in games:
        legal_moves(b[g], m[g], zob, keys[g, :1], keys[g], moves[g], ko_mode, prune, out[g])


@njit(cache=True)
def play_points(b, m, zob, keys, hist, moves, done, ko_mode, cap, games, points):
    """Play points[i] in game games[i]; update keys, history rows, move counts and `done` (two passes or
    `cap` moves)."""
    for i in range(games.shape[0]):
        g = games[i]
        play_point(b[g], m[g], zob, points[i])
        moves[g] += 1
        keys[g, moves[g]] = position_key(m[g, M_HASH], m[g, M_TOPLAY], ko_mode, zob)
        for j in range(hist.shape[1] - 1, 0, -1):
            hist[g, j] = hist[g, j - 1]
        for v in range(b.shape[2]):
            hist[g, 0, v] = b[g, COL, v]
        if m[g, M_PASSES] >= 2 or moves[g] >= cap:
            done[g] = True


@njit(cache=True)
def area_scores(b, m, komi, out):
    """out float64 [G]: Black minus White minus komi by area on each board."""
    for g in range(b.shape[0]):
        black, white = area_counts(b[g], m[g])
        out[g] = black - white - komi
