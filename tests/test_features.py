"""Feature planes against slow pure-Python references, and their commuting with board symmetry."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rlgo.go import features_alphago as A
from rlgo.go.features import (
    FEATURE_SETS, HISTORY_LENGTH, FeatureSetError, encode, encode_arrays, encode_batch, encode_many, feature_planes,
    feature_version, kernel,
)
from rlgo.go.rules import Rules
from rlgo.go.state import BLACK, EMPTY, GameState
from rlgo.go.symmetry import NUM_SYMMETRIES, apply_planes, apply_point
from tests.conftest import board_from_ascii

SIMPLE_KO = Rules(ko="simple")  # kernel legality == game legality, so references can use GameState.play
games = st.tuples(st.integers(4, 9), st.integers(0, 90), st.integers(0, 2 ** 32 - 1))


def random_game(size, n_moves, seed):
    """A random game that never fills own eyes and stops before a second pass; returns (state, boards)."""
    rng = np.random.default_rng(seed)
    state = GameState(size, SIMPLE_KO)
    boards = [state.board()]
    for _ in range(n_moves):
        mask = state.legal_mask()
        mask[state.pass_move] = state.passes == 0 and rng.random() < 0.05
        moves = [int(p) for p in np.flatnonzero(mask) if p == state.pass_move or not state.fills_own_eye(int(p))]
        if not moves:
            break
        state.play(int(rng.choice(moves)))
        boards.append(state.board())
    return state, boards


def neighbours(point, n):
    r, c = divmod(point, n)
    return [rr * n + cc for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)) if 0 <= rr < n and 0 <= cc < n]


def chain_and_liberties(board, point):
    """Flood fill on a flat board: (chain points, liberty points) of the stone at `point`."""
    n = int(round(len(board) ** 0.5))
    color, chain, libs, todo = board[point], {point}, set(), [point]
    while todo:
        for q in neighbours(todo.pop(), n):
            if board[q] == EMPTY:
                libs.add(q)
            elif board[q] == color and q not in chain:
                chain.add(q)
                todo.append(q)
    return chain, libs


def fills_own_eye(board, point, color):
    """Single-point eye rule written from its definition: own orthogonals, few bad diagonals."""
    n = int(round(len(board) ** 0.5))
    if board[point] != EMPTY or any(board[q] != color for q in neighbours(point, n)):
        return False
    r, c = divmod(point, n)
    diagonals = [(r + dr, c + dc) for dr in (-1, 1) for dc in (-1, 1)]
    on_board = [rr * n + cc for rr, cc in diagonals if 0 <= rr < n and 0 <= cc < n]
    bad = sum(board[q] == 3 - color for q in on_board) + (len(on_board) < 4)
    return bad < 2


def ladder_dies(state, point):
    """Slow ladder reader on GameState copies (same definition as rlgo.go.ladders)."""
    prey = state.color_at(point)
    chain, libs = chain_and_liberties(state.board().ravel(), point)
    if state.to_play == prey:
        if len(libs) != 1:
            return not libs
        board = state.board().ravel()
        moves = set(libs)
        for q in {q for p in chain for q in neighbours(p, state.size) if board[q] == 3 - prey}:
            their_libs = chain_and_liberties(board, q)[1]
            if len(their_libs) == 1:
                moves |= their_libs
        for move in moves:
            if state.is_legal(move):
                after = state.copy()
                after.play(move)
                if after.color_at(point) == prey and not ladder_dies(after, point):
                    return False
        return True
    if len(libs) != 2:
        return len(libs) < 2
    for move in libs:
        if state.is_legal(move):
            after = state.copy()
            after.play(move)
            if after.color_at(point) != prey or ladder_dies(after, point):
                return True
    return False


def reference_alphago(state):
    """The 48 AlphaGo planes computed point by point with GameState copies and flood fills."""
    n, own = state.size, state.to_play
    board = state.board().ravel()
    out = np.zeros((48, n * n), dtype=np.float32)
    out[A.P_ONES] = 1
    played = [p for _, p in state.moves]
    for p in range(n * n):
        if board[p] != EMPTY:
            out[A.P_OWN if board[p] == own else A.P_OPP, p] = 1
            age = len(played) - max(i for i, q in enumerate(played) if q == p) if p in played else 8
            out[A.P_TURNS + min(age, 8) - 1, p] = 1
            out[A.P_LIBS + min(len(chain_and_liberties(board, p)[1]), 8) - 1, p] = 1
            continue
        out[A.P_EMPTY, p] = 1
        if not state.is_legal(p):
            continue
        after = state.copy()
        captured = after.play(p)
        chain, libs = chain_and_liberties(after.board().ravel(), p)
        out[A.P_CAPTURE + min(captured, 7), p] = 1
        if len(libs) == 1:
            out[A.P_SELF_ATARI + min(len(chain), 8) - 1, p] = 1
        out[A.P_LIBS_AFTER + min(len(libs), 8) - 1, p] = 1
        out[A.P_SENSIBLE, p] = not fills_own_eye(board, p, own)
        near = neighbours(p, n)
        preys = [q for q in near if board[q] == 3 - own and len(chain_and_liberties(board, q)[1]) == 2]
        out[A.P_LADDER_CAPTURE, p] = any(after.color_at(q) == 3 - own and ladder_dies(after, q) for q in preys)
        in_atari = any(board[q] == own and len(chain_and_liberties(board, q)[1]) == 1 for q in near)
        out[A.P_LADDER_ESCAPE, p] = in_atari and not ladder_dies(after, p)
    return out.reshape(48, n, n)


@settings(max_examples=25, deadline=None)
@given(games)
def test_alphago_planes_match_reference(game):
    state, _ = random_game(*game)
    got, want = encode(state, "alphago"), reference_alphago(state)
    for plane in range(48):
        assert np.array_equal(got[plane], want[plane]), f"plane {plane} differs\n{state}"


@settings(max_examples=25, deadline=None)
@given(games)
def test_agz_planes_match_reference(game):
    state, boards = random_game(*game)
    own = state.to_play
    got = encode(state, "agz")
    for i in range(HISTORY_LENGTH):
        past = boards[-1 - i] if i < len(boards) else np.zeros_like(boards[0])
        assert np.array_equal(got[i], past == own)
        assert np.array_equal(got[HISTORY_LENGTH + i], past == 3 - own)
    assert np.all(got[16] == (own == BLACK))


@settings(max_examples=10, deadline=None)
@given(games, st.integers(1, NUM_SYMMETRIES - 1))
def test_features_commute_with_board_symmetry(game, k):
    state, _ = random_game(*game)
    n = state.size
    mirrored = GameState(n, SIMPLE_KO)
    for color, point in state.moves:
        mirrored.play(apply_point(point, k, n), color)
    for name in FEATURE_SETS:
        assert np.array_equal(encode(mirrored, name), apply_planes(encode(state, name), k)), name


LADDER = """
    . . . . . . . . .
    . . . . . . . . .
    . . . . . . . {} .
    . . . . . . . . .
    . . . . . . . . .
    . . . . . . . . .
    . . X O . . . . .
    . . . X X . . . .
    . . . . . . . . .
"""
"""White D3 on two liberties; the ladder runs to the top right, where H7 may break it."""


@pytest.mark.parametrize("breaker", [False, True])
def test_ladder_capture_and_escape_depend_on_the_breaker(breaker):
    state = board_from_ascii(LADDER.format("O" if breaker else "."), SIMPLE_KO)
    capture = encode(state, "alphago")[A.P_LADDER_CAPTURE]
    assert capture.sum() == (0 if breaker else 1) and capture[5, 3] == (0 if breaker else 1)
    state.play(5 * 9 + 3)  # D4 ataris; White's only way out is E3
    escape = encode(state, "alphago")[A.P_LADDER_ESCAPE]
    assert escape.sum() == (1 if breaker else 0) and escape[6, 4] == (1 if breaker else 0)


def test_setup_stones_count_as_old_and_moves_as_recent():
    state = GameState(9)
    state.set_handicap(2)
    state.play(40)  # White at the centre, one move ago
    turns = encode(state, "alphago")[A.P_TURNS:A.P_TURNS + 8]
    assert turns[0, 4, 4] == 1 and turns[0].sum() == 1
    assert turns[7].sum() == 2 and turns[1:7].sum() == 0


def test_registry_and_errors():
    assert feature_planes("agz") == 17 and feature_planes("alphago") == 48
    assert all(feature_version(name) >= 1 for name in FEATURE_SETS)
    for name in FEATURE_SETS:
        assert encode(GameState(5), name).shape == (feature_planes(name), 5, 5)
    with pytest.raises(FeatureSetError, match=r"'nope'.*agz.*alphago"):
        feature_planes("nope")
    with pytest.raises(FeatureSetError, match="nope"):
        encode(GameState(5), "nope")


def test_encode_arrays_checks_shapes_and_matches_encode():
    state, _ = random_game(7, 30, 3)
    history = state.position_history(HISTORY_LENGTH + 3)  # extra rows are ignored
    for name in FEATURE_SETS:
        out = np.empty((feature_planes(name), 7, 7), dtype=np.float32)
        assert np.array_equal(encode_arrays(name, state.b, state.m, history, out), encode(state, name))
        with pytest.raises(FeatureSetError, match="history"):
            encode_arrays(name, state.b, state.m, history[:4], out)
        with pytest.raises(FeatureSetError, match="float32"):
            encode_arrays(name, state.b, state.m, history, out.astype(np.float64))
        with pytest.raises(FeatureSetError, match="b must"):
            encode_arrays(name, state.b[:, :10], state.m, history, out)
    fresh = np.zeros((17, 7, 7), dtype=np.float32)
    kernel("agz")(state.b, state.m, history, fresh)
    assert np.array_equal(fresh, encode(state, "agz"))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), count=st.integers(1, 6))
def test_encode_many_is_encode_of_each_position_in_one_call(seed, count):
    states = [random_game(7, 5 * i + seed % 20, seed + i)[0] for i in range(count)]
    b, m = np.stack([s.b for s in states]), np.stack([s.m for s in states])
    history = np.stack([s.position_history(HISTORY_LENGTH) for s in states])
    for name in FEATURE_SETS:
        out = np.full((count, feature_planes(name), 7, 7), 9.0, dtype=np.float32)
        assert np.array_equal(encode_many(name, b, m, history, out), np.stack([encode(s, name) for s in states]))
        with pytest.raises(FeatureSetError, match="history"):
            encode_many(name, b, m, history[:, :4], out)
        with pytest.raises(FeatureSetError, match="out must"):
            encode_many(name, b, m, history, out[:, :3])


def test_encode_batch_stacks_encodes():
    states = [random_game(6, moves, seed)[0] for moves, seed in ((0, 1), (9, 2), (40, 3))]
    for name in FEATURE_SETS:
        assert np.array_equal(encode_batch(states, name), np.stack([encode(s, name) for s in states]))
    with pytest.raises(FeatureSetError, match=r"\[5, 6\]"):
        encode_batch([GameState(5), GameState(6)])
    with pytest.raises(FeatureSetError):
        encode_batch([])


@settings(max_examples=25, deadline=None)
@given(games, st.sampled_from([-3.0, 0.5, 5.5, 7.0, 7.5]))
def test_extended_planes_match_reference(game, komi):
    state, _ = random_game(*game)
    state.rules = state.rules.with_komi(komi)
    own, n = state.to_play, state.size
    got = encode(state, "extended")
    assert np.array_equal(got[:17], encode(state, "agz"))
    board = state.board().ravel()
    want = np.zeros((6, n * n), np.float32)
    for p in np.flatnonzero(board != EMPTY):
        libs = len(chain_and_liberties(board, p)[1])
        want[(0 if board[p] == own else 3) + min(libs, 3) - 1, p] = 1
    assert np.array_equal(got[17:23].reshape(6, -1), want)
    assert np.allclose(got[23], (komi if own != BLACK else -komi) / 20)
    assert np.all(got[24] == 1)


def test_komi_plane_follows_rule_changes_and_undo():
    state = GameState(9, Rules(komi=7.5))
    state.play_gtp("E5")
    assert np.allclose(encode(state, "extended")[23], 7.5 / 20)  # White to move: komi is White's
    state.rules = state.rules.with_komi(0.5)
    assert np.allclose(encode(state, "extended")[23], 0.5 / 20)
    state.undo()
    assert np.allclose(encode(state, "extended")[23], -0.5 / 20)  # undo keeps the current komi


def test_extends_names_the_sets_whose_planes_come_first():
    from rlgo.go.features import extends
    assert extends("extended", "agz") and extends("agz", "agz")
    assert not extends("agz", "extended") and not extends("alphago", "agz")
    state, _ = random_game(9, 30, 5)
    for name, spec in FEATURE_SETS.items():  # the declared prefix really is the base set's planes
        if spec.extends:
            base = encode(state, spec.extends)
            assert np.array_equal(encode(state, name)[:len(base)], base)
