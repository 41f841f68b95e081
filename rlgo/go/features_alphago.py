"""The AlphaGo (2016) input planes in Numba: 48 planes relative to the side to move.

| planes | feature            | meaning (one-hot buckets where there are 8 planes)                  |
|--------|--------------------|----------------------------------------------------------------------|
| 0-2    | stone colour       | own stone, opponent stone, empty                                      |
| 3      | ones               | constant 1                                                            |
| 4-11   | turns since        | moves since the stone was played: 1, 2, ..., 7, >=8                   |
| 12-19  | liberties          | liberties of the chain of a stone: 1, ..., 7, >=8                     |
| 20-27  | capture size       | opponent stones a legal move captures: 0, 1, ..., 6, >=7              |
| 28-35  | self-atari size    | stones of a legal move's chain left on one liberty: 1, ..., 7, >=8    |
| 36-43  | liberties after    | liberties of a legal move's chain after it: 1, ..., 7, >=8            |
| 44     | ladder capture     | a legal move that ataris an opponent chain which then dies in a ladder|
| 45     | ladder escape      | a legal move that extends an own chain in atari and it survives       |
| 46     | sensible           | legal and not filling an own single-point eye                         |
| 47     | zeros              | constant 0                                                            |

"Legal" is kernel legality with simple ko (superko needs the game's hash history; masks
handle it). Turns since come from the position history: the first row in which the point
looked different dates the stone; stones older than 7 moves, or already there at the
start (setup / handicap), fall in the >=8 plane.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from rlgo.go.kernels import (
    BLACK, COL, EMPTY, HEAD, LEGAL, M_MOVENUM, M_N, M_TOPLAY, NEXT, SIZE, WHITE,
    chain_liberties, is_eyeish, legality, play_vertex,
)
from rlgo.go.ladders import LADDER_BUDGET, contains, ladder_captured

ALPHAGO_PLANES = 48
P_OWN, P_OPP, P_EMPTY, P_ONES = 0, 1, 2, 3
P_TURNS, P_LIBS, P_CAPTURE, P_SELF_ATARI, P_LIBS_AFTER = 4, 12, 20, 28, 36
P_LADDER_CAPTURE, P_LADDER_ESCAPE, P_SENSIBLE, P_ZEROS = 44, 45, 46, 47


@njit(cache=True)
def _age(history, movenum, v):
    """Moves since the stone at v was played (1 = last move); 8 for 8+ or already at the start."""
    now = history[0, v]
    for j in range(1, min(8, movenum + 1, history.shape[0])):
        if history[j, v] != now:
            return j
    return 8


@njit(cache=True)
def _move_effect(b, m, v, color, libs, mark, stamp, own_heads, cap_heads):
    """(stones captured, stones in the new chain, its liberties) for a legal move at v.

    `libs` holds exact liberties per chain head; `mark` is int64 [A] scratch compared to
    `stamp`; own_heads and cap_heads are int64 [4] scratch.
    """
    stride = m[M_N] + 2
    n_own = 0
    n_cap = 0
    captured = 0
    stones = 1
    for u in (v - 1, v + 1, v - stride, v + stride):
        c = b[COL, u]
        if c != BLACK and c != WHITE:
            continue
        h = b[HEAD, u]
        if c == color and not contains(own_heads, n_own, h):
            own_heads[n_own] = h
            n_own += 1
            stones += b[SIZE, h]
        elif c != color and libs[h] == 1 and not contains(cap_heads, n_cap, h):
            cap_heads[n_cap] = h
            n_cap += 1
            captured += b[SIZE, h]
    mark[v] = stamp
    count = 0
    for u in (v - 1, v + 1, v - stride, v + stride):
        if b[COL, u] == EMPTY and mark[u] != stamp:
            mark[u] = stamp
            count += 1
    for i in range(n_own):
        h = own_heads[i]
        s = h
        while True:
            for u in (s - 1, s + 1, s - stride, s + stride):
                if b[COL, u] == EMPTY and mark[u] != stamp:
                    mark[u] = stamp
                    count += 1
            s = b[NEXT, s]
            if s == h:
                break
    for i in range(n_cap):
        # a captured stone becomes a liberty when it touches the new stone or a merged chain
        h = cap_heads[i]
        s = h
        while True:
            for u in (s - 1, s + 1, s - stride, s + stride):
                if u == v or (b[COL, u] == color and contains(own_heads, n_own, b[HEAD, u])):
                    count += 1
                    break
            s = b[NEXT, s]
            if s == h:
                break
    return captured, stones, count


@njit(cache=True)
def _ladder_flags(b, m, zob, v, color, libs, budget, preys):
    """(ladder capture, ladder escape) for a legal move by `color` at v; `preys` is int64 [4] scratch."""
    stride = m[M_N] + 2
    n_preys = 0
    in_atari = False
    for u in (v - 1, v + 1, v - stride, v + stride):
        c = b[COL, u]
        if c == color and libs[b[HEAD, u]] == 1:
            in_atari = True
        elif c == 3 - color and libs[b[HEAD, u]] == 2 and not contains(preys, n_preys, b[HEAD, u]):
            preys[n_preys] = b[HEAD, u]
            n_preys += 1
    if n_preys == 0 and not in_atari:
        return False, False
    b2 = b.copy()
    m2 = m.copy()
    play_vertex(b2, m2, zob, v, color)
    capture = False
    for i in range(n_preys):
        if not capture and b2[COL, preys[i]] == 3 - color:
            budget[0] = LADDER_BUDGET
            capture = ladder_captured(b2, m2, zob, preys[i], budget)
    escape = False
    if in_atari and b2[COL, v] == color:
        budget[0] = LADDER_BUDGET
        escape = not ladder_captured(b2, m2, zob, v, budget)
    return capture, escape


@njit(cache=True)
def encode_alphago(b, m, history, out):
    """Write the 48 AlphaGo planes of (b, m) into out float32 [48, N, N].

    history: int8 [>=8, (N+2)**2] kernel colour rows, [0] now, [i] i moves ago (see
    GameState.position_history). Planes are relative to the side to move m[M_TOPLAY].
    """
    n = m[M_N]
    stride = n + 2
    area = stride * stride
    own = m[M_TOPLAY]
    movenum = m[M_MOVENUM]
    out[:] = 0.0
    out[P_ONES] = 1.0
    libs = np.zeros(area, dtype=np.int64)
    mark = np.zeros(area, dtype=np.int64)
    scratch = np.zeros(area, dtype=np.int32)
    zob = np.zeros((3, area), dtype=np.int64)  # ladder boards need a table; their hashes are unused
    budget = np.zeros(1, dtype=np.int64)
    heads = np.zeros((3, 4), dtype=np.int64)
    for v in range(area):
        c = b[COL, v]
        if (c == BLACK or c == WHITE) and b[HEAD, v] == v:
            libs[v] = chain_liberties(b, m, v, scratch)
    stamp = 0
    for r in range(n):
        for col in range(n):
            v = (r + 1) * stride + col + 1
            c = b[COL, v]
            if c != EMPTY:
                out[P_OWN if c == own else P_OPP, r, col] = 1.0
                out[P_TURNS + _age(history, movenum, v) - 1, r, col] = 1.0
                out[P_LIBS + min(libs[b[HEAD, v]], 8) - 1, r, col] = 1.0
                continue
            out[P_EMPTY, r, col] = 1.0
            if legality(b, m, v, own) != LEGAL:
                continue
            stamp += 1
            captured, stones, after = _move_effect(b, m, v, own, libs, mark, stamp, heads[0], heads[1])
            out[P_CAPTURE + min(captured, 7), r, col] = 1.0
            if after == 1:
                out[P_SELF_ATARI + min(stones, 8) - 1, r, col] = 1.0
            if after >= 1:
                out[P_LIBS_AFTER + min(after, 8) - 1, r, col] = 1.0
            for u in (v - 1, v + 1, v - stride, v + stride):
                # ladders need a neighbouring chain on 1 or 2 liberties; checking here saves most calls
                if (b[COL, u] == BLACK or b[COL, u] == WHITE) and libs[b[HEAD, u]] <= 2:
                    capture, escape = _ladder_flags(b, m, zob, v, own, libs, budget, heads[2])
                    out[P_LADDER_CAPTURE, r, col] = 1.0 if capture else 0.0
                    out[P_LADDER_ESCAPE, r, col] = 1.0 if escape else 0.0
                    break
            if not is_eyeish(b, m, v, own):
                out[P_SENSIBLE, r, col] = 1.0
