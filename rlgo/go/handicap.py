"""Fixed handicap placement as in GTP v2 `fixed_handicap` (and GNU Go)."""
from __future__ import annotations

from rlgo.go.coords import check_size
from rlgo.go.errors import GoError

# Stone patterns by count, as (row, col) codes: 0 = near line, 1 = middle, 2 = far line.
_PATTERNS = {
    2: ["lo-lo", "hi-hi"],
    3: ["lo-lo", "hi-hi", "hi-lo"],
    4: ["lo-lo", "hi-hi", "hi-lo", "lo-hi"],
    5: ["lo-lo", "hi-hi", "hi-lo", "lo-hi", "mid-mid"],
    6: ["lo-lo", "hi-hi", "hi-lo", "lo-hi", "mid-lo", "mid-hi"],
    7: ["lo-lo", "hi-hi", "hi-lo", "lo-hi", "mid-lo", "mid-hi", "mid-mid"],
    8: ["lo-lo", "hi-hi", "hi-lo", "lo-hi", "mid-lo", "mid-hi", "lo-mid", "hi-mid"],
    9: ["lo-lo", "hi-hi", "hi-lo", "lo-hi", "mid-lo", "mid-hi", "lo-mid", "hi-mid", "mid-mid"],
}


class HandicapError(GoError, ValueError):
    """A handicap count that the board size does not allow."""


def max_fixed_handicap(size: int) -> int:
    """Largest `fixed_handicap` count for a board size (0 below 7x7)."""
    check_size(size)
    if size < 7:
        return 0
    if size == 7 or size % 2 == 0:
        return 4
    return 9


def fixed_handicap_points(size: int, count: int) -> list[int]:
    """Point indices of `count` fixed handicap stones on a `size` board (GTP v2 layout)."""
    top = max_fixed_handicap(size)
    if not 2 <= count <= top:
        raise HandicapError(f"invalid handicap {count} for {size}x{size} (allowed: 2..{top})" if top
                            else f"no fixed handicap on {size}x{size}")
    edge = 2 if size <= 11 else 3  # GNU Go: 4th line from 12x12 up
    # GTP row numbers grow upwards; our rows grow downwards, so "lo" (near line 1) is the last rows.
    line = {"lo": size - 1 - edge, "mid": (size - 1) // 2, "hi": edge}
    col_line = {"lo": edge, "mid": (size - 1) // 2, "hi": size - 1 - edge}
    points = []
    for code in _PATTERNS[count]:
        row_code, col_code = code.split("-")
        points.append(line[row_code] * size + col_line[col_code])
    return points
