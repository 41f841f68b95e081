"""The fast rollout policy: a linear softmax over cheap local features, run inside Numba rollouts.

A candidate move's weight is gamma = exp(score) with
score = w_pattern[class(code)] + [near last move] w_response[class(code)] + w_distance[bucket]
        + sum of w_flag over its tactical flags            (features: rlgo.go.patterns).
Candidates are the legal moves that do not fill one's own eye (as in uniform rollouts); the
rollout passes when there is none. `PatternRolloutPolicy.weights` holds the raw weights over pattern
classes; the kernels read `tables()`, the gammas unfolded over raw codes:
float32 [2 * NUM_CODES + NUM_DIST + NUM_FLAGS] = pattern gammas | response gammas | distance | flags.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from numba import njit

from rlgo.atomic import atomic_write
from rlgo.go.coords import from_vertex
from rlgo.go.kernels import (COL, EMP, EMPTY, HEAD, M_KO, M_LAST, M_N, M_NEMPTY, M_PASSES, M_SUICIDE, M_TOPLAY, NEXT,
                             PLIBS,
                             area_counts, edges_to, play_pass, play_vertex)
from rlgo.go.patterns import (F_CAPTURE_LAST, NEAR, NOT_CANDIDATE, NUM_CODES, NUM_DIST, NUM_FLAGS,
                              canonical_codes, last_chain_liberty, move_features, point_features)
from rlgo.search.rollout import run_rollouts

RESPONSE_OFFSET = NUM_CODES
DIST_OFFSET = 2 * NUM_CODES
FLAG_OFFSET = DIST_OFFSET + NUM_DIST
TABLE_SIZE = FLAG_OFFSET + NUM_FLAGS
FORMAT, FORMAT_VERSION = "rlgo-rollout-policy", 1


class RolloutPolicyError(ValueError):
    """Weights of the wrong length, or a file that is not a rollout policy."""


def num_weights(classes: int) -> int:
    """Length of the raw weight vector for `classes` pattern classes."""
    return 2 * classes + NUM_DIST + NUM_FLAGS


# ------------------------------------------------------------------ reference (whole board)
@njit(cache=True, inline="always")
def _times_flag_gammas(tables, g, flags):
    """g times the gamma of every flag set in the F_* bit mask `flags`."""
    f = 0
    while flags:
        if flags & 1:
            g *= tables[FLAG_OFFSET + f]
        flags >>= 1
        f += 1
    return g


@njit(cache=True)
def move_weights(b, m, tables, out):
    """out float64 [A]: gamma of every candidate of the side to move (0 elsewhere); returns the sum."""
    color = m[M_TOPLAY]
    work = np.zeros(12, np.int64)
    mark = np.zeros(b.shape[1], np.int32)
    last_lib = last_chain_liberty(b, m)
    out[:] = 0.0
    total = 0.0
    for i in range(m[M_NEMPTY]):
        v = b[EMP, i]
        code, flags, d = move_features(b, m, v, color, last_lib, work, mark)
        if code == NOT_CANDIDATE:
            continue
        g = np.float64(tables[code])  # float64 products: the cache and this agree to rounding
        if d > 0:
            g *= tables[DIST_OFFSET + d]
        if d == 1 or d == 2:  # orthogonal or diagonal neighbour of the last move: response patterns
            g *= tables[RESPONSE_OFFSET + code]
        g = _times_flag_gammas(tables, g, flags)
        out[v] = g
        total += g
    return total


# ------------------------------------------------------------------ incremental rollout cache
# The cache keeps, for each colour, each point's gamma without the last-move terms
# (distance, response pattern, capture of the last chain) and its pattern code. A move
# changes those only on the 3x3 squares around the stones placed or captured, on the
# liberties of the chains whose liberties changed, and at the old and new ko points: those
# points are queued for both colours and recomputed when that colour is next to move. The
# last-move terms (the 36 points of NEAR around it) are applied at sampling time.
GAM, CODES, WORK, MARK, PEND, QUEUE, NQUEUE, STONES, SAVED_P, SAVED_G = range(10)


@njit(cache=True)
def new_cache(area):
    """Cache arrays for a board of A padded points: (gam float64 [2, A], codes int64 [2, A],
    work int64 [12], mark int32 [A], pend int8 [2, A], queue int64 [2, A], nqueue int64 [2],
    stones int64 [A], saved points int64 [64], saved gammas float64 [64]); index by the names above."""
    return (np.zeros((2, area)), np.full((2, area), NOT_CANDIDATE, np.int64), np.zeros(12, np.int64),
            np.zeros(area, np.int32), np.zeros((2, area), np.int8), np.zeros((2, area), np.int64),
            np.zeros(2, np.int64), np.zeros(area, np.int64), np.zeros(64, np.int64), np.zeros(64))


@njit(cache=True, inline="always")
def _queue(p, pend, queue, nqueue):
    for ci in range(2):
        if pend[ci, p] == 0:
            pend[ci, p] = 1
            queue[ci, nqueue[ci]] = p
            nqueue[ci] += 1


@njit(cache=True)
def _flush(b, m, tables, cache):
    """Recompute the side to move's gammas of its queued points."""
    gam, codes, work, mark, pend, queue, nqueue = (cache[GAM], cache[CODES], cache[WORK], cache[MARK],
                                                   cache[PEND], cache[QUEUE], cache[NQUEUE])
    color = m[M_TOPLAY]
    ci = color - 1
    stride, ko, suicide = m[M_N] + 2, m[M_KO], m[M_SUICIDE]
    for k in range(nqueue[ci]):
        p = queue[ci, k]
        pend[ci, p] = 0
        g = 0.0
        code = NOT_CANDIDATE
        if b[COL, p] == EMPTY:
            code, flags = point_features(b, p, color, stride, ko, suicide, work, mark)
            if code != NOT_CANDIDATE:
                g = _times_flag_gammas(tables, np.float64(tables[code]), flags)
        gam[ci, p] = g
        codes[ci, p] = code
    nqueue[ci] = 0


@njit(cache=True)
def cache_init(b, m, tables, cache):
    """Start the cache for the position (b, m): every empty point queued for both colours."""
    cache[GAM][:] = 0.0
    cache[CODES][:] = NOT_CANDIDATE
    cache[PEND][:] = 0
    cache[NQUEUE][:] = 0
    for i in range(m[M_NEMPTY]):
        _queue(b[EMP, i], cache[PEND], cache[QUEUE], cache[NQUEUE])


@njit(cache=True)
def _queue_square(p, stride, pend, queue, nqueue):
    for dr in (-stride, 0, stride):
        for dc in (-1, 0, 1):
            _queue(p + dr + dc, pend, queue, nqueue)


@njit(cache=True)
def _queue_liberties(b, h, stride, pend, queue, nqueue):
    s = h
    while True:
        for u in (s - 1, s + 1, s - stride, s + stride):
            if b[COL, u] == EMPTY:
                _queue(u, pend, queue, nqueue)
        s = b[NEXT, s]
        if s == h:
            return


@njit(cache=True)
def _few_liberties(b, h, stride, mark):
    """Whether the chain headed by h has at most 2 liberties (a walk that stops at the third)."""
    mark[0] += 1
    stamp = mark[0]
    count = 0
    s = h
    while True:
        for u in (s - 1, s + 1, s - stride, s + stride):
            if b[COL, u] == EMPTY and mark[u] != stamp:
                mark[u] = stamp
                count += 1
                if count > 2:
                    return False
        s = b[NEXT, s]
        if s == h:
            return True


@njit(cache=True)
def cache_play(b, m, zob, v, tables, cache):
    """Play vertex v (0 = pass) for the side to move on (b, m) and queue the points it changes.

    A chain enters the features of its liberties only through "one liberty" and "a liberty
    besides these two points" (rlgo.go.patterns), so the liberties of a chain need a refresh
    only when it has, or had, at most 2 liberties.
    """
    stride = m[M_N] + 2
    work, mark, pend, queue, nqueue, stones = (cache[WORK], cache[MARK], cache[PEND], cache[QUEUE],
                                               cache[NQUEUE], cache[STONES])
    old_ko = m[M_KO]
    if v == 0:
        play_pass(m)
    else:
        color = m[M_TOPLAY]
        ncap = 0
        nheads = 0
        own_few = False
        for u in (v - 1, v + 1, v - stride, v + stride):
            c = b[COL, u]
            if c == color:
                own_few = own_few or _few_liberties(b, b[HEAD, u], stride, mark)
            elif c == 3 - color:
                h = b[HEAD, u]
                if b[PLIBS, h] != edges_to(b, v, h, stride):
                    continue
                seen = False
                for k in range(nheads):
                    seen = seen or work[k] == h
                if seen:
                    continue
                work[nheads] = h  # a chain this move captures: remember its stones
                nheads += 1
                s = h
                while True:
                    stones[ncap] = s
                    ncap += 1
                    s = b[NEXT, s]
                    if s == h:
                        break
        play_vertex(b, m, zob, v, color)
        _queue_square(v, stride, pend, queue, nqueue)
        if own_few or _few_liberties(b, b[HEAD, v], stride, mark):
            _queue_liberties(b, b[HEAD, v], stride, pend, queue, nqueue)
        for u in (v - 1, v + 1, v - stride, v + stride):
            if b[COL, u] == 3 - color and _few_liberties(b, b[HEAD, u], stride, mark):
                _queue_liberties(b, b[HEAD, u], stride, pend, queue, nqueue)
        for k in range(ncap):
            _queue_square(stones[k], stride, pend, queue, nqueue)
            for u in (stones[k] - 1, stones[k] + 1, stones[k] - stride, stones[k] + stride):
                if b[COL, u] == color:
                    _queue_liberties(b, b[HEAD, u], stride, pend, queue, nqueue)
    if old_ko > 0:
        _queue(old_ko, pend, queue, nqueue)
    if m[M_KO] > 0:
        _queue(m[M_KO], pend, queue, nqueue)


@njit(cache=True)
def _apply_last_move_terms(b, m, tables, cache):
    """Multiply the side to move's gammas near the last move by the last-move terms.

    Flushes the side to move's queue first; the original values go to cache[SAVED_P] /
    cache[SAVED_G]; returns how many.
    """
    _flush(b, m, tables, cache)
    gam, codes, saved_p, saved_g = cache[GAM], cache[CODES], cache[SAVED_P], cache[SAVED_G]
    ci = m[M_TOPLAY] - 1
    last = m[M_LAST]
    if last <= 0:
        return 0
    n = m[M_N]
    stride = n + 2
    lr, lc = last // stride, last % stride
    k = 0
    for j in range(NEAR.shape[0]):
        r, c, d = lr + NEAR[j, 0], lc + NEAR[j, 1], NEAR[j, 2]
        if r < 1 or r > n or c < 1 or c > n:
            continue
        p = r * stride + c
        if gam[ci, p] == 0.0:
            continue
        saved_p[k] = p
        saved_g[k] = gam[ci, p]
        k += 1
        gam[ci, p] *= tables[DIST_OFFSET + d]
        if d <= 2:  # orthogonal or diagonal neighbour of the last move: response patterns
            gam[ci, p] *= tables[RESPONSE_OFFSET + codes[ci, p]]
    lib = last_chain_liberty(b, m)
    if lib > 0 and gam[ci, lib] > 0.0:
        saved_p[k] = lib
        saved_g[k] = gam[ci, lib]
        k += 1
        gam[ci, lib] *= tables[FLAG_OFFSET + F_CAPTURE_LAST]
    return k


@njit(cache=True)
def _undo_last_move_terms(m, cache, k):
    """Restore the gammas saved by `_apply_last_move_terms` (latest first)."""
    gam, saved_p, saved_g = cache[GAM], cache[SAVED_P], cache[SAVED_G]
    ci = m[M_TOPLAY] - 1
    for j in range(k - 1, -1, -1):
        gam[ci, saved_p[j]] = saved_g[j]


@njit(cache=True)
def cache_weights(b, m, tables, cache, out):
    """out float64 [A]: the side to move's move gammas from the cache (equal to `move_weights`)."""
    k = _apply_last_move_terms(b, m, tables, cache)
    out[:] = cache[GAM][m[M_TOPLAY] - 1]
    _undo_last_move_terms(m, cache, k)


@njit(cache=True)
def cache_sample(b, m, tables, cache):
    """Draw the side to move's move from the cache: a vertex, or 0 (pass) when there is no candidate."""
    k = _apply_last_move_terms(b, m, tables, cache)
    gam = cache[GAM][m[M_TOPLAY] - 1]
    total = 0.0
    for i in range(m[M_NEMPTY]):
        total += gam[b[EMP, i]]
    choice = 0
    if total > 0.0:
        r = np.random.random() * total
        for i in range(m[M_NEMPTY]):
            v = b[EMP, i]
            if gam[v] > 0.0:
                choice = v
                r -= gam[v]
                if r < 0.0:
                    break
    _undo_last_move_terms(m, cache, k)
    return choice


@njit(cache=True)
def policy_rollout(b, m, zob, move_cap, tables, amaf):
    """Play policy moves on (b, m) in place until two passes or `move_cap`; returns moves made.

    amaf: int8 [N*N] that receives the colour first playing each point (empty array: not kept).
    """
    cache = new_cache(b.shape[1])
    cache_init(b, m, tables, cache)
    n = m[M_N]
    moves = 0
    while m[M_PASSES] < 2 and moves < move_cap:
        v = cache_sample(b, m, tables, cache)
        if v > 0 and amaf.shape[0] > 0:
            p = from_vertex(v, n)
            if amaf[p] == 0:
                amaf[p] = m[M_TOPLAY]
        cache_play(b, m, zob, v, tables, cache)
        moves += 1
    return moves


@njit(cache=True)
def policy_rollout_score(b, m, zob, komi, move_cap, weights):
    """One policy rollout on copies of (b, m); returns Black - White - komi (area). `weights` = tables()."""
    bb = b.copy()
    mm = m.copy()
    policy_rollout(bb, mm, zob, move_cap, weights, np.zeros(0, np.int8))
    black, white = area_counts(bb, mm)
    return black - white - komi


@njit(cache=True)
def policy_rollout_scores(b, m, zob, komi, move_cap, tables, out, amaf):
    """out[i, r] = B - W - komi of rollout r from leaf i (b [B, 7, A], m [B, NMETA], left untouched).

    When amaf has N*N columns, amaf[i] records the first player of each point in leaf i's first rollout.
    """
    none = np.zeros(0, np.int8)
    for i in range(out.shape[0]):
        for r in range(out.shape[1]):
            bb = b[i].copy()
            mm = m[i].copy()
            policy_rollout(bb, mm, zob, move_cap, tables, amaf[i] if r == 0 and amaf.shape[1] > 0 else none)
            black, white = area_counts(bb, mm)
            out[i, r] = black - white - komi


class PatternRolloutPolicy:
    """A trained fast rollout policy; `rollout_values` is the search's rollout-policy protocol."""

    def __init__(self, weights: np.ndarray, seed: int = 0, rollouts: int = 1, move_cap: int | None = None):
        classes = canonical_codes()[1]
        weights = np.asarray(weights, dtype=np.float32)
        if weights.shape != (num_weights(classes),):
            raise RolloutPolicyError(f"weights must have shape ({num_weights(classes)},), got {weights.shape}")
        if rollouts < 1:
            raise RolloutPolicyError(f"rollouts must be >= 1, got {rollouts!r}")
        self.weights = weights
        """float32 [2 * classes + NUM_DIST + NUM_FLAGS]: pattern | response | distance | flag weights."""
        self.rng = np.random.default_rng(seed)
        self.rollouts = rollouts
        self.move_cap = move_cap
        """Moves per rollout before it is scored anyway (default 3 * N * N)."""
        self._tables: np.ndarray | None = None

    def tables(self) -> np.ndarray:
        """float32 [TABLE_SIZE]: gammas over raw codes, the `weights` argument of the kernels."""
        if self._tables is None:
            classes, count = canonical_codes()
            w = self.weights.astype(np.float64)
            parts = [w[:count][classes], w[count:2 * count][classes], w[2 * count:]]
            self._tables = np.exp(np.concatenate(parts)).astype(np.float32)
        return self._tables

    def rollout_values(self, b: np.ndarray, m: np.ndarray, zob: np.ndarray, komi: float,
                       amaf: np.ndarray | None = None, score: np.ndarray | None = None) -> np.ndarray:
        """float32 [B]: mean rollout result in [-1, 1] for each leaf's side to move (b [B, 7, A], m [B, NMETA]).

        amaf int8 [B, N*N] (optional, for UCT-RAVE): the colour that first played each point
        in each leaf's first rollout; score float32 [B, 2] (optional): the margins' mean and mean
        square (rlgo.search.rollout.run_rollouts).
        """
        return run_rollouts(policy_rollout_scores, (self.tables(),), b, m, zob, komi, self.rng, self.rollouts,
                            self.move_cap, amaf, score)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the weights as an npz file (atomically, no pickle); returns the path."""
        def write(f):
            np.savez_compressed(f, format=np.str_(FORMAT), version=np.int64(FORMAT_VERSION), weights=self.weights)
        return atomic_write(path, write)

    @classmethod
    def load(cls, path: str | os.PathLike, **kwargs) -> "PatternRolloutPolicy":
        """Read weights written by `save` (keyword arguments go to the constructor); raises RolloutPolicyError."""
        try:
            with np.load(path, allow_pickle=False) as z:
                fmt, version, weights = str(z["format"]), int(z["version"]), z["weights"]
        except (OSError, ValueError, KeyError, EOFError) as e:
            raise RolloutPolicyError(f"{str(path)!r} is not a readable rollout policy: {e}") from None
        if fmt != FORMAT or version != FORMAT_VERSION:
            raise RolloutPolicyError(f"{str(path)!r} is {fmt!r} version {version}, expected {FORMAT!r} {FORMAT_VERSION}")
        return cls(weights, **kwargs)
