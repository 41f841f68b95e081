"""Network input planes, selectable by name and versioned.

| name    | version | planes | contents                                                       |
|---------|---------|--------|----------------------------------------------------------------|
| agz     | 1       | 17     | AlphaGo Zero: 0-7 own stones now, 1, ..., 7 moves ago; 8-15 the |
|         |         |        | opponent's; 16 = 1 when Black is to move                        |
| alphago | 2       | 48     | AlphaGo 2016 with ladders (table in `features_alphago`)          |
| extended| 1       | 25     | agz's 17, then 17-19 own chains with 1, 2, >= 3 liberties, 20-22 |
|         |         |        | the opponent's, 23 komi for the side to move / 20 (White +komi,  |
|         |         |        | Black -komi; read from the board's M_KOMI slot), 24 ones (board) |

"Own" is the side to move now, for every history row. Every set reads the same inputs:
the board arrays (b, m) and `history`, int8 [>= HISTORY_LENGTH, (N+2)**2] kernel colour
rows with [0] = now and [i] = i moves ago, all 0 before the start
(`GameState.position_history(HISTORY_LENGTH)`). Bump a set's version whenever what its
planes mean changes; checkpoints record the name and the version.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from rlgo.go.errors import GoError
from rlgo.go.features_alphago import ALPHAGO_PLANES, encode_alphago
from rlgo.go.kernels import BLACK, COL, HEAD, KOMI_SCALE, M_KOMI, M_N, M_TOPLAY, NROWS, WHITE, chain_liberties

HISTORY_LENGTH = 8
"""Position rows every feature set needs (`history` may hold more; extra rows are ignored)."""
AGZ_PLANES = 2 * HISTORY_LENGTH + 1
EXTENDED_PLANES = AGZ_PLANES + 8
KOMI_PLANE_SCALE = 20.0
"""The komi plane holds komi / KOMI_PLANE_SCALE (KataGo's scale for its komi input)."""


class FeatureSet(NamedTuple):
    """What a feature set name stands for."""

    version: int
    """Bumped whenever the meaning of the planes changes."""
    planes: int
    """Number of planes C of an encoded position [C, N, N]."""
    description: str
    """One line for humans."""
    extends: str = ""
    """A feature set whose planes are this one's first planes, unchanged ('' if none): a network of
    that set can start one of this set (rlgo.nn.transfer widens its first layer)."""


class FeatureSetError(GoError, ValueError):
    """An unknown feature set name, or arrays whose shapes do not fit one."""


@njit(cache=True)
def encode_agz(b, m, history, out):
    """Write the 17 AlphaGo Zero planes of (b, m) into out float32 [17, N, N] (see module table)."""
    n = m[M_N]
    stride = n + 2
    own = m[M_TOPLAY]
    out[:] = 0.0
    for i in range(HISTORY_LENGTH):
        for r in range(n):
            for c in range(n):
                stone = history[i, (r + 1) * stride + c + 1]
                if stone == own:
                    out[i, r, c] = 1.0
                elif stone == 3 - own:
                    out[HISTORY_LENGTH + i, r, c] = 1.0
    if own == BLACK:
        out[2 * HISTORY_LENGTH] = 1.0


@njit(cache=True)
def encode_extended(b, m, history, out):
    """Write the 25 'extended' planes of (b, m) into out float32 [25, N, N] (see module table)."""
    encode_agz(b, m, history, out)
    n = m[M_N]
    stride = n + 2
    own = m[M_TOPLAY]
    libs = np.zeros(b.shape[1], np.int32)  # exact liberties per chain head, 0 = not counted yet
    mark = np.zeros(b.shape[1], np.int32)
    for r in range(n):
        for c in range(n):
            v = (r + 1) * stride + c + 1
            stone = b[COL, v]
            if stone == BLACK or stone == WHITE:
                h = b[HEAD, v]
                if libs[h] == 0:
                    libs[h] = chain_liberties(b, m, v, mark)
                base = AGZ_PLANES if stone == own else AGZ_PLANES + 3
                out[base + min(libs[h], 3) - 1, r, c] = 1.0
    komi = m[M_KOMI] / KOMI_SCALE
    out[AGZ_PLANES + 6] = (komi if own == WHITE else -komi) / KOMI_PLANE_SCALE
    out[AGZ_PLANES + 7] = 1.0


FEATURE_SETS: dict[str, FeatureSet] = {
    "agz": FeatureSet(1, AGZ_PLANES, "AlphaGo Zero: own and opponent stones of the last 8 positions, Black to move"),
    "alphago": FeatureSet(2, ALPHAGO_PLANES, "AlphaGo 2016: stones, turns since, liberties, capture and "
                                             "self-atari size, liberties after move, ladders, sensibleness"),
    "extended": FeatureSet(1, EXTENDED_PLANES, "agz plus chain liberties (1, 2, 3+ per side), komi and a board plane",
                           extends="agz"),
}
_KERNELS = {"agz": encode_agz, "alphago": encode_alphago, "extended": encode_extended}


def _batch_kernel(kernel):
    """The Numba loop applying `kernel` to every row of a batch (one call for B positions)."""
    @njit(cache=True)
    def encode_rows(b, m, history, out):
        for i in range(b.shape[0]):
            kernel(b[i], m[i], history[i], out[i])
    return encode_rows


_BATCH_KERNELS = {name: _batch_kernel(k) for name, k in _KERNELS.items()}


def _spec(name: str) -> FeatureSet:
    try:
        return FEATURE_SETS[name]
    except (KeyError, TypeError):
        raise FeatureSetError(f"unknown feature set {name!r}; valid: {', '.join(FEATURE_SETS)}") from None


def feature_planes(name: str) -> int:
    """Number of planes C of the feature set `name`."""
    return _spec(name).planes


def feature_version(name: str) -> int:
    """Version of the feature set `name`."""
    return _spec(name).version


def extends(name: str, base: str) -> bool:
    """Whether the planes of feature set `base` are the first planes of `name` (same meaning, same order)."""
    while name:
        if name == base:
            return True
        name = _spec(name).extends
    return False


def kernel(name: str):
    """The Numba function `f(b, m, history, out)` of a feature set, callable from other njit code."""
    _spec(name)
    return _KERNELS[name]


def batch_kernel(name: str):
    """The Numba function `f(b, m, history, out)` encoding a batch (arrays with a leading axis B) of a
    feature set, unchecked (encode_many checks the shapes)."""
    _spec(name)
    return _BATCH_KERNELS[name]


def encode_arrays(name: str, b: np.ndarray, m: np.ndarray, history: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Encode raw board arrays into out float32 [C, N, N] (checked) and return it.

    b int32 [7, A], m int64 [11], history int8 [>= HISTORY_LENGTH, A] with A = (N+2)**2.
    """
    planes = feature_planes(name)
    n = int(m[M_N])
    area = (n + 2) ** 2
    if b.shape != (NROWS, area):
        raise FeatureSetError(f"board array b must have shape {(NROWS, area)}, got {b.shape}")
    if history.ndim != 2 or history.shape[0] < HISTORY_LENGTH or history.shape[1] != area:
        raise FeatureSetError(f"history must have shape (>= {HISTORY_LENGTH}, {area}), got {history.shape}")
    if out.shape != (planes, n, n) or out.dtype != np.float32:
        raise FeatureSetError(f"out must be float32 {(planes, n, n)}, got {out.dtype} {out.shape}")
    _KERNELS[name](b, m, history, out)
    return out


def encode_many(name: str, b: np.ndarray, m: np.ndarray, history: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Encode a batch of raw board arrays into out float32 [B, C, N, N] in one Numba call and return it.

    b int32 [B, 7, A], m int64 [B, 11], history int8 [B, >= HISTORY_LENGTH, A] (shapes checked).
    """
    planes = feature_planes(name)
    count = b.shape[0]
    if count == 0:
        return out
    n = int(m[0, M_N])
    area = (n + 2) ** 2
    if b.shape[1:] != (NROWS, area) or m.shape[0] != count:
        raise FeatureSetError(f"board arrays must have shapes ({count}, {NROWS}, {area}) and ({count}, 11), "
                              f"got {b.shape} and {m.shape}")
    if history.ndim != 3 or history.shape[0] != count or history.shape[1] < HISTORY_LENGTH or \
            history.shape[2] != area:
        raise FeatureSetError(f"history must have shape ({count}, >= {HISTORY_LENGTH}, {area}), got {history.shape}")
    if out.shape != (count, planes, n, n) or out.dtype != np.float32:
        raise FeatureSetError(f"out must be float32 {(count, planes, n, n)}, got {out.dtype} {out.shape}")
    _BATCH_KERNELS[name](b, m, history, out)
    return out


def encode(state, name: str = "agz") -> np.ndarray:
    """Planes of a GameState for its side to move: float32 [C, N, N]."""
    out = np.empty((feature_planes(name), state.size, state.size), dtype=np.float32)
    _KERNELS[name](state.b, state.m, state.position_history(HISTORY_LENGTH), out)
    return out


def encode_batch(states, name: str = "agz") -> np.ndarray:
    """Planes of several GameStates of one board size: float32 [B, C, N, N]."""
    states = list(states)
    sizes = {s.size for s in states}
    if len(sizes) != 1:
        raise FeatureSetError(f"a non-empty batch of one board size expected, got sizes {sorted(sizes)}")
    n = sizes.pop()
    out = np.empty((len(states), feature_planes(name), n, n), dtype=np.float32)
    f = _KERNELS[name]
    for i, s in enumerate(states):
        f(s.b, s.m, s.position_history(HISTORY_LENGTH), out[i])
    return out
