"""Dead-stone estimators and the game-end scorer: settled boards score exactly as Tromp-Taylor,
the lone-stone 7x7 ending scores as GNU Go scores it, unsure endings can be played out."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from agents.random_agent import RandomAgent
from rlgo.arena.game import GameConfig, play_game
from rlgo.arena.learned_ownership import DEFAULT_NET
from rlgo.arena.ownership import ESTIMATORS, estimate_ownership
from rlgo.go import coords
from rlgo.go.deadstones import UNSURE, chain_status, dead_stones, rollout_ownership, unsure_chains
from rlgo.go.rules import Rules
from rlgo.go.state import GameState
from tests.test_arena_game import Scripted

SIMPLE_KO = Rules(ko="simple")


def settled(size: int, seed: int) -> GameState:
    """A random game played to its end: every chain has two or more single-point eyes, so
    nothing on the board is dead and Tromp-Taylor scoring is exact."""
    state, agent = GameState(size, SIMPLE_KO), RandomAgent(seed)
    while not state.is_over and state.move_number < 4 * size * size:
        state.play(agent.select_move(state))
    return state


def lone_stones() -> GameState:
    """7x7: Black D4, White A3, both pass (GNU Go: A3 dead, B+41.5)."""
    state = GameState(7)
    for move in ("D4", "A3"):
        state.play_gtp(move)
    state.play(state.pass_move)
    state.play(state.pass_move)
    return state


@pytest.mark.parametrize("estimator", [e for e in ESTIMATORS if e != "learned" or DEFAULT_NET.exists()])
@settings(max_examples=15, deadline=None)
@given(size=st.sampled_from([5, 7, 9, 13]), seed=st.integers(0, 10**6))
def test_segmentation_scorer_is_exact_tromp_taylor_on_settled_boards(estimator, size, seed):
    state = settled(size, seed)
    assert state.is_over
    dead = dead_stones(state, estimate_ownership(state, estimator, seed))
    assert dead == []
    assert state.score(dead) == state.area_score()


@pytest.mark.parametrize("seed", range(5))
def test_lone_white_stone_on_an_open_7x7_board_is_dead_as_gnugo_says(seed):
    state = lone_stones()
    dead = dead_stones(state, seed=seed)
    assert dead == [coords.from_gtp("A3", 7)]
    assert state.result(dead) == "B+41.5"
    assert unsure_chains(state, rollout_ownership(state, seed=seed)) == dead  # so a tournament may play it out


def test_unsure_chains_are_condemned_by_their_surroundings_but_never_saved():
    state = lone_stones()
    a3, d4 = coords.from_gtp("A3", 7), coords.from_gtp("D4", 7)
    own = np.zeros((7, 7))
    own.flat[a3] = -UNSURE / 2  # the stone itself leans a little to White ...
    assert chain_status(state, own)[a3] == "alive"  # ... and an empty board around it leans nowhere
    own[:, 1:] = 0.2  # Black's side of the board
    status = chain_status(state, own)
    assert status[a3] == "dead" and status[d4] == "alive"
    own.flat[a3] = -2 * UNSURE  # sure enough on its own: the surroundings no longer count
    assert chain_status(state, own)[a3] == "alive"
    own[:] = -0.2  # White's board: an unsure black stone is dead, and the white side cannot save
    own.flat[a3] = 0.1  # an unsure white stone leaning to Black
    status = chain_status(state, own)
    assert status[a3] == "dead" and status[d4] == "dead"


def test_an_unsure_ending_is_played_out_and_the_stones_it_takes_are_dead():
    capture = Scripted(["A4", "pass", "A2", "pass", "B3"])  # plays both colours: Black surrounds A3
    result = play_game(Scripted(["D4"]), Scripted(["A3"]), GameConfig(size=7), finisher=capture)
    assert result.reason == "score (played out)"
    assert result.dead == (coords.from_gtp("A3", 7),) and result.result == "B+41.5"
    assert [p for _, p in result.record.moves if p < 49] == [coords.from_gtp(v, 7) for v in ("D4", "A3")]


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_any_play_out_scores_the_game_as_recorded_with_its_dead_stones_removed(seed):
    result = play_game(Scripted(["D4"]), Scripted(["A3"]), GameConfig(size=7), finisher=RandomAgent(seed))
    final = lone_stones()
    assert result.reason == "score (played out)" and set(result.dead) <= {coords.from_gtp("A3", 7),
                                                                           coords.from_gtp("D4", 7)}
    assert result.score == final.score(list(result.dead)) and result.result == final.result(list(result.dead))


def test_a_clear_ending_is_not_played_out():
    black = Scripted([f"C{r}" for r in range(1, 6)])
    white = Scripted([f"D{r}" for r in range(1, 6)] + ["A3"])
    result = play_game(black, white, GameConfig(size=5, rules=Rules(komi=0.5)), finisher=RandomAgent(0))
    assert result.reason == "score" and result.dead == (coords.from_gtp("A3", 5),)


def test_unknown_estimator_is_refused_with_the_valid_names():
    with pytest.raises(ValueError, match="rollout, learned"):
        GameConfig(dead_stones="magic")
    with pytest.raises(ValueError, match="rollout, learned"):
        estimate_ownership(GameState(5), "magic")


def test_learned_ownership_runs_on_any_size_and_respects_the_board_symmetries(tmp_path):
    from rlgo.arena.learned_ownership import learned_ownership
    from rlgo.go import symmetry
    from rlgo.nn.checkpoint import save_checkpoint
    from rlgo.nn.model import build_model
    from rlgo.train.ownership import OwnershipConfig, net_config
    path = save_checkpoint(tmp_path / "own.pt", build_model(net_config(OwnershipConfig(blocks=1, width=8), 9)))
    for size in (7, 9, 13):
        stones = [(int(c), p) for p, c in enumerate(settled(size, size).board().ravel()) if c]
        state, turned = GameState(size, SIMPLE_KO), GameState(size, SIMPLE_KO)  # no history planes
        state.place(stones)
        turned.place([(c, symmetry.apply_point(p, 1, size)) for c, p in stones])
        own = learned_ownership(state, path)
        assert own.shape == (size, size) and np.abs(own).max() <= 1
        assert np.allclose(learned_ownership(turned, path), symmetry.apply_planes(own, 1), atol=1e-5)
