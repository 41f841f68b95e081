"""GameState against GNU Go over GTP: the same moves accepted, the same boards after them.

Rules: simple ko, suicide forbidden (GNU Go's defaults). Moves are random and often illegal
on purpose (occupied points, ko recaptures, suicides), chosen with the reference board's
biased generator; the reference's verdict is checked too, so all three must agree.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from rlgo.go import coords
from rlgo.go.consistency import check_consistency
from rlgo.go.rules import Rules
from rlgo.go.state import BLACK, WHITE, GameState
from tests.reference_board import ReferenceBoard, biased_attempt

pytestmark = pytest.mark.gnugo
RULES = Rules(ko="simple", suicide=False)
COLOR_WORD = {BLACK: "black", WHITE: "white"}


def _gnugo_board(gnugo, size: int) -> np.ndarray:
    board = np.zeros(size * size, dtype=np.int8)
    for color in (BLACK, WHITE):
        for point in gnugo.stones(COLOR_WORD[color], size):
            board[point] = color
    return board.reshape(size, size)


def _candidates(state: GameState, ref: ReferenceBoard, rng):
    """Eight biased tries, then any legal move; never a second pass (it would end only our game)."""
    for _ in range(8):
        yield biased_attempt(ref, rng)
    legal = np.flatnonzero(state.legal_mask()[:-1] if state.passes else state.legal_mask())
    if legal.size:
        yield int(rng.choice(legal))


def _turn(gnugo, state: GameState, ref: ReferenceBoard, rng, seed: int, stats: Counter) -> int | None:
    """Offer moves to GNU Go and GameState until one is accepted; returns it (None: no move left)."""
    size = state.size
    for point in _candidates(state, ref, rng):
        if point == state.pass_move and state.passes:
            continue
        color = state.to_play
        ok, answer = gnugo.send(f"play {COLOR_WORD[color]} {coords.to_gtp(point, size)}")
        reason = state.illegal_reason(point)
        where = f"seed {seed}: {COLOR_WORD[color]} {coords.to_gtp(point, size)} -> {answer!r} / {reason}\n{state}"
        assert ok == (reason is None), where
        assert ref.illegal_reason(point) == reason, where
        stats["attempts"] += 1
        if ok:
            return point
        assert answer == "illegal move", where
        stats[reason] += 1
    return None


def crosscheck_game(gnugo, size: int, seed: int, move_cap: int, stats: Counter) -> None:
    """One random game played on GNU Go and GameState in lockstep."""
    rng = np.random.default_rng(seed)
    assert gnugo.send(f"boardsize {size}")[0] and gnugo.send("clear_board")[0]
    state, ref = GameState(size, RULES), ReferenceBoard(size, "simple", suicide=False)
    while state.move_number < move_cap:
        point = _turn(gnugo, state, ref, rng, seed, stats)
        if point is None:
            break
        stats["captured"] += state.play(point)
        ref.play(point)
        check_consistency(state)
        stats["moves"] += 1
        assert np.array_equal(_gnugo_board(gnugo, size), state.board()), f"seed {seed}\n{state}"
    for color in (BLACK, WHITE):
        ok, answer = gnugo.send(f"captures {COLOR_WORD[color]}")
        assert ok and int(answer) == state.captures[color], f"seed {seed}: captures {color}"


@pytest.mark.parametrize("size,games,move_cap", [(5, 40, 60), (9, 12, 160)])
def test_moves_and_boards_match_gnugo(gnugo, size, games, move_cap):
    stats: Counter = Counter()
    for game in range(games):
        crosscheck_game(gnugo, size, 7000 + 100 * size + game, move_cap, stats)
    assert stats["moves"] > 0.9 * games * move_cap
    assert stats["occupied"] > 200 and stats["suicide"] > 50 and stats["ko"] > 5 and stats["captured"] > 300
