"""From-scratch consistency checks of the incremental board (KataGo `checkConsistency` style).

Everything the kernels maintain incrementally (chains, heads, next-stone rings, sizes,
pseudo-liberties, the empty list, the Zobrist hash, prisoners, ko) is recomputed here with
simple code (a Numba flood fill, numpy comparisons); any difference raises `ConsistencyError` naming it. Meant for tests and
debugging: randomized tests call it after every move.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from rlgo.go import coords, kernels as K
from rlgo.go.errors import GoError


class ConsistencyError(GoError):
    """The incremental board state disagrees with a from-scratch recomputation."""


def _fail(what: str) -> None:
    raise ConsistencyError(what)


def _neighbours(v: int, stride: int) -> tuple[int, int, int, int]:
    return v - 1, v + 1, v - stride, v + stride


def _check_layout(b: np.ndarray, m: np.ndarray) -> int:
    n = int(m[K.M_N])
    stride = n + 2
    if b.shape != (K.NROWS, stride * stride):
        _fail(f"b has shape {b.shape}, expected {(K.NROWS, stride * stride)} for size {n}")
    col = b[K.COL].reshape(stride, stride)
    interior = np.zeros((stride, stride), dtype=bool)
    interior[1:-1, 1:-1] = True
    if np.any(col[~interior] != K.WALL):
        _fail("a border vertex is not WALL")
    inner = col[interior]
    bad = np.flatnonzero((inner != K.EMPTY) & (inner != K.BLACK) & (inner != K.WHITE))
    if bad.size:
        _fail(f"interior point {int(bad[0])} has colour {int(inner[bad[0]])}")
    if m[K.M_TOPLAY] not in (K.BLACK, K.WHITE):
        _fail(f"side to move is {int(m[K.M_TOPLAY])}")
    return stride


@njit(cache=True)
def _scan_chains(col, nxt, stride, label, size, plibs, ring):
    """Flood-fill chains of a COL row (int32 [A]) from scratch.

    Writes label[v] (int64 [A]) = smallest vertex of v's chain (-1 off stones), and at that
    representative the chain's stone count, pseudo-liberties and the length of the NEXT
    cycle starting there (capped at A + 1).
    """
    area = col.shape[0]
    stack = np.empty(area, dtype=np.int64)
    label[:] = -1
    for v in range(area):
        c = col[v]
        if (c != 1 and c != 2) or label[v] != -1:
            continue
        label[v] = v
        stack[0] = v
        top = 1
        count = 0
        libs = 0
        while top > 0:
            top -= 1
            s = stack[top]
            count += 1
            for u in (s - 1, s + 1, s - stride, s + stride):
                if col[u] == 0:
                    libs += 1
                elif col[u] == c and label[u] == -1:
                    label[u] = v
                    stack[top] = u
                    top += 1
        size[v] = count
        plibs[v] = libs
        steps = 1
        s = nxt[v]
        while s != v and steps <= area:
            s = nxt[s]
            steps += 1
        ring[v] = steps


def _check_chains(b: np.ndarray, stride: int) -> None:
    col, head, nxt = b[K.COL], b[K.HEAD].astype(np.int64), b[K.NEXT].astype(np.int64)
    area = col.shape[0]
    label, size, plibs, ring = (np.zeros(area, dtype=np.int64) for _ in range(4))
    stones = np.flatnonzero((col == K.BLACK) | (col == K.WHITE))
    if not np.all((nxt[stones] >= 0) & (nxt[stones] < area) & (head[stones] >= 0) & (head[stones] < area)):
        _fail("HEAD or NEXT of a stone points off the board array")
    _scan_chains(col, nxt, stride, label, size, plibs, ring)
    rep = label[stones]
    h = head[stones]
    bad = stones[label[h] != rep]
    if bad.size:
        _fail(f"stone at vertex {int(bad[0])} has head {int(head[bad[0]])} outside its chain")
    bad = stones[h != head[rep]]
    if bad.size:
        _fail(f"chain of vertex {int(bad[0])} has two heads {int(head[bad[0]])} and {int(head[label[bad[0]]])}")
    bad = stones[label[nxt[stones]] != rep]
    if bad.size:
        _fail(f"NEXT of vertex {int(bad[0])} is {int(nxt[bad[0]])}, outside its chain")
    if np.unique(nxt[stones]).size != stones.size:
        _fail("NEXT is not one-to-one on the stones")
    reps = np.unique(rep)
    heads = head[reps]
    bad = reps[ring[reps] != size[reps]]
    if bad.size:
        _fail(f"next-stone ring of chain at vertex {int(bad[0])} has length {int(ring[bad[0]])}, "
              f"chain has {int(size[bad[0]])} stones")
    bad = reps[b[K.SIZE, heads] != size[reps]]
    if bad.size:
        r = int(bad[0])
        _fail(f"SIZE of head {int(head[r])} is {int(b[K.SIZE, head[r]])}, chain has {int(size[r])} stones")
    bad = reps[b[K.PLIBS, heads] != plibs[reps]]
    if bad.size:
        r = int(bad[0])
        _fail(f"PLIBS of head {int(head[r])} is {int(b[K.PLIBS, head[r]])}, recomputed {int(plibs[r])}")
    bad = reps[plibs[reps] == 0]
    if bad.size:
        _fail(f"chain at vertex {int(bad[0])} has no liberties")


def _check_empties(b: np.ndarray, m: np.ndarray) -> None:
    empties = np.flatnonzero(b[K.COL] == K.EMPTY)
    n_empty = int(m[K.M_NEMPTY])
    if n_empty != empties.size:
        _fail(f"M_NEMPTY is {n_empty}, board has {empties.size} empty points")
    listed = b[K.EMP, :n_empty]
    if not np.array_equal(np.sort(listed), empties):
        _fail(f"empty list {sorted(listed.tolist())} != empty points {empties.tolist()}")
    wrong = np.flatnonzero(b[K.EPOS, listed] != np.arange(n_empty))
    if wrong.size:
        v = int(listed[wrong[0]])
        _fail(f"EPOS of empty vertex {v} is {int(b[K.EPOS, v])}, it sits at index {int(wrong[0])}")


def stones_hash(col: np.ndarray, zob: np.ndarray) -> int:
    """Zobrist hash of the stones of a COL row (int64 [A]), computed from scratch."""
    h = np.int64(0)
    for c in (K.BLACK, K.WHITE):
        keys = zob[c, col == c]
        if keys.size:
            h ^= np.bitwise_xor.reduce(keys)
    return int(h)


def _check_ko(b: np.ndarray, m: np.ndarray, stride: int) -> None:
    ko = int(m[K.M_KO])
    if ko == K.NO_VERTEX:
        return
    col = b[K.COL]
    captor = 3 - int(m[K.M_TOPLAY])
    last = int(m[K.M_LAST])
    if col[ko] != K.EMPTY:
        _fail(f"ko vertex {ko} is not empty")
    if any(col[u] not in (captor, K.WALL) for u in _neighbours(ko, stride)):
        _fail(f"ko vertex {ko} is not surrounded by the capturing colour {captor}")
    if last not in _neighbours(ko, stride) or col[last] != captor:
        _fail(f"ko vertex {ko} is not next to the last move {last}")
    if b[K.SIZE, b[K.HEAD, last]] != 1 or b[K.PLIBS, b[K.HEAD, last]] != 1:
        _fail(f"ko vertex {ko}: last move {last} is not a single stone in atari")


def check_board(b: np.ndarray, m: np.ndarray, zob: np.ndarray | None = None) -> None:
    """Check raw kernel arrays (b int32 [NROWS, A], m int64 [NMETA]); raises ConsistencyError.

    `zob` (int64 [3, A]) enables the hash check.
    """
    stride = _check_layout(b, m)
    _check_chains(b, stride)
    _check_empties(b, m)
    _check_ko(b, m, stride)
    if zob is not None and stones_hash(b[K.COL], zob) != m[K.M_HASH]:
        _fail(f"hash {int(m[K.M_HASH])} != recomputed {stones_hash(b[K.COL], zob)}")
    if m[K.M_CAP_B] < 0 or m[K.M_CAP_W] < 0 or m[K.M_PASSES] < 0:
        _fail(f"negative counter in meta {m.tolist()}")
    if m[K.M_FEWEST] > m[K.M_NEMPTY]:
        _fail(f"M_FEWEST is {int(m[K.M_FEWEST])}, more than the {int(m[K.M_NEMPTY])} empty points now")


def check_consistency(state) -> None:
    """Check a GameState: its arrays (see `check_board`) against its move list; raises ConsistencyError.

    Beyond the arrays: stones on the board plus prisoners equal the stones placed, per
    colour; move number, last move, consecutive passes, suicide flag and komi match the move list
    and rules; the current position is in the superko history.
    """
    b, m = state.b, state.m
    if m[K.M_N] != state.size:
        _fail(f"M_N is {int(m[K.M_N])}, state size is {state.size}")
    check_board(b, m, state.zob)
    if bool(m[K.M_SUICIDE]) != state.rules.suicide:
        _fail(f"M_SUICIDE is {int(m[K.M_SUICIDE])}, rules say suicide={state.rules.suicide}")
    if m[K.M_KOMI] != round(state.rules.komi * K.KOMI_SCALE):
        _fail(f"M_KOMI is {int(m[K.M_KOMI])}, rules say komi={state.rules.komi}")
    played = [(c, p) for c, p in state.moves if p != coords.RESIGN]
    col = b[K.COL]
    # prisoners taken by a colour = opponent stones that left the board (captures and suicides)
    for color, taken_by in ((K.BLACK, K.M_CAP_W), (K.WHITE, K.M_CAP_B)):
        placed = sum(c == color and p != state.pass_move for c, p in played)
        placed += sum(c == color for c, _ in state.setup_stones)
        on_board = int(np.sum(col == color))
        if on_board + m[taken_by] != placed:
            _fail(f"colour {color}: {on_board} on board + {int(m[taken_by])} lost != {placed} placed")
    if m[K.M_MOVENUM] != len(played):
        _fail(f"M_MOVENUM is {int(m[K.M_MOVENUM])}, {len(played)} moves played")
    if played:
        color, point = played[-1]
        want = K.PASS_VERTEX if point == state.pass_move else coords.to_vertex(int(point), state.size)
        if m[K.M_LAST] != want:
            _fail(f"M_LAST is {int(m[K.M_LAST])}, last move {point} is vertex {want}")
        if state.to_play != 3 - color:
            _fail(f"side to move is {state.to_play} after a move by {color}")
    elif m[K.M_LAST] != K.NO_VERTEX:
        _fail(f"M_LAST is {int(m[K.M_LAST])} before any move")
    passes = 0
    for _, p in reversed(played):
        if p != state.pass_move:
            break
        passes += 1
    if m[K.M_PASSES] != passes:
        _fail(f"M_PASSES is {int(m[K.M_PASSES])}, move list ends with {passes} passes")
    if state.rules.ko != "simple" and state._position_key(state.hash, state.to_play) not in state._seen:
        _fail("current position is missing from the superko history")
