"""The 8 symmetries of the square board (dihedral group D4) on planes, policies and points.

Symmetry k in 0..7: reflect left-right first when k >= 4, then rotate by (k % 4) quarter
turns counter-clockwise (`np.rot90` on the last two axes). k = 0 is the identity.
Policies are [..., N*N+1] vectors in point order (row-major, row 0 at the top) whose last
entry, the pass, never moves. Everything here is numpy; nothing depends on torch.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from rlgo.go.coords import check_size
from rlgo.go.errors import GoError

NUM_SYMMETRIES = 8


class SymmetryError(GoError, ValueError):
    """A symmetry index outside 0..7 or an array whose shape does not fit the board."""


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < NUM_SYMMETRIES:
        raise SymmetryError(f"symmetry index must be an integer in 0..{NUM_SYMMETRIES - 1}, got {k!r}")
    return int(k)


def apply_planes(planes: np.ndarray, k: int) -> np.ndarray:
    """Transform [..., N, N] planes by symmetry k (a new contiguous array)."""
    k = _check_k(k)
    planes = np.asarray(planes)
    if planes.ndim < 2 or planes.shape[-1] != planes.shape[-2]:
        raise SymmetryError(f"planes must end in two equal board axes [..., N, N], got shape {planes.shape}")
    out = np.flip(planes, axis=-1) if k >= 4 else planes
    return np.ascontiguousarray(np.rot90(out, k % 4, axes=(-2, -1)))


def invert(k: int) -> int:
    """The symmetry k' that undoes k: apply_planes(apply_planes(x, k), k') == x."""
    k = _check_k(k)
    return k if k >= 4 else (4 - k) % 4


def compose(k1: int, k2: int) -> int:
    """The single symmetry equal to applying k1, then k2."""
    return int(_compose_table()[_check_k(k1), _check_k(k2)])


@lru_cache(maxsize=None)
def _compose_table() -> np.ndarray:
    probe = np.arange(9).reshape(3, 3)  # no symmetry fixes it, so images identify transforms
    images = [apply_planes(probe, k) for k in range(NUM_SYMMETRIES)]
    table = np.empty((NUM_SYMMETRIES, NUM_SYMMETRIES), dtype=np.int64)
    for k1 in range(NUM_SYMMETRIES):
        for k2 in range(NUM_SYMMETRIES):
            twice = apply_planes(images[k1], k2)
            table[k1, k2] = next(k for k, im in enumerate(images) if np.array_equal(im, twice))
    return table


@lru_cache(maxsize=None)
def point_table(size: int) -> np.ndarray:
    """int64 [8, N*N+1] (read-only): row k maps a point (or pass N*N) to its image under k."""
    n = check_size(size)
    table = np.empty((NUM_SYMMETRIES, n * n + 1), dtype=np.int64)
    grid = np.arange(n * n).reshape(n, n)
    for k in range(NUM_SYMMETRIES):
        # the image holds, at each destination, the source point it came from
        table[k, apply_planes(grid, k).ravel()] = np.arange(n * n)
        table[k, n * n] = n * n
    table.setflags(write=False)
    return table


def apply_point(point: int, k: int, n: int) -> int:
    """The image of a point (N*N = pass, fixed) under symmetry k on an n x n board."""
    table = point_table(n)
    if isinstance(point, bool) or not isinstance(point, (int, np.integer)) or not 0 <= point < table.shape[1]:
        raise SymmetryError(f"point must be in 0..{n * n} (N*N = pass), got {point!r}")
    return int(table[_check_k(k), point])


def apply_policy(policy: np.ndarray, k: int, n: int) -> np.ndarray:
    """Transform [..., N*N+1] policy vectors by symmetry k; the pass entry stays last."""
    policy = np.asarray(policy)
    if policy.ndim < 1 or policy.shape[-1] != n * n + 1:
        raise SymmetryError(f"policy must have a last axis of N*N+1 = {n * n + 1}, got shape {policy.shape}")
    out = np.empty_like(policy)
    out[..., point_table(n)[_check_k(k)]] = policy
    return out


def invert_policy(policy: np.ndarray, k: int, n: int) -> np.ndarray:
    """Undo `apply_policy(·, k, n)`: map a policy predicted on transformed planes back."""
    return apply_policy(policy, invert(k), n)
