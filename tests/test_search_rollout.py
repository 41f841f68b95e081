"""Rollout policies: the atari replies of the heuristic rollouts, and rollout values on decided boards."""
from __future__ import annotations

import numpy as np
import pytest

from rlgo.go import coords, kernels as K
from rlgo.go.state import BLACK, WHITE, GameState
from rlgo.search.rollout import HeuristicRolloutPolicy, UniformRolloutPolicy, local_move
from tests.conftest import board_from_ascii


def reply(diagram: str, last: str) -> str | None:
    """local_move for Black after White's `last` move on the diagram (GTP vertex or None)."""
    state = board_from_ascii(diagram, to_play=WHITE)
    state.play_gtp(last)
    v = int(local_move(state.b.copy(), state.m.copy()))
    return None if v < 0 else coords.to_gtp(coords.from_vertex(v, state.size), state.size)


def test_captures_a_chain_the_last_move_left_in_atari():
    assert reply("""
        . . . . .
        . X . X .
        . . X . .
        . . . . .
        . . . . .
    """, "C4") == "C5"  # White's new stone has one liberty


def test_saves_an_own_stone_by_extending():
    assert reply("""
        . . . . .
        . O X O .
        . . . . .
        . . . . .
        . . . . .
    """, "C5") == "C3"


def test_saves_by_capturing_an_attacker_in_atari_first():
    assert reply("""
        . O X . .
        O X . . .
        . . . . .
        . . . . .
        . . . . .
    """, "C4") == "A5"  # B4 and C5 are in atari; A5 takes B5, which gives both a liberty


def test_no_atari_no_local_reply():
    assert reply("""
        . . . . .
        . X . . .
        . . . . .
        . . . O .
        . . . . .
    """, "C3") is None


def test_a_hopeless_extension_is_not_played():
    # after B5 the black stone's only liberty is D5, where it would still have just one
    assert reply("""
        . . X . .
        . . O O .
        . . . . .
        . . . . .
        . . . . .
    """, "B5") is None


@pytest.mark.parametrize("policy", [UniformRolloutPolicy, HeuristicRolloutPolicy])
def test_decided_boards_give_certain_values_and_are_left_untouched(policy):
    diagram = """
        . X . X O .
        X X X X O .
        . X . X O .
        X X X X O .
        . X . X O .
        X X X X O .
    """
    boards = [board_from_ascii(diagram, to_play=c) for c in (BLACK, WHITE)]
    b = np.stack([s.b for s in boards])
    m = np.stack([s.m for s in boards])
    before = b.copy()
    values = policy(seed=3, rollouts=4).rollout_values(b, m, boards[0].zob, 7.5)
    assert values.tolist() == [1.0, -1.0]  # Black 24 points against 12 + 7.5
    assert (b == before).all()


def test_heuristic_rollouts_are_seeded():
    state = GameState(9)
    b, m = np.stack([state.b] * 40), np.stack([state.m] * 40)
    first = HeuristicRolloutPolicy(seed=9).rollout_values(b, m, state.zob, 7.5)
    again = HeuristicRolloutPolicy(seed=9).rollout_values(b, m, state.zob, 7.5)
    assert (first == again).all() and len(set(first.tolist())) == 2
    assert int(m[0, K.M_MOVENUM]) == 0
