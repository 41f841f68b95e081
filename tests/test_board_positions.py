"""Hand-made positions (ASCII fixtures): ko cycles, superko variants, snapback, big captures,
suicide, ko point bookkeeping, game end, territory scoring and error messages."""
from __future__ import annotations

import numpy as np
import pytest

from rlgo.go import coords, kernels as K
from rlgo.go.consistency import ConsistencyError, check_consistency
from rlgo.go.errors import IllegalMoveError
from rlgo.go.rules import Rules
from rlgo.go.state import BLACK, WHITE, GameState
from tests.conftest import board_from_ascii, parse_ascii, play_checked

# Three kos stacked in columns C..F; ko 1 and ko 3 hold a white ko stone Black can take,
# ko 2 holds a black ko stone White can take.
TRIPLE_KO = """
. . . X O . . . .
. . X O . O . . .
. . . X O . . . .
. . . X O . . . .
. . X . X O . . .
. . . X O . . . .
. . . X O . . . .
. . X O . O . . .
. . . X O . . . .
"""
# Each move takes a ko; after six the board is back where it started.
TRIPLE_KO_CYCLE = ["E8", "D5", "E2", "D8", "E5", "D2"]

# Two kos: ko 1 (top) holds a black ko stone, ko 2 a white one.
DOUBLE_KO = """
. . . X O . . . .
. . X . X O . . .
. . . X O . . . .
. . . X O . . . .
. . X O . O . . .
. . . X O . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
"""


def _play_all(state: GameState, moves: list[str]) -> None:
    for move in moves:
        play_checked(state, move)


def _reason(state: GameState, move: str) -> str | None:
    return state.illegal_reason(coords.from_gtp(move, state.size))


@pytest.mark.parametrize("ko", ["simple", "positional", "situational"])
def test_triple_ko_cycle(ko):
    state = board_from_ascii(TRIPLE_KO, Rules(ko=ko))
    start = state.board().copy()
    _play_all(state, TRIPLE_KO_CYCLE[:5])
    assert state.captures == {BLACK: 3, WHITE: 2}
    if ko == "simple":
        play_checked(state, TRIPLE_KO_CYCLE[5])
        assert np.array_equal(state.board(), start) and state.to_play == BLACK
        _play_all(state, TRIPLE_KO_CYCLE)  # the cycle goes round again
        assert np.array_equal(state.board(), start)
        assert state.captures == {BLACK: 6, WHITE: 6}
    else:  # the sixth capture would recreate the starting position (with Black to move)
        assert _reason(state, TRIPLE_KO_CYCLE[5]) == "superko"
        with pytest.raises(IllegalMoveError, match="D2: superko"):
            state.play_gtp(TRIPLE_KO_CYCLE[5])
        assert not state.legal_mask()[coords.from_gtp(TRIPLE_KO_CYCLE[5], 9)]


@pytest.mark.parametrize("ko,fifth,seventh", [
    ("simple", None, None),
    ("positional", "superko", None),
    ("situational", None, "superko"),
])
def test_double_ko_with_pass_separates_positional_and_situational(ko, fifth, seventh):
    state = board_from_ascii(DOUBLE_KO, Rules(ko=ko))
    start = state.board().copy()
    # B takes ko 2, W takes ko 1, B passes, W retakes ko 2: Black could now retake ko 1,
    # recreating the starting board, but with White (not Black) to move.
    _play_all(state, ["E5", "D8", "pass", "D5"])
    assert _reason(state, "E8") == fifth
    if fifth is not None:
        return
    play_checked(state, "E8")
    assert np.array_equal(state.board(), start) and state.to_play == WHITE
    play_checked(state, "pass")  # back to the starting situation: board and Black to move
    # retaking ko 2 would repeat the situation after Black's first move
    assert _reason(state, "E5") == seventh


def test_snapback_is_not_a_ko():
    state = board_from_ascii("""
        . . . . .
        . . . . .
        X X X X .
        O O O X .
        . . O X .
    """, Rules(ko="simple"))
    assert play_checked(state, "B1") == 0  # throw-in, self-atari
    assert play_checked(state, "A1") == 1  # White captures it, filling its own liberty
    assert state.ko_point is None and state.liberties(coords.from_gtp("A1", 5)) == 1
    assert play_checked(state, "B1") == 5  # immediate recapture of the whole group
    assert not (state.board() == WHITE).any()
    assert state.captures == {BLACK: 5, WHITE: 1}


def test_capture_of_a_large_group():
    state = board_from_ascii("""
        . . . . . . . . .
        . X X X X X X X .
        . X O O O O O X .
        . X O O O O O X .
        . X O O . O O X .
        . X O O O O O X .
        . X O O O O O X .
        . X X X X X X X .
        . . . . . . . . .
    """)
    ring = coords.from_gtp("B2", 9)
    assert state.liberties(ring) == 28 and state.liberties(coords.from_gtp("C3", 9)) == 1
    assert play_checked(state, "E5") == 24
    assert state.captures[BLACK] == 24 and state.ko_point is None
    assert state.liberties(ring) == 28 + 16 and state.liberties(coords.from_gtp("E5", 9)) == 4
    after = board_from_ascii("""
        . . . . . . . . .
        . X X X X X X X .
        . X . . . . . X .
        . X . . . . . X .
        . X . . X . . X .
        . X . . . . . X .
        . X . . . . . X .
        . X X X X X X X .
        . . . . . . . . .
    """)
    assert np.array_equal(state.board(), after.board()) and state.hash == after.hash
    play_checked(state, "D5")  # White may play inside again
    assert state.liberties(coords.from_gtp("D5", 9)) == 3


SUICIDE = """
    X . O . .
    X O . . .
    O . . . .
    . . . . .
    . . . . .
"""


@pytest.mark.parametrize("ko", ["simple", "positional", "situational"])
def test_multi_stone_suicide_allowed(ko):
    state = board_from_ascii(SUICIDE, Rules(ko=ko, suicide=True))
    assert _reason(state, "B5") is None
    assert play_checked(state, "B5") == 0
    assert np.array_equal(state.board(), parse_ascii(SUICIDE.replace("X", ".")))
    assert state.captures == {BLACK: 0, WHITE: 3}
    assert state.ko_point is None and state.to_play == WHITE


def test_multi_stone_suicide_rejected():
    state = board_from_ascii(SUICIDE, Rules(suicide=False))
    before = state.board().copy()
    with pytest.raises(IllegalMoveError, match="B5: suicide") as err:
        state.play_gtp("B5")
    assert err.value.reason == "suicide" and err.value.move == "B5"
    assert np.array_equal(state.board(), before) and state.to_play == BLACK


@pytest.mark.parametrize("ko,reason", [("simple", None), ("positional", "superko"), ("situational", None)])
def test_single_stone_suicide_repeats_the_board(ko, reason):
    state = board_from_ascii("""
        . O . .
        O . . .
        . . . .
        . . . .
    """, Rules(ko=ko, suicide=True))
    assert _reason(state, "A4") == reason
    if reason is None:
        before = state.board().copy()
        play_checked(state, "A4")
        assert np.array_equal(state.board(), before) and state.captures[WHITE] == 1


KO = """
    . X O . .
    X O . O .
    . X O . .
    . . . . .
    . . . . .
"""


def test_ko_point_set_forbids_only_the_opponent_and_clears_after_a_move():
    state = board_from_ascii(KO)
    assert play_checked(state, "C4") == 1
    assert state.ko_point == coords.from_gtp("B4", 5)
    assert _reason(state, "B4") == "ko"
    assert state.illegal_reason(coords.from_gtp("B4", 5), BLACK) is None  # the captor may fill it
    with pytest.raises(IllegalMoveError, match="B4: ko"):
        state.play_gtp("B4")
    play_checked(state, "E1")  # a ko threat elsewhere
    assert state.ko_point is None
    play_checked(state, "E2")
    assert play_checked(state, "B4") == 1  # retaking is legal now, and makes a new ko
    assert state.ko_point == coords.from_gtp("C4", 5)
    assert _reason(state, "C4") == "ko"


def test_ko_point_cleared_by_a_pass():
    state = board_from_ascii(KO, Rules(ko="simple"))
    play_checked(state, "C4")
    play_checked(state, "pass")
    assert state.ko_point is None
    play_checked(state, "E1")
    assert play_checked(state, "B4") == 1


def test_lone_capture_with_liberties_is_not_ko():
    state = board_from_ascii("""
        O . . .
        X . . .
        . . . .
        . . . .
    """)
    assert play_checked(state, "B4") == 1
    assert state.ko_point is None and state.liberties(coords.from_gtp("B4", 4)) == 3


def test_capture_by_a_chain_in_atari_is_not_ko():
    state = board_from_ascii("""
        O . O .
        X X O .
        O O . .
        . . . .
    """)
    assert play_checked(state, "B4") == 1  # joins a chain whose only liberty is the captured point
    assert state.ko_point is None and state.liberties(coords.from_gtp("B4", 4)) == 1
    assert play_checked(state, "A4") == 3  # so White may take the whole chain at once


def test_two_stone_capture_is_not_ko():
    state = board_from_ascii("""
        O O . O
        X X O .
        . . . .
        . . . .
    """)
    assert play_checked(state, "C4") == 2  # lone stone, one liberty, but two stones captured
    assert state.ko_point is None and state.liberties(coords.from_gtp("C4", 4)) == 1
    assert play_checked(state, "B4") == 1


def test_two_passes_end_the_game():
    state = GameState(5)
    _play_all(state, ["pass", "C3", "pass"])
    assert not state.is_over
    play_checked(state, "pass")
    assert state.is_over and state.passes == 2
    assert not state.legal_mask().any()
    for move in ("A1", "pass"):
        with pytest.raises(IllegalMoveError, match="game over") as err:
            state.play_gtp(move)
        assert err.value.reason == "game over"
    with pytest.raises(IllegalMoveError, match="game over"):
        state.resign()
    assert state.result() == "W+32.5"  # White's C3 owns the whole 5x5 board, komi 7.5
    state.undo()
    assert not state.is_over and state.legal_mask()[state.pass_move]


@pytest.mark.parametrize("loser,result", [(BLACK, "W+R"), (WHITE, "B+R")])
def test_resignation_ends_the_game(loser, result):
    state = GameState(9)
    if loser == WHITE:
        play_checked(state, "E5")
    state.resign()
    assert state.is_over and state.resigned == loser
    assert state.moves[-1] == (loser, -1)
    assert state.result() == result and state.winner() == 3 - loser
    assert not state.legal_mask().any()
    with pytest.raises(IllegalMoveError, match="game over"):
        state.play_gtp("D4")
    state.undo()
    assert not state.is_over and state.result() != result


TERRITORY = """
    . X O . .
    . X O . .
    . X O . .
    . X O O O
    . X O . X
"""


@pytest.mark.parametrize("scoring,dead,komi,expected", [
    # Black: 5 territory (column A). White: 6 territory top right; D1 is dame while E1 lives.
    ("territory", [], 6.5, 5 - 6 - 6.5),
    # E1 dead: D1 + E1 become White territory and E1 a White prisoner.
    ("territory", ["E1"], 6.5, 5 - (6 + 2 + 1) - 6.5),
    # area: Black 5 stones + 5 points (+ E1 alive); White 7 stones + 6 points (+ D1, E1 if E1 is dead)
    ("area", [], 7.5, (5 + 5 + 1) - (7 + 6) - 7.5),
    ("area", ["E1"], 7.5, (5 + 5) - (7 + 6 + 2) - 7.5),
])
def test_territory_and_area_scores_with_dead_stones(scoring, dead, komi, expected):
    state = board_from_ascii(TERRITORY, Rules(scoring=scoring, komi=komi))
    dead_points = [coords.from_gtp(v, 5) for v in dead]
    assert state.score(dead_points) == expected
    assert state.result(dead_points) == f"W+{-expected:g}"
    assert state.winner(dead_points) == WHITE


def test_dead_list_naming_an_empty_point_raises():
    state = board_from_ascii(TERRITORY, Rules(scoring="territory"))
    with pytest.raises(Exception, match="A1"):
        state.score([coords.from_gtp("A1", 5)])


@pytest.mark.parametrize("diagram,move,reason", [
    (KO, "B5", "occupied"),
    (KO, "B3", "occupied"),
    (SUICIDE, "B5", "suicide"),
])
def test_error_messages_name_move_and_reason(diagram, move, reason):
    state = board_from_ascii(diagram)
    with pytest.raises(IllegalMoveError) as err:
        state.play_gtp(move)
    assert str(err.value) == f"illegal move {move}: {reason}"
    assert err.value.reason == reason and err.value.move == move


@pytest.mark.parametrize("move", [-1, 26, 1000, "C3", 2.0])
def test_off_board_moves_are_rejected(move):
    state = GameState(5)
    with pytest.raises(IllegalMoveError, match="off-board") as err:
        state.play(move)
    assert err.value.reason == "off-board" and str(move) in str(err.value)
    assert state.move_number == 0


def _corrupt_position() -> GameState:
    state = board_from_ascii("""
        . X O . .
        X O . O .
        . X O . .
        . X X . .
        . . . O .
    """)
    _play_all(state, ["C4", "D2"])  # a ko capture, then a white stone joining nothing
    return state


def _vertex(state: GameState, vertex: str) -> int:
    return coords.to_vertex(coords.from_gtp(vertex, state.size), state.size)


@pytest.mark.parametrize("what,corrupt", [
    ("PLIBS", lambda s: s.b.__setitem__((K.PLIBS, s.b[K.HEAD, _vertex(s, "B2")]), 9)),
    ("SIZE", lambda s: s.b.__setitem__((K.SIZE, s.b[K.HEAD, _vertex(s, "B2")]), 1)),
    ("head", lambda s: s.b.__setitem__((K.HEAD, _vertex(s, "B2")), _vertex(s, "A4"))),
    ("NEXT|ring", lambda s: s.b.__setitem__((K.NEXT, _vertex(s, "B2")), _vertex(s, "B2"))),
    ("EPOS", lambda s: s.b.__setitem__((K.EPOS, _vertex(s, "E5")), 0)),
    ("empty", lambda s: s.b.__setitem__((K.EMP, 0), _vertex(s, "B5"))),
    ("M_NEMPTY", lambda s: s.m.__setitem__(K.M_NEMPTY, s.m[K.M_NEMPTY] - 1)),
    ("hash", lambda s: s.m.__setitem__(K.M_HASH, s.m[K.M_HASH] ^ 1)),
    ("lost|placed", lambda s: s.m.__setitem__(K.M_CAP_B, 0)),
    ("ko vertex", lambda s: s.m.__setitem__(K.M_KO, _vertex(s, "E5"))),
    ("M_LAST", lambda s: s.m.__setitem__(K.M_LAST, _vertex(s, "E5"))),
    ("M_MOVENUM", lambda s: s.m.__setitem__(K.M_MOVENUM, 7)),
    ("M_PASSES", lambda s: s.m.__setitem__(K.M_PASSES, 1)),
    ("side to move", lambda s: s.m.__setitem__(K.M_TOPLAY, s.to_play ^ 3)),
    ("border", lambda s: s.b.__setitem__((K.COL, 0), K.EMPTY)),
    ("colour", lambda s: s.b.__setitem__((K.COL, _vertex(s, "E5")), 7)),
    ("superko history", lambda s: s._seen.clear()),
    ("M_SUICIDE", lambda s: s.m.__setitem__(K.M_SUICIDE, 1)),
])
def test_consistency_checker_names_each_corruption(what, corrupt):
    state = _corrupt_position()
    check_consistency(state)
    corrupt(state)
    with pytest.raises(ConsistencyError, match=what):
        check_consistency(state)


def test_a_stone_without_liberties_is_inconsistent():
    state = board_from_ascii("X O .\n. . .\n. . .")
    state.b[K.COL, _vertex(state, "A2")] = WHITE  # drawn in behind the kernel's back
    with pytest.raises(ConsistencyError):
        check_consistency(state)


def test_ascii_fixture(board_from_ascii):
    state = board_from_ascii("X O\n. .", to_play=WHITE)
    assert state.size == 2 and state.to_play == WHITE
    assert state.board().tolist() == [[BLACK, WHITE], [0, 0]]
    for bad in ("X O\n. . .", "X Q\n. .", "X .\n. .\n. ."):
        with pytest.raises(ValueError):
            parse_ascii(bad)
