"""Move filters: the `avoid` / `allow` clauses of KataGo's analysis commands, as the search applies them.

A clause bans moves of one colour for the first `until_depth` plies of the search (ply 1 = the
root's moves, ply 2 = the replies, ...): `avoid` bans its points, `allow` every move but its
points (pass included unless listed). The search never gives a banned move a child node, so it
is never selected or expanded, the Gumbel root's top-k included; where a ban leaves a node no move
at all, pass stays (a node needs a child, and pass is always legal).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from rlgo.go.state import BLACK


@dataclass(frozen=True)
class MoveFilter:
    """An `avoid` / `allow` clause: moves of `color` banned (avoid) or the only ones allowed (allow)
    for the first `until_depth` plies of the search."""

    color: int
    points: frozenset
    until_depth: int
    allow: bool

    def bans(self, move: int, color: int, ply: int = 1) -> bool:
        """Whether `move` by `color` at `ply` (1 = a root move) is excluded."""
        return color == self.color and ply <= self.until_depth and ((move in self.points) != self.allow)


def ban_table(filters: Iterable[MoveFilter], size: int) -> np.ndarray:
    """int32 [2, N*N+1]: row 0 Black, row 1 White; entry p = plies from the root during which move p is
    banned (0: never). A ply-d move (d = 1 at the root) is banned while d <= entry."""
    table = np.zeros((2, size * size + 1), np.int32)
    for f in filters:
        row = table[0 if f.color == BLACK else 1]
        banned = np.zeros(size * size + 1, bool)
        banned[list(f.points)] = True
        if f.allow:
            banned = ~banned
        row[banned] = np.maximum(row[banned], f.until_depth)
    return table


def root_moves(filters: Iterable[MoveFilter], color: int, size: int) -> np.ndarray:
    """bool [N*N+1]: the moves `filters` leave `color` at the root (ply 1), for agents that do not search."""
    return ban_table(filters, size)[0 if color == BLACK else 1] < 1
