"""How a human-vs-agent game is set up (no Numba here: `rlgo play --help` builds its options from it)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rlgo.go.rules import Rules

Color = Literal["black", "white"]


@dataclass(frozen=True)
class GameConfig:
    """How a human-vs-agent game is set up."""

    size: int = 9
    """Board size."""
    rules: Rules = field(default_factory=Rules)
    """Rules, komi included."""
    color: Color = "black"
    """Your colour."""
    handicap: int = 0
    """Fixed handicap stones for Black, 2..9 (0 = none; komi then defaults to 0.5)."""
    move_time: float = 1.5
    """The agent's thinking time per move in seconds (sent as GTP byo-yomi: 1 stone per period)."""
    seed: int | None = None
    """Seed the agents were built with (written to the saved record), None if not known."""
