"""Cheap local move features for the fast rollout policy (Numba), relative to the side to move.

A candidate move v of colour c (a legal empty point that does not fill c's own eye) has
- a 3x3 pattern code (NUM_CODES values): the state of the 8 neighbours (0 empty, 1 own,
  2 opponent, 3 off-board; 2 bits each, order N S W E NW NE SW SE at bits 0..15) plus, for
  the 4 orthogonal neighbours, whether their chain is in atari (bits 16..19). Codes are
  folded over the 8 board symmetries by `canonical_codes`;
- tactical flags `F_*` (bit mask);
- the distance bucket to the previous move (`DISTANCES`; 0 = none or far).
Everything is exact and uses only the kernel's pseudo-liberties: the chain h next to an
empty point p has p as its only liberty iff PLIBS[h] equals the number of p's sides that
touch h. Functions take the kernel arrays (b, m) of rlgo.go.kernels and padded vertices.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from rlgo.go.coords import to_vertex
from rlgo.go.kernels import COL, EMPTY, HEAD, M_KO, M_LAST, M_N, M_SUICIDE, M_TOPLAY, NEXT, PLIBS, SIZE, WALL

NUM_CODES = 1 << 20
"""Distinct raw pattern codes."""
NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))
"""(row, col) offsets of the pattern's 8 neighbours, in code order."""
ATARI_SHIFT = 16
NOT_CANDIDATE = -1
"""`point_features` code of an illegal move or one that fills the mover's own eye."""

F_CAPTURE, F_CAPTURE_BIG, F_SAVE, F_SELF_ATARI, F_SELF_ATARI_BIG, F_CAPTURE_LAST = range(6)
NUM_FLAGS = 6
FLAG_NAMES = ("capture", "capture a chain of >= 2 stones", "save own chain from atari", "self-atari",
              "self-atari of >= 2 stones", "capture the chain of the last move")

DISTANCES = ((0, 1), (1, 1), (0, 2), (1, 2), (2, 2), (0, 3), (1, 3))
"""(min, max) of |drow|, |dcol| for distance buckets 1..7 to the previous move (0: none or farther)."""
NUM_DIST = len(DISTANCES) + 1
NEAR = np.array([(dr, dc, k + 1) for k, (lo, hi) in enumerate(DISTANCES)
                 for dr in range(-hi, hi + 1) for dc in range(-hi, hi + 1)
                 if sorted((abs(dr), abs(dc))) == [lo, hi]], dtype=np.int64)
"""(drow, dcol, bucket) of every offset with a non-zero distance bucket (36 rows)."""


@njit(cache=True)
def point_features(b, v, color, stride, ko, suicide, work, mark):
    """(pattern code, F_* flags without F_CAPTURE_LAST) of `color` at the empty vertex v.

    stride = N + 2, ko = m[M_KO], suicide = m[M_SUICIDE] (passed as scalars: hot loops hoist
    them). Code NOT_CANDIDATE when the move is illegal (simple ko, suicide) or fills an own
    eye (`kernels.is_eyeish`). work: int64 [12] scratch; mark: int32 [A] scratch (`_libs_after`).
    """
    # work[0:4] heads (or -1 - i for empty / off-board), work[4:8] colours, work[8:12] sides
    # of v touching that chain; plain indexing, no slices (views cost reference counting)
    i = 0
    for u in (v - stride, v + stride, v - 1, v + 1):
        c = b[COL, u]
        work[4 + i] = c
        work[i] = b[HEAD, u] if c != EMPTY and c != WALL else -1 - i
        i += 1
    for i in range(4):
        e = 0
        for j in range(4):
            if work[j] == work[i]:
                e += 1
        work[8 + i] = e
    opp = 3 - color
    code = 0
    flags = 0
    empties = 0
    legal = suicide != 0
    eye = True
    size = 1
    e_vertex = 0
    for i in range(4):
        c = work[4 + i]
        s = 0 if c == EMPTY else 3 if c == WALL else 1 if c == color else 2
        code |= s << (2 * i)
        if c == EMPTY:
            empties += 1
            e_vertex = v - stride if i == 0 else v + stride if i == 1 else v - 1 if i == 2 else v + 1
            legal = True
            eye = False
        elif c != WALL:
            h = work[i]
            atari = b[PLIBS, h] == work[8 + i]
            if atari:
                code |= 1 << (ATARI_SHIFT + i)
            first = True
            for j in range(i):
                if work[j] == h:
                    first = False
            if c == color:
                if atari:
                    flags |= 1 << F_SAVE
                else:
                    legal = True
                if first:
                    size += b[SIZE, h]
            else:
                eye = False
                if atari:
                    legal = True
                    flags |= 1 << F_CAPTURE
                    if b[SIZE, h] >= 2:
                        flags |= 1 << F_CAPTURE_BIG
    i = 4
    bad = 0
    edge = 0
    for u in (v - stride - 1, v - stride + 1, v + stride - 1, v + stride + 1):
        c = b[COL, u]
        code |= (0 if c == EMPTY else 3 if c == WALL else 1 if c == color else 2) << (2 * i)
        if c == opp:
            bad += 1
        elif c == WALL:
            edge = 1
        i += 1
    if v == ko or not legal or (eye and bad + edge < 2):
        return NOT_CANDIDATE, 0
    if flags & (1 << F_CAPTURE) or empties >= 2:
        return code, flags
    # no capture and at most one empty neighbour: is the new chain left with one liberty?
    elsewhere = False
    for i in range(4):
        if work[4 + i] == color:
            h = work[i]
            extra = b[PLIBS, h] - work[8 + i]
            if empties == 1:
                for u in (e_vertex - stride, e_vertex + stride, e_vertex - 1, e_vertex + 1):
                    if b[COL, u] == color and b[HEAD, u] == h:
                        extra -= 1
            if extra > 0:
                elsewhere = True
    if elsewhere and (empties == 1 or _libs_after(b, stride, v, color, work, mark) >= 2):
        return code, flags
    flags &= ~(1 << F_SAVE)
    flags |= 1 << F_SELF_ATARI
    if size >= 2:
        flags |= 1 << F_SELF_ATARI_BIG
    return code, flags


@njit(cache=True)
def _libs_after(b, stride, v, color, work, mark):
    """Distinct liberties (capped at 2) of the chain made by `color` at v, v's empty neighbours included.

    `mark` int32 [A] is scratch whose slot 0 (a wall corner, never a liberty) holds a stamp
    that grows with each call, so it never needs clearing.
    """
    mark[0] += 1
    stamp = mark[0]
    mark[v] = stamp
    count = 0
    for u in (v - 1, v + 1, v - stride, v + stride):
        if b[COL, u] == EMPTY and mark[u] != stamp:
            mark[u] = stamp
            count += 1
    for k in range(4):  # own chains around v (work as filled by point_features)
        if work[4 + k] != color:
            continue
        h = work[k]
        s = h
        while count < 2:
            for u in (s - 1, s + 1, s - stride, s + stride):
                if b[COL, u] == EMPTY and mark[u] != stamp:
                    mark[u] = stamp
                    count += 1
            s = b[NEXT, s]
            if s == h:
                break
    return count


@njit(cache=True)
def last_chain_liberty(b, m):
    """The only liberty of the chain of the last move when it is in atari, else -1."""
    last = m[M_LAST]
    if last <= 0 or b[COL, last] == EMPTY:
        return -1
    stride = m[M_N] + 2
    h = b[HEAD, last]
    lib = -1
    s = h
    while True:
        for u in (s - 1, s + 1, s - stride, s + stride):
            if b[COL, u] == EMPTY:
                if lib >= 0 and u != lib:
                    return -1
                lib = u
        s = b[NEXT, s]
        if s == h:
            return lib


@njit(cache=True)
def distance_bucket(v, last, stride):
    """Bucket 1..7 of v's offset from the previous move `last` (vertex), 0 if none or far."""
    if last <= 0:
        return 0
    dr = abs(v // stride - last // stride)
    dc = abs(v % stride - last % stride)
    lo, hi = min(dr, dc), max(dr, dc)
    for k in range(len(DISTANCES)):
        if DISTANCES[k][0] == lo and DISTANCES[k][1] == hi:
            return k + 1
    return 0


@njit(cache=True)
def move_features(b, m, v, color, last_lib, work, mark):
    """(code, flags, distance bucket) of a candidate; code NOT_CANDIDATE otherwise.

    last_lib: `last_chain_liberty(b, m)` of this position (computed once per position).
    """
    code, flags = point_features(b, v, color, m[M_N] + 2, m[M_KO], m[M_SUICIDE], work, mark)
    if code == NOT_CANDIDATE:
        return code, 0, 0
    if v == last_lib:
        flags |= 1 << F_CAPTURE_LAST
    return code, flags, distance_bucket(v, m[M_LAST], m[M_N] + 2)


@njit(cache=True)
def point_candidates(b, m, work, mark, codes, flags, dists):
    """move_features of the side to move at every point into codes, flags, dists [N*N] (by point);
    codes[p] = NOT_CANDIDATE for occupied points and non-candidates."""
    n = m[M_N]
    color = m[M_TOPLAY]
    last_lib = last_chain_liberty(b, m)
    for p in range(n * n):
        v = to_vertex(p, n)
        if b[COL, v] != EMPTY:
            codes[p] = NOT_CANDIDATE
            continue
        codes[p], flags[p], dists[p] = move_features(b, m, v, color, last_lib, work, mark)


def _symmetry_permutations() -> np.ndarray:
    """int64 [8, 8]: perm[k, i] = where neighbour i goes under symmetry k (orthogonals stay 0..3)."""
    index = {off: i for i, off in enumerate(NEIGHBOURS)}
    perms = []
    for k in range(8):
        row = []
        for dr, dc in NEIGHBOURS:
            if k >= 4:
                dc = -dc
            for _ in range(k % 4):
                dr, dc = -dc, dr
            row.append(index[(dr, dc)])
        perms.append(row)
    return np.array(perms, dtype=np.int64)


@lru_cache(maxsize=1)
def canonical_codes() -> tuple[np.ndarray, int]:
    """(int32 [NUM_CODES] class of every raw code, number of classes): codes equal up to symmetry share a class."""
    codes = np.arange(NUM_CODES, dtype=np.int64)
    states = [(codes >> (2 * i)) & 3 for i in range(8)]
    ataris = [(codes >> (ATARI_SHIFT + j)) & 1 for j in range(4)]
    best = codes.copy()
    for perm in _symmetry_permutations():
        image = np.zeros(NUM_CODES, dtype=np.int64)
        for i in range(8):
            image |= states[i] << (2 * int(perm[i]))
        for j in range(4):
            image |= ataris[j] << (ATARI_SHIFT + int(perm[j]))
        np.minimum(best, image, out=best)
    _, classes = np.unique(best, return_inverse=True)
    classes = classes.astype(np.int32)
    classes.setflags(write=False)
    return classes, int(classes.max()) + 1
