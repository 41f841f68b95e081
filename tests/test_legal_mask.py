"""GameState.legal_mask (one kernel call, rlgo.go.legal) against a deliberately simple reference.

The reference plays every point on a copy of the slow dict board (tests/reference_board.py)
and looks the resulting position up in the game's history of positions; hypothesis drives
random games on 2x2..5x5 boards biased towards ko captures and recaptures, under every ko
rule, with and without suicide.
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from rlgo.go.kernels import M_FEWEST
from rlgo.go.rules import KO_RULES, Rules
from rlgo.go.state import GameState
from tests.reference_board import ReferenceBoard, biased_attempt


def reference_mask(ref: ReferenceBoard, superko: bool = True) -> np.ndarray:
    """bool [N*N+1]: each move played on a copy; legal when the copy lives, breaks no simple ko and,
    under superko (`superko` and ref's rule), its position (board, and the side to move when
    situational) is new."""
    n = ref.size
    out = np.zeros(n * n + 1, bool)
    if ref.passes >= 2:
        return out
    out[n * n] = True
    for point in range(n * n):
        p = divmod(point, n)
        if p in ref.stones or p == ref.ko:
            continue
        stones = dict(ref.stones)
        stones[p] = ref.to_play
        for u in ref.neighbours(p):
            if stones.get(u) == 3 - ref.to_play:
                group = ref.group(stones, u)
                if not ref.liberties(stones, group):
                    for q in group:
                        del stones[q]
        own = ref.group(stones, p)
        if not ref.liberties(stones, own):
            if not ref.suicide:
                continue
            for q in own:
                del stones[q]
        board = frozenset(stones.items())
        key = (board, 3 - ref.to_play) if ref.ko_rule == "situational" else board
        out[point] = not superko or ref.ko_rule == "simple" or key not in ref.seen
    return out


def lockstep(size: int, ko: str, suicide: bool, seed: int) -> int:
    """Play a random game (biased towards ko fights) on GameState and the reference, comparing the legal
    masks before every move; returns how many moves superko took away in the game."""
    rng = np.random.default_rng(seed)
    state, ref = GameState(size, Rules(ko=ko, suicide=suicide, komi=0.5)), ReferenceBoard(size, ko, suicide)
    cut, fewest = 0, size * size
    for _ in range(4 * size * size):
        want = reference_mask(ref)
        assert state.legal_mask().tolist() == want.tolist(), f"{state.rules}\n{state}"
        fewest = min(fewest, state.empty_points)
        assert state.m[M_FEWEST] == fewest  # the low that lets legal_moves skip the superko look-up
        if state.is_over:
            break
        cut += int(np.sum(reference_mask(ref, superko=False) & ~want))
        point = biased_attempt(ref, rng)
        if not want[point]:
            point = int(rng.choice(np.flatnonzero(want)))
        state.play(point)
        ref.play(point)
    return cut


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(2, 5), ko=st.sampled_from(KO_RULES), suicide=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_legal_mask_matches_playing_each_move_on_a_copy(size, ko, suicide, seed):
    cut = lockstep(size, ko, suicide, seed)
    assert ko != "simple" or cut == 0


def test_the_games_reach_superko_repetitions():
    """The driver is not vacuous: on small boards superko removes moves in many games."""
    for ko in ("positional", "situational"):
        cuts = [lockstep(size, ko, False, seed) for seed in range(20) for size in (2, 3, 4)]
        assert sum(c > 0 for c in cuts) >= 10, (ko, cuts)
