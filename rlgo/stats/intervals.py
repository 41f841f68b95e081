"""Confidence intervals of a win rate."""
from __future__ import annotations

import math

Z95 = 1.959963984540054
"""Two-sided 95% normal quantile."""


def wilson(wins: float, games: int, z: float = Z95) -> tuple[float, float]:
    """(low, high): the Wilson score interval (95% by default) of the win rate wins / games (jigo counts
    half a win); (0, 1) when no game was played."""
    if games == 0:
        return 0.0, 1.0
    p = wins / games
    centre = (p + z * z / (2 * games)) / (1 + z * z / games)
    half = z * math.sqrt(p * (1 - p) / games + z * z / (4 * games * games)) / (1 + z * z / games)
    low = 0.0 if wins <= 0 else max(0.0, centre - half)  # exactly 0 and 1 there, not off by rounding
    high = 1.0 if wins >= games else min(1.0, centre + half)
    return low, high
