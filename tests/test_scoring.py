"""Scoring: area and territory (with dead stones) against the reference board, komi, result strings."""
from __future__ import annotations

import numpy as np
import pytest

from rlgo.go.rules import Rules, rules_from_name
from rlgo.go.state import BLACK, EMPTY, WHITE, GameState
from tests.conftest import board_from_ascii
from tests.reference_board import ReferenceBoard

KOMIS = (0.0, 0.5, 6.5, 7.5, -2.5)


def random_final_position(size: int, seed: int, rules: Rules) -> tuple[GameState, ReferenceBoard]:
    """A random game that does not fill its own eyes, played to two passes on both boards."""
    rng = np.random.default_rng(seed)
    state, ref = GameState(size, rules), ReferenceBoard(size, rules.ko, rules.suicide)
    while not state.is_over and state.move_number < 4 * size * size:
        legal = [int(p) for p in np.flatnonzero(state.legal_mask()[:-1]) if not state.fills_own_eye(int(p))]
        move = int(rng.choice(legal)) if legal and rng.random() > 0.02 else state.pass_move
        assert state.play(move) == ref.play(move)
    return state, ref


def _expected_result(score: float) -> str:
    return "0" if score == 0 else f"B+{score:g}" if score > 0 else f"W+{-score:g}"


@pytest.mark.parametrize("size", [5, 7, 9])
def test_area_score_matches_reference(size):
    checked = 0
    for seed in range(15):
        rules = Rules(komi=KOMIS[seed % len(KOMIS)])
        state, ref = random_final_position(size, seed, rules)
        expected = ref.score(rules.komi)
        assert state.area_score() == state.score() == expected, f"seed {seed}\n{state}"
        assert state.result() == _expected_result(expected)
        black, white = ref.area()
        owner = state.ownership()
        assert (int(np.sum(owner == BLACK)), int(np.sum(owner == WHITE))) == (black, white)
        checked += 1
    assert checked == 15


@pytest.mark.parametrize("scoring", ["area", "territory"])
@pytest.mark.parametrize("size", [5, 9])
def test_scores_with_random_dead_stones_match_reference(scoring, size):
    rng = np.random.default_rng(size)
    prisoners_seen = 0
    for seed in range(12):
        rules = Rules(scoring=scoring, komi=KOMIS[seed % len(KOMIS)])
        state, ref = random_final_position(size, 100 + seed, rules)
        stones = np.flatnonzero(state.board().ravel() != EMPTY)
        for _ in range(4):
            dead = [int(p) for p in stones if rng.random() < 0.2]
            expected = ref.score(rules.komi, scoring, tuple(dead))
            assert state.score(dead) == expected, f"seed {seed} dead {dead}\n{state}"
            assert state.result(dead) == _expected_result(expected)
            assert state.winner(dead) == (BLACK if expected > 0 else WHITE if expected < 0 else EMPTY)
        prisoners_seen += sum(state.captures.values())
    assert prisoners_seen > 0  # territory scores must have had prisoners to count


def test_score_does_not_change_the_position():
    state, _ = random_final_position(7, 3, Rules(scoring="territory"))
    board, hash_ = state.board().copy(), state.hash
    stones = np.flatnonzero(board.ravel() != EMPTY)[:5]
    state.score([int(p) for p in stones])
    assert np.array_equal(state.board(), board) and state.hash == hash_


@pytest.mark.parametrize("komi", [0.5, 6.5, 7.5, -0.5, 3.5])
def test_half_point_komi_never_draws(komi):
    for seed in range(6):
        state, _ = random_final_position(5, 200 + seed, Rules(komi=komi))
        assert state.score() != 0 and state.result() != "0"
        assert state.score() % 1 == 0.5


@pytest.mark.parametrize("diagram,komi,result", [
    (". . .\n. . .\n. . .", 0.0, "0"),  # empty board: all dame
    (". . .\n. . .\n. . .", 7.5, "W+7.5"),
    (". . .\n. X .\n. . .", 7.5, "B+1.5"),  # one stone owns 9 points
    (". . .\n. X .\n. . .", 9.0, "0"),
    (". . X O .\n. . X O .\n. . X O .\n. . X O .\n. . X O .", 0.0, "B+5"),  # Black 15, White 10
    (". . X O .\n. . X O .\n. . X O .\n. . X O .\n. . X O .", 5.0, "0"),
    (". . X O .\n. . X O .\n. . X O .\n. . X O .\n. . X O .", 4.5, "B+0.5"),
    (". . X O .\n. . X O .\n. . X O .\n. . X O .\n. . X O .", 5.5, "W+0.5"),
])
def test_result_strings(diagram, komi, result):
    state = board_from_ascii(diagram, Rules(komi=komi))
    assert state.result() == result
    assert state.winner() == {"0": EMPTY, "B": BLACK, "W": WHITE}[result[0]]


def test_big_margins_print_in_full():
    state = GameState(19, Rules(komi=0.5))
    state.play(180)
    assert state.result() == "B+360.5"


def test_rules_presets_and_validation():
    assert rules_from_name("Japanese").scoring == "territory"
    assert rules_from_name("chinese").scoring == "area"
    assert rules_from_name("tromp-taylor").suicide
    with pytest.raises(ValueError, match="bogus"):
        rules_from_name("bogus")
    with pytest.raises(ValueError, match="bogus"):
        Rules(scoring="bogus")
    with pytest.raises(ValueError, match="nan"):
        Rules(komi=float("nan"))
    assert Rules(komi=7.5).with_komi(0.5).komi == 0.5
