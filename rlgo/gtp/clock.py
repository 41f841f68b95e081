"""The engine's own clock: a hard per-move deadline from GTP time_settings / time_left.

Canadian byo-yomi as in GTP: `main` seconds, then `byo_stones` moves in every `byo_time`
seconds. The deadline is a safety net: the engine calls Agent.stop() when it passes, so an
agent that searches "until stopped" can never lose on time.
"""
from __future__ import annotations

from dataclasses import dataclass

LAG_SECONDS = 0.25
"""Reserved per move for process, pipe and GUI latency."""
MIN_MOVES_LEFT = 20
"""Main time is spread over at least this many more of our moves (sudden death never runs dry)."""


@dataclass
class Clock:
    """Time left for one colour, updated by time_left or by the engine's own measurements."""

    main: float = 0.0
    """Main time left (seconds)."""
    byo_time: float = 0.0
    """Byo-yomi period length (seconds); 0 = none."""
    byo_stones: int = 0
    """Stones per byo-yomi period; with byo_time > 0 and 0 stones the game is untimed (GTP)."""
    period_left: float = 0.0
    """Time left in the current byo-yomi period."""
    stones_left: int = 0
    """Stones left to play in the current period (0 = still in main time)."""
    timed: bool = False
    """Whether a time limit applies at all."""

    def settings(self, main: float, byo_time: float, byo_stones: int) -> None:
        """GTP time_settings."""
        self.main, self.byo_time, self.byo_stones = max(main, 0.0), max(byo_time, 0.0), max(byo_stones, 0)
        self.timed = not (self.byo_time > 0 and self.byo_stones == 0)
        self.period_left, self.stones_left = 0.0, 0

    def left(self, seconds: float, stones: int) -> None:
        """GTP time_left: `stones` = 0 means main time, else byo-yomi with `stones` to play."""
        if stones == 0:
            self.main, self.stones_left = max(seconds, 0.0), 0
        else:
            self.main, self.period_left, self.stones_left = 0.0, max(seconds, 0.0), stones

    def budget(self, moves_left: int) -> float | None:
        """Seconds this move may use at most (None when untimed)."""
        if not self.timed:
            return None
        if self.stones_left > 0:
            return max((self.period_left - LAG_SECONDS) / self.stones_left, 0.0) * 0.9
        share = max(self.main - LAG_SECONDS, 0.0) / max(moves_left, MIN_MOVES_LEFT)
        if self.byo_time > 0 and self.byo_stones > 0:
            share += max(self.byo_time - LAG_SECONDS, 0.0) / self.byo_stones * 0.9
        return share

    def spend(self, seconds: float) -> None:
        """Charge a move's thinking time (used until the controller sends time_left)."""
        if not self.timed:
            return
        if self.stones_left == 0:
            if seconds <= self.main or self.byo_stones == 0:
                self.main = max(self.main - seconds, 0.0)
                return
            seconds -= self.main
            self.main, self.period_left, self.stones_left = 0.0, self.byo_time, self.byo_stones
        self.period_left -= seconds
        self.stones_left -= 1
        if self.stones_left == 0:
            self.period_left, self.stones_left = self.byo_time, self.byo_stones
