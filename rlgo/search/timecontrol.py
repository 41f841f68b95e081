"""How long to think: fixed seconds per move, or a GTP clock (main time + Canadian byo-yomi).

The one time control of the project. The GTP engine keeps a TimeControl for its hard per-move
deadline (it calls Agent.stop() when the budget has passed, so an agent that searches until
stopped never loses on time) and forwards time_settings / time_left to the agent; every search
agent keeps its own TimeControl for how long to search. Both compute `budget` by the same rule
from the same clock:

- main time is spread over `moves_left(empty points)` own moves, plus the byo-yomi share when
  byo-yomi follows (its periods only start once main time is gone);
- in byo-yomi, the time left in the period is spread over the stones left in it;
- `safety_margin` is kept back every move (process, pipe and GUI latency), and a budget is never
  below MIN_SECONDS (one search step must fit).
"""
from __future__ import annotations

from dataclasses import dataclass

from rlgo.search.config import SearchConfigError

SAFETY_MARGIN = 0.2
"""Seconds kept back every move for process, pipe and GUI latency."""
MIN_SECONDS = 0.05
"""The smallest budget: one search step, whatever is left on the clock."""
MIN_MOVES_LEFT = 10
"""Main time is spread over at least this many more own moves (sudden death never runs dry)."""


def moves_left(empty_points: int) -> float:
    """Own moves still to play, estimated from the empty points on the board.

    0.4 of them: a game ends with about a fifth of the points empty, and half of the moves that
    fill the rest are ours. At least MIN_MOVES_LEFT, so a move never takes more than a tenth
    of the main time left.
    """
    return max(0.4 * empty_points, float(MIN_MOVES_LEFT))


@dataclass
class Clock:
    """One player's remaining time under GTP time_settings (seconds)."""

    main: float
    """Main time left."""
    byo_time: float
    """Time left in the current byo-yomi period (the full period while still in main time)."""
    byo_stones: int
    """Stones still to play in the current byo-yomi period (0: no byo-yomi)."""

    def available(self) -> float:
        """Seconds the next move may take before the player loses on time."""
        return self.main + (self.byo_time if self.byo_stones else 0.0)


class TimeControl:
    """Seconds to spend on the next move; None means no time limit (the simulation budget decides).

    Without a GTP clock: `seconds_per_move` (minus `safety_margin`) or no limit. With
    `set_time` (GTP time_settings): both players' clocks, charged by `spent` and overridden by
    `time_left` (the controller's word wins over our own bookkeeping).
    """

    def __init__(self, seconds_per_move: float | None = None, safety_margin: float = SAFETY_MARGIN):
        if seconds_per_move is not None and not seconds_per_move > 0:
            raise SearchConfigError(f"seconds_per_move must be > 0, got {seconds_per_move!r}")
        if not safety_margin >= 0:
            raise SearchConfigError(f"safety_margin must be >= 0, got {safety_margin!r}")
        self.seconds_per_move = seconds_per_move
        self.safety_margin = safety_margin
        self.settings: tuple[float, float, int] | None = None  # GTP (main, byo_time, byo_stones)
        self.clocks: dict[int, Clock] = {}

    def set_time(self, main_time: float, byo_yomi_time: float, byo_yomi_stones: int) -> None:
        """GTP time_settings; byo_yomi_time > 0 with 0 stones (or all zeros) means no time limit."""
        if not (main_time >= 0 and byo_yomi_time >= 0 and byo_yomi_stones >= 0):
            raise SearchConfigError(f"time settings must be >= 0, got {main_time!r} {byo_yomi_time!r} "
                                    f"{byo_yomi_stones!r}")
        unlimited = (byo_yomi_time > 0 and byo_yomi_stones == 0) or (main_time == 0 and byo_yomi_time == 0)
        self.settings = None if unlimited else (float(main_time), float(byo_yomi_time), int(byo_yomi_stones))
        self.reset()

    def reset(self) -> None:
        """Full clocks for both players (a new game)."""
        self.clocks = {}
        if self.settings is not None:
            main, byo_time, stones = self.settings
            for color in (1, 2):
                self.clocks[color] = Clock(main, byo_time, stones)

    def time_left(self, color: int, seconds: float, stones: int) -> None:
        """GTP time_left: `stones` > 0 means `seconds` is what is left of the byo-yomi period."""
        clock = self.clocks.get(color)
        if clock is None:
            return
        if stones > 0:
            clock.main, clock.byo_time, clock.byo_stones = 0.0, float(seconds), int(stones)
        else:
            clock.main = float(seconds)

    def budget(self, color: int, empty_points: int) -> float | None:
        """Seconds for `color`'s next move with `empty_points` empty points on the board, or None.

        At most the clock's available time minus the safety margin (but at least MIN_SECONDS).
        """
        clock = self.clocks.get(color)
        if clock is None:
            if self.seconds_per_move is None:
                return None
            return max(self.seconds_per_move - self.safety_margin, MIN_SECONDS)
        seconds = clock.byo_time / clock.byo_stones if clock.byo_stones else 0.0
        if clock.main > 0:
            seconds += clock.main / moves_left(empty_points)
        return max(seconds - self.safety_margin, MIN_SECONDS)

    def spent(self, color: int, seconds: float) -> None:
        """Charge `seconds` to `color`'s clock (Canadian byo-yomi: a new period after its stones)."""
        clock = self.clocks.get(color)
        if clock is None:
            return
        if clock.main > 0:
            overflow = seconds - clock.main
            clock.main = max(clock.main - seconds, 0.0)
            if overflow <= 0:
                return
            seconds = overflow
        if clock.byo_stones == 0:
            return
        clock.byo_time = max(clock.byo_time - seconds, 0.0)
        clock.byo_stones -= 1
        if clock.byo_stones == 0 and self.settings is not None:
            clock.byo_time, clock.byo_stones = self.settings[1], self.settings[2]
