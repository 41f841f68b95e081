"""GTP v2 framing: cleaning input lines, parsing commands and arguments, formatting responses.

Input (spec 2.1-2.3): control characters other than HT and LF are discarded, HT becomes a space,
everything after '#' is a comment, and lines that are then empty get no response.
A command is `[id] name [args...]` with an optional integer id.
Output: `=id result` or `?id message`, followed by a blank line; the text never holds an empty line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from rlgo.go import coords
from rlgo.go.errors import CoordinateError
from rlgo.go.state import BLACK, WHITE

MAX_LINE_BYTES = 1 << 16
"""Longer command lines are answered with an error instead of being parsed."""
MAX_SECONDS = 1e7
"""time_settings / time_left seconds are clamped to this (about 116 days; thread timers overflow near 1e9 s)."""
MAX_STONES = 10 ** 6
"""Byo-yomi stone counts are clamped to this."""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class GTPCommandError(Exception):
    """A command that fails; the message becomes the `? message` response."""


@dataclass(frozen=True)
class Command:
    """One parsed GTP command line."""

    id: int | None
    """The optional command id (echoed in the response)."""
    name: str
    """Command name (case-sensitive, as in the spec)."""
    args: tuple[str, ...]
    """Whitespace-separated arguments."""


def clean_line(raw: bytes | str) -> str:
    """Apply GTP preprocessing to one input line; returns '' for lines that need no response."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    text = text.split("#", 1)[0]
    text = _CONTROL.sub("", text).replace("\t", " ")
    return text.replace("\n", " ").strip()


def parse_command(line: str) -> Command | None:
    """Parse a cleaned line into a Command (None for an empty line)."""
    tokens = line.split()
    if not tokens:
        return None
    cmd_id = None
    if tokens[0].isdigit():
        cmd_id = int(tokens.pop(0))
    if not tokens:
        return Command(cmd_id, "", ())
    return Command(cmd_id, tokens[0], tuple(tokens[1:]))


def format_response(cmd_id: int | None, ok: bool, text: str = "") -> str:
    """`=id text` / `?id text` plus the terminating blank line (GNU Go layout: '= ' then the text)."""
    lines = _CONTROL.sub("", text).replace("\t", " ").split("\n")
    # an empty line would end the response early; the first line may be empty (showboard)
    body = "\n".join([lines[0].rstrip()] + [line.rstrip() for line in lines[1:] if line.strip()])
    head = ("=" if ok else "?") + ("" if cmd_id is None else str(cmd_id))
    return f"{head} {body}\n\n"


# ----------------------------------------------------------------- argument parsing
def expect_args(cmd: Command, *counts: int) -> None:
    """Raise GTPCommandError unless the command has one of the given argument counts."""
    if len(cmd.args) not in counts:
        want = " or ".join(str(c) for c in counts)
        raise GTPCommandError(f"syntax error: {cmd.name} takes {want} argument(s), got {len(cmd.args)}")


def parse_color(text: str) -> int:
    """'b', 'black', 'W', 'white' -> BLACK / WHITE."""
    key = text.lower()
    if key in ("b", "black"):
        return BLACK
    if key in ("w", "white"):
        return WHITE
    raise GTPCommandError(f"syntax error: invalid color {text!r}")


def parse_vertex(text: str, size: int) -> int:
    """GTP vertex -> point index (N*N for pass); the letter I and off-board vertices are errors."""
    try:
        return coords.from_gtp(text, size)
    except CoordinateError:
        raise GTPCommandError(f"syntax error: invalid vertex {text!r}") from None


def parse_int(text: str, what: str) -> int:
    """A decimal integer argument."""
    try:
        return int(text)
    except ValueError:
        raise GTPCommandError(f"syntax error: {what} must be an integer, got {text!r}") from None


def parse_float(text: str, what: str) -> float:
    """A finite float argument."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        raise GTPCommandError(f"syntax error: {what} must be a number, got {text!r}")
    return value


def parse_time_args(seconds: tuple[str, ...], stones: tuple[str, ...] = ()) -> tuple[list[float], list[int]]:
    """time_settings / time_left values: (seconds, stones), clamped to MAX_SECONDS / MAX_STONES.

    Raises GTPCommandError('invalid time settings') for a negative value, a non-number, or a
    stone count that is not an integer.
    """
    try:
        times = [float(text) for text in seconds]
        counts = [int(text) for text in stones]
    except ValueError:
        raise GTPCommandError("invalid time settings") from None
    if any(not t >= 0 for t in times) or any(c < 0 for c in counts):  # `not >=` also catches nan
        raise GTPCommandError("invalid time settings")
    return [min(t, MAX_SECONDS) for t in times], [min(c, MAX_STONES) for c in counts]
