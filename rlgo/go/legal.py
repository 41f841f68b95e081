"""Legal moves under every ko rule in one Numba call, and the superko key they are checked by.

A position's superko key is the Zobrist hash of its stones, XOR the side-to-move key when the
rule is situational and White moves next. `legal_moves` checks simple ko, suicide, the earlier
positions of the game (sorted keys) and, for a search, the positions on the path to a leaf,
for every empty point in one kernel; GameState, the search and batched play all use it.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from rlgo.go.coords import from_vertex, to_vertex
from rlgo.go.kernels import (
    COL, EMP, EMPTY, HEAD, M_FEWEST, M_HASH, M_KO, M_N, M_NEMPTY, M_SUICIDE, M_TOPLAY, PLIBS, WHITE,
    edges_to, is_eyeish, play_pass, play_vertex, result_hash,
)

KO_SIMPLE, KO_POSITIONAL, KO_SITUATIONAL = 0, 1, 2
KO_MODES = {"simple": KO_SIMPLE, "positional": KO_POSITIONAL, "situational": KO_SITUATIONAL}
"""Kernel code of each Rules.ko."""


@njit(cache=True, inline="always")
def position_key(stones_hash, next_to_play, ko_mode, zob):
    """The superko key of a position: its stones' hash, marked when situational and White moves next."""
    if ko_mode == KO_SITUATIONAL and next_to_play == WHITE:
        return stones_hash ^ zob[0, 0]
    return stones_hash


@njit(cache=True)
def _in_sorted(keys, key):
    i = np.searchsorted(keys, key)
    return i < keys.shape[0] and keys[i] == key


@njit(cache=True)
def legal_moves(b, m, zob, game_keys, path_keys, depth, ko_mode, prune_eyes, out):
    """Legal moves of the side to move into out bool [N*N+1] (pass always legal); returns the count.

    Superko (ko_mode != KO_SIMPLE): a move whose resulting key is in game_keys (int64, sorted)
    or in path_keys[1..depth] is illegal (depth 0: no path). `prune_eyes`: also leave out moves
    filling one's own single-point eye.

    One pass over each point's neighbours decides both its legality (as kernels.legality) and whether
    the move removes stones (a capture, or an allowed suicide): only then is the resulting hash
    recomputed (kernels.result_hash); otherwise the new stone is all that changes. A move that removes
    nothing from a position with the fewest empty points so far (m[M_FEWEST]) leaves fewer than any
    earlier position had, so it repeats none and is not looked up.
    """
    n = m[M_N]
    color = m[M_TOPLAY]
    opp = 3 - color
    stride = n + 2
    superko = ko_mode != KO_SIMPLE
    fewest = m[M_NEMPTY] <= m[M_FEWEST]
    out[:] = False
    count = 1
    out[n * n] = True
    for i in range(m[M_NEMPTY]):
        v = b[EMP, i]
        if v == m[M_KO]:
            continue
        free = False  # the new stone keeps a liberty without capturing
        captures = False
        open_side = False  # an empty or opponent neighbour: v is no eye of the mover's
        for u in (v - 1, v + 1, v - stride, v + stride):
            c = b[COL, u]
            if c == EMPTY:
                free = open_side = True
            elif c == color:
                if not free and b[PLIBS, b[HEAD, u]] > edges_to(b, v, b[HEAD, u], stride):
                    free = True
            elif c == opp:
                open_side = True
                if not captures:
                    captures = b[PLIBS, b[HEAD, u]] == edges_to(b, v, b[HEAD, u], stride)
            if free and not superko:
                break
        if not (free or captures or m[M_SUICIDE]):
            continue
        if prune_eyes and not open_side and is_eyeish(b, m, v, color):
            continue
        if superko and (captures or not free or not fewest):
            if captures or not free:
                stones = result_hash(b, m, zob, v, color)
            else:
                stones = m[M_HASH] ^ zob[color, v]
            key = position_key(stones, opp, ko_mode, zob)
            if _in_sorted(game_keys, key):
                continue
            repeat = False
            for d in range(1, depth + 1):
                if path_keys[d] == key:
                    repeat = True
                    break
            if repeat:
                continue
        out[from_vertex(v, n)] = True
        count += 1
    return count


@njit(cache=True)
def play_point(b, m, zob, point):
    """Play a point (N*N = pass) for the side to move; assumes it is legal."""
    n = m[M_N]
    if point == n * n:
        play_pass(m)
    else:
        play_vertex(b, m, zob, to_vertex(point, n), m[M_TOPLAY])
