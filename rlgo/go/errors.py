"""Exceptions of the Go layer; each names the offending value."""


class GoError(Exception):
    """Base class of rlgo.go errors."""


class CoordinateError(GoError, ValueError):
    """A vertex, SGF point, point index or board size that is not valid."""


class IllegalMoveError(GoError, ValueError):
    """A move the rules reject. `reason` is one of REASONS."""

    REASONS = ("occupied", "suicide", "ko", "superko", "off-board", "game over", "wrong color")

    def __init__(self, reason: str, move: str, detail: str = ""):
        self.reason = reason
        self.move = move
        super().__init__(f"illegal move {move}: {reason}" + (f" ({detail})" if detail else ""))
