"""Numba board kernels on a padded flat board.

A board is two arrays (see `new_board`):

- `b`: int32 [NROWS, A] with A = (N+2)**2, rows COL (EMPTY/BLACK/WHITE/WALL), HEAD (chain
  head of a stone), NEXT (circular next-stone ring), SIZE and PLIBS (stone count and
  pseudo-liberties, valid at the head), EMP (list of empty vertices) and EPOS (index of an
  empty vertex in EMP).
- `m`: int64 [NMETA] scalars: size, side to move, ko vertex, consecutive passes, move
  number, Zobrist hash of the stones, prisoners taken by each colour, last move, number
  of empty points, whether suicide is allowed, komi, and the fewest empty points of any position
  of the board so far (a move that captures nothing from a position at that low repeats none).

Pseudo-liberties count (stone, empty neighbour) pairs; a chain whose pseudo-liberties
equal its adjacencies to a point p has no liberty except p. That is all legality needs.
Vertices are padded indices; point <-> vertex conversions live in `coords`.
"""
from __future__ import annotations

import numpy as np
from numba import njit

EMPTY, BLACK, WHITE, WALL = 0, 1, 2, 3
COL, HEAD, NEXT, SIZE, PLIBS, EMP, EPOS = range(7)
NROWS = 7
# meta slots
(M_N, M_TOPLAY, M_KO, M_PASSES, M_MOVENUM, M_HASH, M_CAP_B, M_CAP_W, M_LAST, M_NEMPTY, M_SUICIDE, M_KOMI,
 M_FEWEST) = range(13)
NMETA = 13
KOMI_SCALE = 1000
"""m[M_KOMI] = round(komi * KOMI_SCALE)."""
NO_VERTEX = -1
PASS_VERTEX = 0  # vertex 0 is a wall corner, never a playable point

# legality codes (kernel side); names in LEGALITY_NAMES
LEGAL, OCCUPIED, SUICIDE, KO = 0, 1, 2, 3
LEGALITY_NAMES = ("legal", "occupied", "suicide", "ko")


def zobrist_table(size: int, seed: int = 0x5EED) -> np.ndarray:
    """Random 64-bit keys, int64 [3, A]: row 1 black, row 2 white, row 0 [0] = white to move."""
    rng = np.random.default_rng(seed + size)
    area = (size + 2) ** 2
    return rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, size=(3, area), dtype=np.int64)


def new_board(size: int, suicide: bool = False, komi: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """An empty board: (b int32 [NROWS, (N+2)**2], m int64 [NMETA]), black to move."""
    w = size + 2
    b = np.zeros((NROWS, w * w), dtype=np.int32)
    b[COL, :] = WALL
    n_empty = 0
    for row in range(size):
        for col in range(size):
            v = (row + 1) * w + col + 1
            b[COL, v] = EMPTY
            b[EMP, n_empty] = v
            b[EPOS, v] = n_empty
            n_empty += 1
    m = np.zeros(NMETA, dtype=np.int64)
    m[M_N] = size
    m[M_TOPLAY] = BLACK
    m[M_KO] = NO_VERTEX
    m[M_LAST] = NO_VERTEX
    m[M_NEMPTY] = n_empty
    m[M_FEWEST] = n_empty
    m[M_SUICIDE] = 1 if suicide else 0
    m[M_KOMI] = round(komi * KOMI_SCALE)
    return b, m


@njit(cache=True, inline="always")
def _remove_empty(b, m, v):
    n = m[M_NEMPTY] - 1
    i = b[EPOS, v]
    last = b[EMP, n]
    b[EMP, i] = last
    b[EPOS, last] = i
    m[M_NEMPTY] = n


@njit(cache=True, inline="always")
def _add_empty(b, m, v):
    n = m[M_NEMPTY]
    b[EMP, n] = v
    b[EPOS, v] = n
    m[M_NEMPTY] = n + 1


@njit(cache=True, inline="always")
def edges_to(b, v, h, stride):
    """Number of v's neighbours that belong to the chain headed by h."""
    w = 0
    for u in (v - 1, v + 1, v - stride, v + stride):
        c = b[COL, u]
        if (c == BLACK or c == WHITE) and b[HEAD, u] == h:
            w += 1
    return w


@njit(cache=True)
def legality(b, m, v, color):
    """LEGAL, OCCUPIED, SUICIDE or KO (simple ko only) for `color` playing vertex v."""
    if b[COL, v] != EMPTY:
        return OCCUPIED
    if v == m[M_KO]:
        return KO
    stride = m[M_N] + 2
    opp = 3 - color
    for u in (v - 1, v + 1, v - stride, v + stride):
        c = b[COL, u]
        if c == EMPTY:
            return LEGAL
        if c == color:
            h = b[HEAD, u]
            if b[PLIBS, h] > edges_to(b, v, h, stride):
                return LEGAL
        elif c == opp:
            h = b[HEAD, u]
            if b[PLIBS, h] == edges_to(b, v, h, stride):
                return LEGAL
    if m[M_SUICIDE]:
        return LEGAL
    return SUICIDE


@njit(cache=True, inline="always")
def _chain_hash(b, zob, h):
    """XOR of the Zobrist keys of the chain headed by h."""
    color = b[COL, h]
    x = np.int64(0)
    s = h
    while True:
        x ^= zob[color, s]
        s = b[NEXT, s]
        if s == h:
            return x


@njit(cache=True, inline="always")
def _listed_before(b, nbrs, i, h):
    """Whether one of nbrs[:i] is a stone of the chain headed by h."""
    for j in range(i):
        c = b[COL, nbrs[j]]
        if (c == BLACK or c == WHITE) and b[HEAD, nbrs[j]] == h:
            return True
    return False


@njit(cache=True)
def result_hash(b, m, zob, v, color):
    """Zobrist hash of the stones after a legal move by `color` at v (board untouched)."""
    hsh = m[M_HASH] ^ zob[color, v]
    stride = m[M_N] + 2
    nbrs = (v - 1, v + 1, v - stride, v + stride)
    self_dies = True
    captures = False
    for i in range(4):
        c = b[COL, nbrs[i]]
        if c == EMPTY:
            self_dies = False
        elif c == BLACK or c == WHITE:
            h = b[HEAD, nbrs[i]]
            if _listed_before(b, nbrs, i, h):
                continue
            edges = edges_to(b, v, h, stride)
            if c == color:
                if b[PLIBS, h] > edges:
                    self_dies = False
            elif b[PLIBS, h] == edges:
                captures = True
                hsh ^= _chain_hash(b, zob, h)
    if self_dies and not captures:
        # suicide (only reached when allowed): the new stone and its friendly chains vanish
        hsh ^= zob[color, v]
        for i in range(4):
            if b[COL, nbrs[i]] == color and not _listed_before(b, nbrs, i, b[HEAD, nbrs[i]]):
                hsh ^= _chain_hash(b, zob, b[HEAD, nbrs[i]])
    return hsh


@njit(cache=True)
def _remove_chain(b, m, zob, h):
    """Take the chain headed by h off the board; returns its stone count."""
    stride = m[M_N] + 2
    color = b[COL, h]
    count = 0
    s = h
    while True:
        b[COL, s] = EMPTY
        m[M_HASH] ^= zob[color, s]
        _add_empty(b, m, s)
        count += 1
        s = b[NEXT, s]
        if s == h:
            break
    s = h
    while True:
        for u in (s - 1, s + 1, s - stride, s + stride):
            c = b[COL, u]
            if c == BLACK or c == WHITE:
                b[PLIBS, b[HEAD, u]] += 1
        s = b[NEXT, s]
        if s == h:
            break
    return count


@njit(cache=True)
def _merge(b, keep, gone):
    """Merge chain `gone` into chain `keep` (both heads)."""
    s = gone
    while True:
        b[HEAD, s] = keep
        s = b[NEXT, s]
        if s == gone:
            break
    nk = b[NEXT, keep]
    b[NEXT, keep] = b[NEXT, gone]
    b[NEXT, gone] = nk
    b[SIZE, keep] += b[SIZE, gone]
    b[PLIBS, keep] += b[PLIBS, gone]


@njit(cache=True)
def play_vertex(b, m, zob, v, color):
    """Place a stone of `color` at v (assumed legal), capture, set ko; returns stones captured."""
    stride = m[M_N] + 2
    opp = 3 - color
    b[COL, v] = color
    _remove_empty(b, m, v)
    b[HEAD, v] = v
    b[NEXT, v] = v
    b[SIZE, v] = 1
    b[PLIBS, v] = 0
    m[M_HASH] ^= zob[color, v]
    for u in (v - 1, v + 1, v - stride, v + stride):
        c = b[COL, u]
        if c == EMPTY:
            b[PLIBS, v] += 1
        elif c == BLACK or c == WHITE:
            b[PLIBS, b[HEAD, u]] -= 1
    for u in (v - 1, v + 1, v - stride, v + stride):
        if b[COL, u] == color:
            hu = b[HEAD, u]
            hv = b[HEAD, v]
            if hu != hv:
                if b[SIZE, hu] >= b[SIZE, hv]:
                    _merge(b, hu, hv)
                else:
                    _merge(b, hv, hu)
    captured = 0
    ko_vertex = NO_VERTEX
    for u in (v - 1, v + 1, v - stride, v + stride):
        if b[COL, u] == opp and b[PLIBS, b[HEAD, u]] == 0:
            n = _remove_chain(b, m, zob, b[HEAD, u])
            captured += n
            ko_vertex = u
    hv = b[HEAD, v]
    if b[PLIBS, hv] == 0:
        lost = _remove_chain(b, m, zob, hv)
        if color == BLACK:
            m[M_CAP_W] += lost
        else:
            m[M_CAP_B] += lost
        ko_vertex = NO_VERTEX
    elif not (captured == 1 and b[SIZE, hv] == 1 and b[PLIBS, hv] == 1):
        ko_vertex = NO_VERTEX
    m[M_KO] = ko_vertex
    if color == BLACK:
        m[M_CAP_B] += captured
    else:
        m[M_CAP_W] += captured
    m[M_TOPLAY] = opp
    m[M_PASSES] = 0
    m[M_MOVENUM] += 1
    m[M_LAST] = v
    if m[M_NEMPTY] < m[M_FEWEST]:
        m[M_FEWEST] = m[M_NEMPTY]
    return captured


@njit(cache=True)
def play_pass(m):
    """The side to move passes."""
    m[M_TOPLAY] = 3 - m[M_TOPLAY]
    m[M_KO] = NO_VERTEX
    m[M_PASSES] += 1
    m[M_MOVENUM] += 1
    m[M_LAST] = PASS_VERTEX


@njit(cache=True)
def legal_vertices(b, m, color, out):
    """Write the vertices `color` may play (simple ko) into out int64 [>= N*N]; returns the count."""
    count = 0
    for i in range(m[M_NEMPTY]):
        v = b[EMP, i]
        if legality(b, m, v, color) == LEGAL:
            out[count] = v
            count += 1
    return count


@njit(cache=True)
def is_eyeish(b, m, v, color):
    """True when v is empty, all its neighbours are `color` or wall, and it is not a false eye."""
    if b[COL, v] != EMPTY:
        return False
    stride = m[M_N] + 2
    for u in (v - 1, v + 1, v - stride, v + stride):
        c = b[COL, u]
        if c != color and c != WALL:
            return False
    opp = 3 - color
    bad = 0
    edge = 0
    for u in (v - stride - 1, v - stride + 1, v + stride - 1, v + stride + 1):
        c = b[COL, u]
        if c == opp:
            bad += 1
        elif c == WALL:
            edge = 1
    return bad + edge < 2


@njit(cache=True)
def chain_liberties(b, m, v, mark):
    """Exact liberty count of the chain at vertex v; `mark` is scratch int32 [A] (zeroed on exit)."""
    stride = m[M_N] + 2
    h = b[HEAD, v]
    count = 0
    s = h
    while True:
        for u in (s - 1, s + 1, s - stride, s + stride):
            if b[COL, u] == EMPTY and mark[u] == 0:
                mark[u] = 1
                count += 1
        s = b[NEXT, s]
        if s == h:
            break
    s = h
    while True:
        for u in (s - 1, s + 1, s - stride, s + stride):
            mark[u] = 0
        s = b[NEXT, s]
        if s == h:
            break
    return count


@njit(cache=True)
def ownership(b, m, out):
    """Area owner per vertex into out int8 [A]: BLACK, WHITE or EMPTY (dame / wall)."""
    n = m[M_N]
    stride = n + 2
    area = stride * stride
    seen = np.zeros(area, dtype=np.uint8)
    stack = np.empty(area, dtype=np.int64)
    region = np.empty(area, dtype=np.int64)
    for v in range(area):
        c = b[COL, v]
        if c == BLACK or c == WHITE:
            out[v] = c
        elif c == WALL:
            out[v] = EMPTY
        elif seen[v] == 0:
            top = 0
            size = 0
            stack[top] = v
            top += 1
            seen[v] = 1
            touches = 0
            while top > 0:
                top -= 1
                s = stack[top]
                region[size] = s
                size += 1
                for u in (s - 1, s + 1, s - stride, s + stride):
                    cu = b[COL, u]
                    if cu == EMPTY:
                        if seen[u] == 0:
                            seen[u] = 1
                            stack[top] = u
                            top += 1
                    elif cu == BLACK:
                        touches |= 1
                    elif cu == WHITE:
                        touches |= 2
            owner = EMPTY
            if touches == 1:
                owner = BLACK
            elif touches == 2:
                owner = WHITE
            for k in range(size):
                out[region[k]] = owner


@njit(cache=True)
def area_counts(b, m):
    """(black points, white points) under area scoring: stones + empty regions of one colour."""
    owner = np.empty(b.shape[1], dtype=np.int8)
    ownership(b, m, owner)
    black = 0
    white = 0
    for v in range(owner.shape[0]):
        if owner[v] == BLACK:
            black += 1
        elif owner[v] == WHITE:
            white += 1
    return black, white


@njit(cache=True)
def territory_counts(b, m):
    """(black points, white points) under territory scoring: empty regions of one colour + prisoners taken."""
    owner = np.empty(b.shape[1], dtype=np.int8)
    ownership(b, m, owner)
    black = m[M_CAP_B]
    white = m[M_CAP_W]
    for v in range(owner.shape[0]):
        if b[COL, v] == EMPTY:
            if owner[v] == BLACK:
                black += 1
            elif owner[v] == WHITE:
                white += 1
    return black, white


SCORING_AREA, SCORING_TERRITORY = 0, 1
SCORING_MODES = {"area": SCORING_AREA, "territory": SCORING_TERRITORY}
"""Kernel code of each Rules.scoring, for `counts`."""


@njit(cache=True)
def counts(b, m, scoring):
    """(black points, white points) under `scoring` (SCORING_AREA or SCORING_TERRITORY), no dead stones removed."""
    if scoring == SCORING_TERRITORY:
        return territory_counts(b, m)
    return area_counts(b, m)
