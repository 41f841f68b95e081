"""Fixed handicap placement against GNU Go's `fixed_handicap`, and GameState.set_handicap."""
from __future__ import annotations

import pytest

from rlgo.go import coords
from rlgo.go.errors import GoError
from rlgo.go.handicap import HandicapError, fixed_handicap_points, max_fixed_handicap
from rlgo.go.state import BLACK, WHITE, GameState
from tests.conftest import play_checked

SIZES = range(7, 20)
COUNTS = range(0, 11)


@pytest.fixture(scope="module")
def gnugo_handicaps(gnugo):
    """{(size, count): set of GTP vertices, or None where GNU Go answers an error}."""
    answers = {}
    for size in SIZES:
        for count in COUNTS:
            assert gnugo.send(f"boardsize {size}")[0]
            assert gnugo.send("clear_board")[0]
            ok, text = gnugo.send(f"fixed_handicap {count}")
            answers[size, count] = set(text.upper().split()) if ok else None
    return answers


@pytest.mark.gnugo
@pytest.mark.parametrize("size", SIZES)
def test_layout_matches_gnugo(size, gnugo_handicaps):
    valid = 0
    for count in COUNTS:
        expected = gnugo_handicaps[size, count]
        if expected is None:
            with pytest.raises(HandicapError, match=str(count)):
                fixed_handicap_points(size, count)
            continue
        valid += 1
        points = fixed_handicap_points(size, count)
        assert len(points) == len(set(points)) == count
        assert {coords.to_gtp(p, size) for p in points} == expected, (size, count)
    assert valid == max_fixed_handicap(size) - 1


@pytest.mark.parametrize("size", [2, 5, 6, 7, 9, 13, 19, 25])
@pytest.mark.parametrize("count", [-1, 0, 1, 10, 361])
def test_invalid_counts_raise(size, count):
    with pytest.raises(HandicapError, match=f"{count}|no fixed handicap"):
        fixed_handicap_points(size, count)


@pytest.mark.parametrize("size", [2, 4, 6])
def test_small_boards_have_no_fixed_handicap(size):
    assert max_fixed_handicap(size) == 0
    with pytest.raises(HandicapError, match=f"{size}x{size}"):
        fixed_handicap_points(size, 2)


def test_bad_size_raises():
    with pytest.raises(GoError, match="26"):
        max_fixed_handicap(26)


@pytest.mark.parametrize("size,count", [(9, 2), (9, 9), (13, 5), (19, 9), (8, 4), (25, 9)])
def test_set_handicap_places_black_stones_and_white_moves(size, count):
    state = GameState(size)
    points = state.set_handicap(count)
    assert sorted(points) == sorted(fixed_handicap_points(size, count))
    board = state.board().ravel()
    assert set(map(int, (board == BLACK).nonzero()[0])) == set(points)
    assert not (board == WHITE).any()
    assert state.to_play == WHITE and state.move_number == 0
    assert state.setup_stones == [(BLACK, p) for p in points]
    play_checked(state, state.pass_move)
    assert state.to_play == BLACK


def test_set_handicap_after_a_move_raises():
    state = GameState(9)
    state.play_gtp("E5")
    with pytest.raises(GoError, match="before the first move"):
        state.set_handicap(2)
