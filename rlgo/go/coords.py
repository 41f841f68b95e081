"""Every coordinate system of the project in one place.

| system        | example (9x9)   | meaning                                              |
|---------------|-----------------|------------------------------------------------------|
| point         | 0 .. N*N-1      | row-major, row 0 is the *top* line (GTP row N)        |
| pass (point)  | N*N             | the action index of a pass                           |
| resign        | -1 (RESIGN)     | an agent's resignation; GameState.moves record it    |
| (row, col)    | (0, 0)          | top-left corner, same orientation as point            |
| GTP vertex    | "A9", "pass"    | letters A..Z without I, row 1 at the bottom          |
| SGF point     | "aa", "" / "tt" | column letter then row letter, "aa" is top-left      |
| vertex (flat) | (r+1)*(N+2)+c+1 | padded index used inside the Numba kernels (private) |

Board sizes 2..25 are supported (25 = the number of GTP letters). `to_vertex` and
`from_vertex` are the only point <-> vertex conversion: Numba functions that kernels inline
and Python calls alike; vertices never leave rlgo.go and rlgo.search.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from rlgo.go.errors import CoordinateError

GTP_LETTERS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"
MIN_SIZE = 2
MAX_SIZE = 25


def check_size(size: int) -> int:
    """Return `size` if it is a supported board size, else raise CoordinateError."""
    if not isinstance(size, (int,)) or isinstance(size, bool) or not MIN_SIZE <= size <= MAX_SIZE:
        raise CoordinateError(f"board size must be an integer in {MIN_SIZE}..{MAX_SIZE}, got {size!r}")
    return size


RESIGN = -1
"""The move of a resignation: returned by `Agent.select_move`, recorded in `GameState.moves`."""


def pass_move(size: int) -> int:
    """The action index of a pass on a `size` board (N*N)."""
    return size * size


def to_rc(point: int, size: int) -> tuple[int, int]:
    """Point index -> (row, col); raises on pass or off-board."""
    if not 0 <= point < size * size:
        raise CoordinateError(f"point {point} is not on a {size}x{size} board")
    return divmod(point, size)


def from_rc(row: int, col: int, size: int) -> int:
    """(row, col) -> point index; raises when off the board."""
    if not (0 <= row < size and 0 <= col < size):
        raise CoordinateError(f"({row}, {col}) is off a {size}x{size} board")
    return row * size + col


def to_gtp(point: int, size: int) -> str:
    """Point index (or N*N for pass) -> GTP vertex such as 'D4' or 'pass'."""
    if point == size * size:
        return "pass"
    row, col = to_rc(point, size)
    return f"{GTP_LETTERS[col]}{size - row}"


def from_gtp(vertex: str, size: int) -> int:
    """GTP vertex ('d4', 'D4', 'pass') -> point index; N*N for pass.

    Raises CoordinateError for malformed vertices, the letter I, or points off the board.
    """
    text = vertex.strip().upper()
    if text == "PASS":
        return size * size
    if len(text) < 2 or not (text[1:].isascii() and text[1:].isdigit()) or text[0] not in GTP_LETTERS:
        raise CoordinateError(f"invalid vertex {vertex!r}")
    col = GTP_LETTERS.index(text[0])
    number = int(text[1:])
    if col >= size or not 1 <= number <= size:
        raise CoordinateError(f"vertex {vertex!r} is off a {size}x{size} board")
    return (size - number) * size + col


def to_sgf(point: int, size: int) -> str:
    """Point index -> SGF point ('dd'); a pass is the empty string."""
    if point == size * size:
        return ""
    row, col = to_rc(point, size)
    return chr(ord("a") + col) + chr(ord("a") + row)


def from_sgf(text: str, size: int) -> int:
    """SGF point -> point index; '' and (on boards up to 19) 'tt' are a pass."""
    if text == "" or (text == "tt" and size <= 19):
        return size * size
    if len(text) != 2 or not text.isalpha() or not text.islower():
        raise CoordinateError(f"invalid SGF point {text!r}")
    col, row = ord(text[0]) - ord("a"), ord(text[1]) - ord("a")
    if not (0 <= row < size and 0 <= col < size):
        raise CoordinateError(f"SGF point {text!r} is off a {size}x{size} board")
    return row * size + col


@njit(cache=True, inline="always")
def to_vertex(point: int, size: int) -> int:
    """Point index -> padded kernel index (private to rlgo.go and rlgo.search)."""
    row, col = divmod(point, size)
    return (row + 1) * (size + 2) + col + 1


@njit(cache=True, inline="always")
def from_vertex(vertex: int, size: int) -> int:
    """Padded kernel index -> point index (private to rlgo.go and rlgo.search)."""
    row, col = divmod(vertex, size + 2)
    return (row - 1) * size + (col - 1)


@lru_cache(maxsize=None)
def interior_vertices(size: int) -> np.ndarray:
    """int64 [N*N] read-only: the padded kernel index of each point (to_vertex of 0 .. N*N-1)."""
    table = np.array([to_vertex(p, size) for p in range(size * size)], np.int64)
    table.setflags(write=False)
    return table
