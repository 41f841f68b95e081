"""GameState against the slow reference board on thousands of seeded random games.

Every attempted move (many illegal on purpose: occupied points, ko recaptures, suicides,
superko repetitions) must get the same verdict and reason from both; every legal move the
same captures, board, ko point, prisoners and side to move; the full legal-move set is
compared on many positions; the final area score must match. `check_consistency` runs
after every move. Small boards (2x2 .. 7x7) make captures, ko fights and superko cycles common.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from rlgo.go import coords
from rlgo.go.consistency import check_consistency
from rlgo.go.errors import IllegalMoveError
from rlgo.go.rules import KO_RULES, Rules
from rlgo.go.state import GameState
from tests.reference_board import ReferenceBoard, biased_attempt

SIZES = (2, 2, 3, 3, 4, 4, 5, 5, 6, 7)
GAMES_PER_RULESET = 200
ATTEMPTS_PER_TURN = 6


def _where(state: GameState, seed: int) -> str:
    moves = " ".join(coords.to_gtp(p, state.size) if p >= 0 else "resign" for _, p in state.moves)
    return f"seed {seed}, {state.size}x{state.size}, {state.rules}, moves: {moves}\n{state}"


def _reject(state: GameState, point: int, reason: str, seed: int) -> None:
    """`play` must raise with `reason` and leave the arrays untouched."""
    b, m = state.b.copy(), state.m.copy()
    with pytest.raises(IllegalMoveError) as err:
        state.play(point)
    assert err.value.reason == reason, _where(state, seed)
    assert np.array_equal(state.b, b) and np.array_equal(state.m, m), _where(state, seed)


def _compare(state: GameState, ref: ReferenceBoard, seed: int) -> None:
    assert state.board().tolist() == ref.board(), _where(state, seed)
    assert state.ko_point == ref.ko_point(), _where(state, seed)
    assert state.captures == ref.prisoners, _where(state, seed)
    assert state.to_play == ref.to_play, _where(state, seed)
    assert state.is_over == (ref.passes >= 2), _where(state, seed)


def lockstep_game(seed: int, rules: Rules, stats: Counter) -> None:
    """Play one random game on GameState and ReferenceBoard side by side, asserting agreement."""
    rng = np.random.default_rng(seed)
    size = int(SIZES[seed % len(SIZES)])
    state, ref = GameState(size, rules), ReferenceBoard(size, rules.ko, rules.suicide)
    move_cap = 2 * size * size + 10
    while not state.is_over and state.move_number < move_cap:
        if size <= 3 or state.move_number % 4 == 0:
            legal = set(np.flatnonzero(state.legal_mask()).tolist())
            assert legal == ref.legal_points(), _where(state, seed)
            stats["legal sets"] += 1
        for attempt in range(ATTEMPTS_PER_TURN + 1):
            if attempt < ATTEMPTS_PER_TURN:
                point = biased_attempt(ref, rng)
            else:
                point = int(rng.choice(sorted(ref.legal_points())))
            reason = ref.illegal_reason(point)
            assert state.illegal_reason(point) == reason, f"point {point}: " + _where(state, seed)
            assert state.is_legal(point) == (reason is None), _where(state, seed)
            if reason is None:
                break
            stats[reason] += 1
            _reject(state, point, reason, seed)
        n_before = len(ref.stones)
        captured = state.play(point)
        assert captured == ref.play(point), _where(state, seed)
        check_consistency(state)
        _compare(state, ref, seed)
        stats["moves"] += 1
        stats["captured stones"] += captured
        stats["ko points"] += ref.ko is not None
        if point < size * size and len(ref.stones) < n_before + 1 - captured:
            stats["suicides"] += 1
            stats["multi-stone suicides"] += len(ref.stones) < n_before - captured
    if state.is_over:
        assert state.illegal_reason(0) == ref.illegal_reason(0) == "game over"
    assert state.area_score() == ref.score(rules.komi), _where(state, seed)
    stats["games"] += 1


@pytest.mark.parametrize("suicide", [False, True], ids=["nosuicide", "suicide"])
@pytest.mark.parametrize("ko", KO_RULES)
def test_random_games_match_reference(ko, suicide):
    rules = Rules(ko=ko, suicide=suicide, komi=0.5)
    stats: Counter = Counter()
    for game in range(GAMES_PER_RULESET):
        lockstep_game(1000 * KO_RULES.index(ko) + 500 * suicide + game, rules, stats)
    # the games must have exercised what they claim to test
    assert stats["games"] == GAMES_PER_RULESET and stats["moves"] > 6000 and stats["legal sets"] > 2500
    assert stats["occupied"] > 2000 and stats["captured stones"] > 3000
    assert stats["ko points"] >= 5 and stats["ko"] >= 15
    if suicide:
        assert stats["suicides"] > 100 and stats["multi-stone suicides"] > 50 and stats["suicide"] == 0
    else:
        assert stats["suicide"] > 1000 and stats["suicides"] == 0
    if ko == "simple":
        assert stats["superko"] == 0
    else:
        assert stats["superko"] > 50
