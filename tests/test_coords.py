"""Coordinate conversions: point, (row, col), GTP, SGF and kernel vertex, with edge cases and errors."""
from __future__ import annotations

import string

import pytest
from hypothesis import given, settings, strategies as st
from numba import njit

from rlgo.go import coords, kernels as K
from rlgo.go.errors import CoordinateError, GoError
from rlgo.go.state import BLACK, GameState

SIZES = (2, 9, 19, 25)
LETTERS = string.ascii_uppercase.replace("I", "")  # GTP columns: A..Z without I


def _gtp(point: int, n: int) -> str:
    """Independent spelling of a GTP vertex: column letter, then the row counted from the bottom."""
    row, col = point // n, point % n
    return LETTERS[col] + str(n - row)


@pytest.mark.parametrize("size", SIZES)
def test_gtp_every_point_round_trips(size):
    for point in range(size * size):
        vertex = coords.to_gtp(point, size)
        assert vertex == _gtp(point, size)
        assert coords.from_gtp(vertex, size) == point
        assert coords.from_gtp(vertex.lower(), size) == point
        assert coords.from_gtp(f" {vertex}\n", size) == point


@pytest.mark.parametrize("size,corners", [
    (9, ("A9", "J9", "A1", "J1")),
    (19, ("A19", "T19", "A1", "T1")),
    (25, ("A25", "Z25", "A1", "Z1")),
])
def test_gtp_corners(size, corners):
    top_left, top_right, bottom_left, bottom_right = corners
    assert coords.to_gtp(0, size) == top_left
    assert coords.to_gtp(size - 1, size) == top_right
    assert coords.to_gtp(size * (size - 1), size) == bottom_left
    assert coords.to_gtp(size * size - 1, size) == bottom_right
    assert coords.from_gtp("H1", size) == size * (size - 1) + 7
    assert coords.from_gtp("J1", size) == size * (size - 1) + 8  # J follows H: no I


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("text", ["pass", "PASS", "Pass", " pass "])
def test_gtp_pass(size, text):
    assert coords.from_gtp(text, size) == size * size
    assert coords.to_gtp(size * size, size) == "pass"


@pytest.mark.parametrize("size,vertex", [
    (9, "I5"), (19, "i5"), (9, "Z99"), (9, ""), (9, "A0"), (25, "A26"), (25, "A0"), (9, "K1"), (9, "J10"),
    (9, "AA1"), (9, "5A"), (9, "A"), (9, "A-1"), (9, "A 5"), (9, "A5.0"), (9, "A²"), (9, "A٥"), (19, "U1"),
    (9, "passs"), (2, "C1"), (2, "A3"),
])
def test_gtp_bad_vertices_raise(size, vertex):
    with pytest.raises(CoordinateError) as err:
        coords.from_gtp(vertex, size)
    assert repr(vertex) in str(err.value)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("point", [-1, "n*n+1", "big"])
def test_to_gtp_off_board_raises(size, point):
    value = {"n*n+1": size * size + 1, "big": 10 ** 6}.get(point, point)
    with pytest.raises(CoordinateError, match=str(value)):
        coords.to_gtp(value, size)


@pytest.mark.parametrize("size", SIZES)
def test_sgf_every_point_round_trips(size):
    for point in range(size * size):
        row, col = divmod(point, size)
        text = coords.to_sgf(point, size)
        assert text == string.ascii_lowercase[col] + string.ascii_lowercase[row]
        assert coords.from_sgf(text, size) == point


def test_sgf_corners_and_pass():
    assert coords.to_sgf(0, 19) == "aa"
    assert coords.to_sgf(18, 19) == "sa"  # column first
    assert coords.to_sgf(19 * 18, 19) == "as"
    assert coords.to_sgf(19 * 19, 19) == ""
    assert coords.to_sgf(25 * 25 - 1, 25) == "yy"
    for size in (9, 19):
        assert coords.from_sgf("", size) == size * size
        assert coords.from_sgf("tt", size) == size * size


@pytest.mark.parametrize("size", [20, 25])
def test_sgf_tt_is_a_point_above_19(size):
    assert coords.from_sgf("tt", size) == 19 * size + 19
    assert coords.from_sgf("", size) == size * size


@pytest.mark.parametrize("size,text", [
    (19, "a"), (19, "abc"), (19, "AA"), (19, "Aa"), (19, "ua"), (19, "au"), (9, "jj"), (9, "a1"), (25, "zz"),
    (25, "za"), (9, "tt" + " "), (9, " t"),
])
def test_sgf_bad_points_raise(size, text):
    with pytest.raises(CoordinateError) as err:
        coords.from_sgf(text, size)
    assert repr(text) in str(err.value)


@pytest.mark.parametrize("size", SIZES)
def test_rc_and_vertex_round_trips(size):
    width = size + 2
    seen = set()
    for point in range(size * size):
        row, col = coords.to_rc(point, size)
        assert (row, col) == divmod(point, size)
        assert coords.from_rc(row, col, size) == point
        vertex = coords.to_vertex(point, size)
        assert vertex == (row + 1) * width + col + 1
        assert coords.from_vertex(vertex, size) == point
        seen.add(vertex)
    # vertices are exactly the interior of the padded board, never the pass vertex
    b, _ = K.new_board(size)
    assert seen == {v for v in range(width * width) if b[K.COL, v] == K.EMPTY}
    assert K.PASS_VERTEX not in seen


@pytest.mark.parametrize("row,col", [(-1, 0), (0, -1), (9, 0), (0, 9)])
def test_from_rc_off_board_raises(row, col):
    with pytest.raises(CoordinateError, match=f"\\({row}, {col}\\)"):
        coords.from_rc(row, col, 9)


def test_to_rc_rejects_pass():
    with pytest.raises(CoordinateError, match="81"):
        coords.to_rc(81, 9)


def test_vertex_matches_kernel_board():
    state = GameState(19)
    state.play_gtp("Q16")
    point = coords.from_gtp("Q16", 19)
    assert state.b[K.COL, coords.to_vertex(point, 19)] == BLACK
    assert state.board()[coords.to_rc(point, 19)] == BLACK
    assert coords.to_rc(point, 19) == (3, 15)


@pytest.mark.parametrize("size", [2, 25])
def test_check_size_accepts_limits(size):
    assert coords.check_size(size) == size


@pytest.mark.parametrize("size", [1, 0, -9, 26, 9.0, True, "9", None])
def test_check_size_rejects(size):
    with pytest.raises(CoordinateError, match=repr(size).replace(".", r"\.")):
        coords.check_size(size)
    with pytest.raises(GoError):
        GameState(size)


def test_pass_move():
    assert coords.pass_move(9) == 81 == GameState(9).pass_move


@njit(cache=True)
def _kernel_round_trip(point, size):
    """to_vertex / from_vertex as the kernels see them (inlined into Numba code)."""
    v = coords.to_vertex(point, size)
    return v, coords.from_vertex(v, size)


@settings(max_examples=400, deadline=None)
@given(st.integers(coords.MIN_SIZE, coords.MAX_SIZE).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(0, n * n))))
def test_point_vertex_gtp_round_trip_on_every_size(case):
    size, point = case
    text = coords.to_gtp(point, size)
    assert coords.from_gtp(text, size) == point
    if point == size * size:
        assert text == "pass"
        return
    assert text == _gtp(point, size)
    vertex = coords.to_vertex(point, size)
    assert coords.from_vertex(vertex, size) == point
    assert coords.to_gtp(coords.from_vertex(vertex, size), size) == text
    assert _kernel_round_trip(point, size) == (vertex, point)
    assert coords.interior_vertices(size)[point] == vertex
    row, col = divmod(vertex, size + 2)
    assert 1 <= row <= size and 1 <= col <= size  # inside the wall border
