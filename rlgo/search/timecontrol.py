"""How long to think: fixed playouts, fixed seconds per move, or a GTP clock (main time + Canadian byo-yomi)."""
from __future__ import annotations

from dataclasses import dataclass

from rlgo.search.config import SearchConfigError


@dataclass
class Clock:
    """One player's remaining time under GTP time_settings (seconds)."""

    main: float
    """Main time left."""
    byo_time: float
    """Time left in the current byo-yomi period (the full period while still in main time)."""
    byo_stones: int
    """Stones still to play in the current byo-yomi period (0: no byo-yomi)."""


class TimeControl:
    """Seconds to spend on the next move; None means no time limit (the playout budget decides).

    Without a GTP clock: `seconds_per_move` (minus `safety_margin`) or no limit. With
    `set_time`: main time is spread over an estimate of the moves still to play, byo-yomi
    time over the stones left in the period; `time_left` (GTP) overrides our own
    bookkeeping done by `spent`.
    """

    def __init__(self, seconds_per_move: float | None = None, safety_margin: float = 0.2,
                 min_seconds: float = 0.05):
        if seconds_per_move is not None and not seconds_per_move > 0:
            raise SearchConfigError(f"seconds_per_move must be > 0, got {seconds_per_move!r}")
        if not safety_margin >= 0:
            raise SearchConfigError(f"safety_margin must be >= 0, got {safety_margin!r}")
        self.seconds_per_move = seconds_per_move
        self.safety_margin = safety_margin
        self.min_seconds = min_seconds
        self.settings: tuple[float, float, int] | None = None  # GTP (main, byo_time, byo_stones)
        self.clocks: dict[int, Clock] = {}

    def set_time(self, main_time: float, byo_yomi_time: float, byo_yomi_stones: int) -> None:
        """GTP time_settings; byo_yomi_time > 0 with 0 stones (or all zeros) means no time limit."""
        if main_time < 0 or byo_yomi_time < 0 or byo_yomi_stones < 0:
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
        """Seconds for `color`'s next move with `empty_points` empty points on the board, or None."""
        clock = self.clocks.get(color)
        if clock is None:
            if self.seconds_per_move is None:
                return None
            return max(self.seconds_per_move - self.safety_margin, self.min_seconds)
        byo_share = clock.byo_time / clock.byo_stones if clock.byo_stones else 0.0
        if clock.main > 0:
            moves_to_go = max(0.4 * empty_points, 10.0)
            seconds = max(clock.main / moves_to_go, byo_share)
        else:
            seconds = byo_share
        return max(seconds - self.safety_margin, self.min_seconds)

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
        clock.byo_time -= seconds
        clock.byo_stones -= 1
        if clock.byo_stones == 0 and self.settings is not None:
            clock.byo_time, clock.byo_stones = self.settings[1], self.settings[2]
