"""Ladder reading in Numba: is a chain lost when it runs along a ladder?

A ladder is read on board copies: the defender (owner of the prey chain, on one liberty)
extends at its liberty or captures an adjacent attacker chain in atari; the attacker
answers by playing one of the prey's two liberties. The prey escapes at three or more
liberties. The search is exhaustive (so its answer does not depend on the board's
orientation) within a node budget; a search that runs out of budget counts as an escape.
Simple ko only (superko is ignored inside a ladder).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from rlgo.go.kernels import (
    COL, EMPTY, HEAD, LEGAL, M_N, M_TOPLAY, NEXT, legality, play_vertex,
)

LADDER_BUDGET = 4096
"""Default number of positions a single ladder read may visit."""


@njit(cache=True, inline="always")
def contains(items, count, x):
    """Whether x is among items[:count]."""
    for i in range(count):
        if items[i] == x:
            return True
    return False


@njit(cache=True)
def first_liberties(b, stride, h, out):
    """Write up to len(out) distinct liberties of the chain headed by h into out; returns the count found."""
    cap = out.shape[0]
    count = 0
    s = h
    while True:
        for u in (s - 1, s + 1, s - stride, s + stride):
            if b[COL, u] == EMPTY and not contains(out, count, u):
                out[count] = u
                count += 1
                if count == cap:
                    return count
        s = b[NEXT, s]
        if s == h:
            return count


@njit(cache=True)
def _defender_moves(b, stride, h, lib, out):
    """The prey's liberty and the liberties of adjacent attacker chains in atari into out; returns the count."""
    attacker = 3 - b[COL, h]
    out[0] = lib
    count = 1
    one = np.empty(2, dtype=np.int64)
    s = h
    while True:
        for u in (s - 1, s + 1, s - stride, s + stride):
            if (b[COL, u] == attacker and first_liberties(b, stride, b[HEAD, u], one) == 1
                    and not contains(out, count, one[0])):
                out[count] = one[0]
                count += 1
        s = b[NEXT, s]
        if s == h:
            return count


@njit(cache=True)
def ladder_captured(b, m, zob, p, budget):
    """Whether the chain at vertex p dies in a ladder (boards untouched).

    Either its owner is to move and it has one liberty, or the attacker is to move and it
    has two. `budget` is int64 [1], the positions left to visit (decremented in place).
    """
    if budget[0] <= 0:
        return False
    budget[0] -= 1
    stride = m[M_N] + 2
    prey = b[COL, p]
    libs = np.empty(3, dtype=np.int64)
    n_libs = first_liberties(b, stride, b[HEAD, p], libs)
    if m[M_TOPLAY] == prey:
        if n_libs != 1:
            return n_libs == 0
        moves = np.empty(b.shape[1], dtype=np.int64)
        for i in range(_defender_moves(b, stride, b[HEAD, p], libs[0], moves)):
            if legality(b, m, moves[i], prey) != LEGAL:
                continue
            b2 = b.copy()
            m2 = m.copy()
            play_vertex(b2, m2, zob, moves[i], prey)
            if b2[COL, p] == prey and not ladder_captured(b2, m2, zob, p, budget):
                return False
        return True
    if n_libs != 2:
        return n_libs < 2
    attacker = m[M_TOPLAY]
    for i in range(2):
        if legality(b, m, libs[i], attacker) != LEGAL:
            continue
        b2 = b.copy()
        m2 = m.copy()
        play_vertex(b2, m2, zob, libs[i], attacker)
        if b2[COL, p] != prey or ladder_captured(b2, m2, zob, p, budget):
            return True
    return False
