"""Shared test helpers: ASCII board fixtures, a checked `play`, and a tiny GNU Go GTP driver.

Use them as fixtures (`board_from_ascii`, `gnugo`) or import them:
`from tests.conftest import board_from_ascii, parse_ascii, GnuGo`.
"""
from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from rlgo.go import coords, kernels as K
from rlgo.go.consistency import check_consistency
from rlgo.go.rules import Rules
from rlgo.go.state import BLACK, EMPTY, WHITE, GameState

GNUGO = "/usr/games/gnugo"
_CELLS = {".": EMPTY, "+": EMPTY, "X": BLACK, "O": WHITE}


def parse_ascii(diagram: str) -> np.ndarray:
    """int8 [N, N] stones of a diagram: rows top to bottom, '.'/'+' empty, 'X' black, 'O' white.

    Spaces are ignored, blank lines skipped; the board must be square (its size is the row count).
    """
    rows = [line.replace(" ", "").replace("\t", "") for line in diagram.strip("\n").splitlines()]
    rows = [r for r in rows if r]
    n = len(rows)
    if any(len(r) != n for r in rows):
        raise ValueError(f"diagram is not square: row lengths {[len(r) for r in rows]} for {n} rows")
    bad = {ch for r in rows for ch in r} - set(_CELLS)
    if bad:
        raise ValueError(f"unknown diagram characters {sorted(bad)}")
    return np.array([[_CELLS[ch] for ch in r] for r in rows], dtype=np.int8)


def board_from_ascii(diagram: str, rules: Rules | None = None, to_play: int = BLACK) -> GameState:
    """A GameState holding the diagram's stones as setup stones, `to_play` to move."""
    stones = parse_ascii(diagram)
    n = stones.shape[0]
    state = GameState(n, rules)
    state.place([(int(c), int(p)) for p, c in enumerate(stones.ravel()) if c != EMPTY])
    if to_play != state.to_play:
        # GameState has no public setter for the side to move before the first move
        state.m[K.M_TOPLAY] = to_play
        state._seen = {state._position_key(state.hash, to_play)}
    check_consistency(state)
    return state


def play_checked(state: GameState, move: int | str, color: int | None = None) -> int:
    """`state.play` (a point or a GTP vertex) followed by a full consistency check; returns captures."""
    if isinstance(move, str):
        move = coords.from_gtp(move, state.size)
    captured = state.play(move, color)
    check_consistency(state)
    return captured


class GnuGo:
    """GNU Go over GTP through a pipe: `send(command) -> (ok, answer)`."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([GNUGO, "--mode", "gtp", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)

    def send(self, command: str) -> tuple[bool, str]:
        """Send one command; (True, answer) on '=', (False, message) on '?'."""
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        lines = []
        while True:
            line = self.proc.stdout.readline()
            if line == "":
                raise RuntimeError(f"GNU Go exited during {command!r}")
            if line.strip() == "" and lines:
                break
            if line.strip():
                lines.append(line.rstrip("\n"))
        text = "\n".join(lines)
        return text.startswith("="), text[1:].strip()

    def stones(self, color: str, size: int) -> set[int]:
        """Points of `color` ('black'/'white') on GNU Go's board."""
        ok, answer = self.send(f"list_stones {color}")
        assert ok, answer
        return {coords.from_gtp(v, size) for v in answer.split()}

    def close(self) -> None:
        """Quit and reap the process."""
        if self.proc.poll() is None:
            try:
                self.send("quit")
            except (RuntimeError, BrokenPipeError):
                pass
        self.proc.wait(timeout=10)


def have_gnugo() -> bool:
    """Whether the GNU Go binary is installed."""
    return os.access(GNUGO, os.X_OK)


@pytest.fixture(name="board_from_ascii")
def _board_from_ascii_fixture():
    """The `board_from_ascii` helper as a fixture."""
    return board_from_ascii


@pytest.fixture(scope="module")
def gnugo():
    """A GNU Go GTP process shared by a test module; skipped when GNU Go is missing."""
    if not have_gnugo():
        pytest.skip(f"{GNUGO} not installed")
    engine = GnuGo()
    yield engine
    engine.close()
