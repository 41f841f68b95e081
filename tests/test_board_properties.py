"""Hypothesis properties of GameState: invariants after every move, undo, copy, rejected moves, scoring."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from rlgo.go import coords, kernels as K
from rlgo.go.consistency import check_consistency, stones_hash
from rlgo.go.errors import IllegalMoveError
from rlgo.go.legal import KO_MODES, legal_moves
from rlgo.go.rules import KO_RULES, Rules
from rlgo.go.state import BLACK, EMPTY, WHITE, GameState
from tests.reference_board import ReferenceBoard

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
rules_strategy = st.builds(Rules, ko=st.sampled_from(KO_RULES), suicide=st.booleans(),
                           komi=st.sampled_from([0.0, 0.5, 6.5, 7.5, -3.0]))
games = st.tuples(st.integers(2, 7), rules_strategy, st.lists(st.integers(0, 10 ** 6), min_size=20, max_size=150))


def snapshot(state: GameState) -> tuple:
    """Everything observable about a state, as copies."""
    return (state.b.copy(), state.m.copy(), list(state.moves), list(state.setup_stones), state.resigned,
            set(state._seen), state.position_history(4), state.legal_mask(), state.to_play, state.is_over)


def assert_same(state: GameState, snap: tuple) -> None:
    """The state equals a snapshot, array by array."""
    now = snapshot(state)
    for name, a, b in zip(("b", "m", "moves", "setup", "resigned", "seen", "history", "legal", "to_play", "over"),
                          now, snap):
        same = np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b
        assert same, f"{name} differs\n{state}"


def pick(state: GameState, choice: int) -> int:
    """A move from an integer: mostly a legal point, sometimes any point (often illegal), rarely a pass."""
    kind, rest = choice % 8, choice // 8
    if kind == 0:
        return state.pass_move
    if kind <= 2:
        return rest % state.pass_move
    legal = np.flatnonzero(state.legal_mask()[:-1])
    return int(legal[rest % legal.size]) if legal.size else state.pass_move


def replay(size: int, rules: Rules, choices: list[int], each=None) -> GameState:
    """Play `choices` (see `pick`), calling each(state, move, legal_before) around every attempt."""
    state = GameState(size, rules)
    for choice in choices:
        if state.is_over:
            break
        move = pick(state, choice)
        if each is not None:
            each(state, move)
        elif state.is_legal(move):
            state.play(move)
    return state


@SETTINGS
@given(games)
def test_every_legal_move_keeps_the_board_consistent(game):
    size, rules, choices = game
    boards_seen = {GameState(size, rules).board().tobytes()}

    def each(state, move):
        mask = state.legal_mask()
        reason = state.illegal_reason(move)
        assert mask[move] == (reason is None)
        if reason is not None:
            return
        opponent = 3 - state.to_play
        before = int(np.sum(state.board() == opponent))
        captured = state.play(move)
        check_consistency(state)
        board = state.board()
        assert int(np.sum(board == opponent)) == before - captured
        assert state.hash == stones_hash(state.b[K.COL], state.zob)
        for point in np.flatnonzero(board.ravel() != EMPTY):
            assert state.liberties(int(point)) > 0
        key = board.tobytes()
        if rules.ko == "positional" and move != state.pass_move:
            assert key not in boards_seen, "positional superko violated"
        boards_seen.add(key)

    replay(size, rules, choices, each)


@SETTINGS
@given(games)
def test_legal_mask_agrees_with_is_legal(game):
    size, rules, choices = game

    def each(state, move):
        mask = state.legal_mask()
        assert mask.shape == (size * size + 1,) and mask[-1]
        assert [state.is_legal(p) for p in range(size * size + 1)] == mask.tolist()
        if state.is_legal(move):
            state.play(move)

    state = replay(size, rules, choices, each)
    if state.is_over:
        assert not state.legal_mask().any()


@SETTINGS
@given(games)
def test_pruned_legal_moves_are_the_legal_moves_less_the_movers_own_eyes(game):
    size, rules, choices = game
    n = size * size

    def each(state, move):
        pruned = np.zeros(n + 1, bool)
        legal_moves(state.b, state.m, state.zob, state.position_keys(), np.zeros(1, np.int64), 0,
                    KO_MODES[rules.ko], True, pruned)
        eyes = [bool(K.is_eyeish(state.b, state.m, coords.to_vertex(p, size), state.to_play)) for p in range(n)]
        assert pruned.tolist() == (state.legal_mask() & ~np.array(eyes + [False])).tolist()
        if state.is_legal(move):
            state.play(move)

    replay(size, rules, choices, each)


@SETTINGS
@given(games)
def test_rejected_moves_leave_the_state_untouched(game):
    size, rules, choices = game
    rejected = []

    def each(state, move):
        for color in (state.to_play, 3 - state.to_play):
            reason = state.illegal_reason(move, color)
            if reason is None:
                continue
            snap = snapshot(state)
            try:
                state.play(move, color)
            except IllegalMoveError as err:
                assert err.reason == reason
                rejected.append(reason)
            else:
                raise AssertionError(f"illegal move {move} ({reason}) was played")
            assert_same(state, snap)
        if state.is_legal(move):
            state.play(move)

    replay(size, rules, choices, each)


@SETTINGS
@given(games, st.booleans())
def test_undo_restores_every_earlier_state(game, resign):
    size, rules, choices = game
    snaps = []

    def each(state, move):
        if state.is_legal(move):
            snaps.append(snapshot(state))
            state.play(move)

    state = replay(size, rules, choices, each)
    if resign and not state.is_over:
        snaps.append(snapshot(state))
        state.resign()
        assert state.is_over and state.result() == ("W+R" if state.resigned == BLACK else "B+R")
    while snaps:
        state.undo()
        assert_same(state, snaps.pop())
        check_consistency(state)


@SETTINGS
@given(games, st.lists(st.integers(0, 10 ** 6), min_size=1, max_size=30))
def test_copies_are_independent(game, more):
    size, rules, choices = game
    original = replay(size, rules, choices)
    snap = snapshot(original)
    twin = original.copy()
    assert_same(twin, snap)
    for choice in more:
        if twin.is_over:
            break
        move = pick(twin, choice)
        if twin.is_legal(move):
            twin.play(move)
            check_consistency(twin)
    assert_same(original, snap)
    twin_snap = snapshot(twin)
    for choice in more:
        if original.is_over:
            break
        move = pick(original, choice + 1)
        if original.is_legal(move):
            original.play(move)
    assert_same(twin, twin_snap)


@SETTINGS
@given(games)
def test_area_counts_cover_the_board(game):
    size, rules, choices = game
    state = replay(size, rules, choices)
    black, white = K.area_counts(state.b, state.m)
    ref = ReferenceBoard(size)
    ref.stones = {divmod(int(p), size): int(c) for p, c in enumerate(state.board().ravel()) if c != EMPTY}
    dame = sum(len(region) for region, border in ref.regions(ref.stones) if len(border) != 1)
    assert black + white + dame == size * size
    assert (black, white) == ref.area()
    owner = state.ownership()
    assert int(np.sum(owner == BLACK)) == black and int(np.sum(owner == WHITE)) == white
    assert int(np.sum(owner == EMPTY)) == dame
    assert state.area_score() == black - white - rules.komi == state.score()


@SETTINGS
@given(games, st.sampled_from(["simple", "positional"]))
def test_out_of_turn_move_equals_pass_then_move(game, ko):
    """GTP lets either colour play: `play(move, other)` must act like a pass followed by the move."""
    size, rules, choices = game
    rules = Rules(ko=ko, suicide=rules.suicide, komi=rules.komi)

    def each(state, move):
        if state.passes == 0 and move != state.pass_move:
            other = 3 - state.to_play
            twin = state.copy()
            twin.play(twin.pass_move)
            reason = state.illegal_reason(move, other)
            assert reason == twin.illegal_reason(move)
            if reason is None:
                probe = state.copy()
                assert probe.play(move, other) == twin.play(move)
                check_consistency(probe)
                assert np.array_equal(probe.board(), twin.board()) and probe.hash == twin.hash
                assert probe.captures == twin.captures and probe.to_play == twin.to_play == 3 - other
                assert probe.ko_point == twin.ko_point
        if state.is_legal(move):
            state.play(move)

    replay(size, rules, choices, each)
