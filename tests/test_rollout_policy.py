"""Fast rollout policy: features vs a slow Python reference, incremental cache, legal rollouts, fit."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rlgo.go import coords, kernels as K, symmetry
from rlgo.go.patterns import (DISTANCES, F_CAPTURE, F_CAPTURE_BIG, F_CAPTURE_LAST, F_SAVE, F_SELF_ATARI,
                              F_SELF_ATARI_BIG, NEIGHBOURS, NOT_CANDIDATE, canonical_codes, last_chain_liberty,
                              move_features)
from rlgo.go.rollout import seed as seed_rollouts
from rlgo.go.rules import Rules
from rlgo.go.state import GameState
from rlgo.search.rollout_policy import (PatternRolloutPolicy, RolloutPolicyError, cache_init, cache_play, cache_sample,
                                        cache_weights, move_weights, new_cache, num_weights, policy_rollout_score)

FIXTURES = Path(__file__).parent / "fixtures" / "gnugo9"


def random_position(size: int, moves: int, seed: int) -> GameState:
    """A position after up to `moves` random legal non-eye-filling moves (simple ko)."""
    rng = np.random.default_rng(seed)
    state = GameState(size, Rules(ko="simple"))
    for _ in range(moves):
        legal = [p for p in np.flatnonzero(state.legal_mask()[:-1]) if not state.fills_own_eye(int(p))]
        if not legal:
            break
        state.play(int(rng.choice(legal)) if rng.random() > 0.03 else state.pass_move)
    return state


def reference_features(state: GameState, point: int) -> tuple[int, int, int]:
    """(code, flags, distance bucket) of the side to move at `point`, straight from the rules."""
    n, me = state.size, state.to_play
    if not state.is_legal(point) or state.fills_own_eye(point):
        return NOT_CANDIDATE, 0, 0
    r, c = coords.to_rc(point, n)
    code = 0
    for i, (dr, dc) in enumerate(NEIGHBOURS):
        rr, cc = r + dr, c + dc
        if not (0 <= rr < n and 0 <= cc < n):
            code |= 3 << (2 * i)
            continue
        q = coords.from_rc(rr, cc, n)
        colour = state.color_at(q)
        if colour:
            code |= (1 if colour == me else 2) << (2 * i)
            if i < 4 and state.liberties(q) == 1:
                code |= 1 << (16 + i)
    flags = 0
    neighbours = [coords.from_rc(r + dr, c + dc, n) for dr, dc in NEIGHBOURS[:4] if 0 <= r + dr < n and 0 <= c + dc < n]
    captured = [q for q in neighbours if state.color_at(q) == 3 - me and state.liberties(q) == 1]
    if captured:
        flags |= 1 << F_CAPTURE
        if any(len(state.chain(q)) >= 2 for q in captured):
            flags |= 1 << F_CAPTURE_BIG
    after = state.copy()
    after.play(point)
    if not captured and after.liberties(point) == 1:
        flags |= 1 << F_SELF_ATARI
        if len(after.chain(point)) >= 2:
            flags |= 1 << F_SELF_ATARI_BIG
    elif any(state.color_at(q) == me and state.liberties(q) == 1 for q in neighbours):
        flags |= 1 << F_SAVE
    last = state.last_move
    if last is not None and last < n * n and state.color_at(last) and state.liberties(last) == 1 and \
            point in {q for s in state.chain(last) for q in _adjacent(s, n) if state.color_at(q) == 0}:
        flags |= 1 << F_CAPTURE_LAST
    bucket = 0
    if last is not None and last < n * n:
        lr, lc = coords.to_rc(last, n)
        d = sorted((abs(lr - r), abs(lc - c)))
        bucket = next((k + 1 for k, spec in enumerate(DISTANCES) if tuple(spec) == tuple(d)), 0)
    return code, flags, bucket


def _adjacent(point: int, n: int) -> list[int]:
    r, c = coords.to_rc(point, n)
    return [coords.from_rc(r + dr, c + dc, n) for dr, dc in NEIGHBOURS[:4] if 0 <= r + dr < n and 0 <= c + dc < n]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([5, 7, 9]), st.integers(0, 120), st.integers(0, 2**31))
def test_features_match_the_slow_reference(size, moves, seed):
    state = random_position(size, moves, seed)
    if state.is_over:
        return
    work, mark = np.zeros(12, np.int64), np.zeros(state.b.shape[1], np.int32)
    last_lib = last_chain_liberty(state.b, state.m)
    for point in range(size * size):
        if state.color_at(point):
            continue
        fast = move_features(state.b, state.m, coords.to_vertex(point, size), state.to_play, last_lib, work, mark)
        assert tuple(int(x) for x in fast) == reference_features(state, point), coords.to_gtp(point, size)


def _random_policy(seed: int) -> PatternRolloutPolicy:
    classes = canonical_codes()[1]
    return PatternRolloutPolicy(np.random.default_rng(seed).normal(0, 1.5, num_weights(classes)).astype(np.float32))


@pytest.fixture(scope="module")
def policy() -> PatternRolloutPolicy:
    return _random_policy(1)


@settings(max_examples=15, deadline=None)
@given(st.sampled_from([5, 9]), st.integers(0, 2**31))
def test_rollout_moves_are_legal_and_the_cache_matches_the_reference(policy, size, seed):
    tables = policy.tables()
    state = random_position(size, seed % 30, seed)
    b, m = state.b.copy(), state.m.copy()
    cache = new_cache(b.shape[1])
    cache_init(b, m, tables, cache)
    seed_rollouts(seed)
    fast, slow = np.zeros(b.shape[1]), np.zeros(b.shape[1])
    for _ in range(3 * size * size):
        if m[K.M_PASSES] >= 2:
            break
        cache_weights(b, m, tables, cache, fast)
        move_weights(b, m, tables, slow)
        np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=0)
        v = cache_sample(b, m, tables, cache)
        if v:
            color = m[K.M_TOPLAY]
            assert K.legality(b, m, v, color) == K.LEGAL and not K.is_eyeish(b, m, v, color)
            assert slow[v] > 0
        else:
            assert not slow.any()  # passes only without a candidate
        cache_play(b, m, state.zob, v, tables, cache)


def test_pattern_classes_are_symmetric():
    """The class of a point's pattern does not change when the whole board is rotated or reflected."""
    classes = canonical_codes()[0]
    state = random_position(9, 40, 7)
    work, mark = np.zeros(12, np.int64), np.zeros(state.b.shape[1], np.int32)
    for k in range(8):
        image = GameState(9, Rules(ko="simple"))
        board = symmetry.apply_planes(state.board(), k).ravel()
        image.place([(int(c), int(p)) for p, c in enumerate(board) if c])
        image.m[K.M_TOPLAY] = state.to_play
        for point in range(81):
            if state.color_at(point):
                continue
            a = move_features(state.b, state.m, coords.to_vertex(point, 9), state.to_play, -1, work, mark)[0]
            q = symmetry.apply_point(point, k, 9)
            b = move_features(image.b, image.m, coords.to_vertex(q, 9), state.to_play, -1, work, mark)[0]
            assert (a == NOT_CANDIDATE) == (b == NOT_CANDIDATE)
            if a != NOT_CANDIDATE:
                assert classes[a] == classes[b]


def test_rollout_values_and_scores(policy):
    state = random_position(9, 10, 2)
    score = policy_rollout_score(state.b, state.m, state.zob, 7.5, 243, policy.tables())
    assert -81 - 7.5 <= score <= 81 - 7.5 and float(score + 7.5).is_integer()  # area count minus komi
    b = np.stack([state.b] * 3)
    m = np.stack([state.m] * 3)
    values = PatternRolloutPolicy(policy.weights, seed=3, rollouts=4).rollout_values(b, m, state.zob, 7.5)
    again = PatternRolloutPolicy(policy.weights, seed=3, rollouts=4).rollout_values(b, m, state.zob, 7.5)
    assert values.shape == (3,) and values.dtype == np.float32 and np.all(np.abs(values) <= 1)
    np.testing.assert_array_equal(values, again)
    np.testing.assert_array_equal(b[0], state.b)  # leaves untouched


def test_save_load_round_trip_and_errors(policy, tmp_path):
    path = policy.save(tmp_path / "rollout.npz")
    np.testing.assert_array_equal(PatternRolloutPolicy.load(path).weights, policy.weights)
    with pytest.raises(RolloutPolicyError, match="shape"):
        PatternRolloutPolicy(np.zeros(10))
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(RolloutPolicyError, match="junk.npz"):
        PatternRolloutPolicy.load(tmp_path / "junk.npz")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    from rlgo.train.data.build import BuildConfig, build_dataset
    out = tmp_path_factory.mktemp("ds")
    build_dataset(FIXTURES, out, BuildConfig(size=9, val_fraction=0.2, shard_size=10_000))
    return out


def test_fit_on_gnugo_games_beats_chance(dataset):
    from rlgo.train.rollout_train import RolloutTrainConfig, accuracy, extract_candidates, fit, load_split
    data, size = load_split(dataset, "train")
    cands = extract_candidates(data, size)
    assert len(cands.target) == len(data["move"]) and (cands.target >= 0).mean() > 0.9
    mean_candidates = np.diff(cands.start).mean()
    trained = fit(cands, RolloutTrainConfig(iterations=60, lr=0.1))
    result = accuracy(trained.weights, cands)
    assert result["top1_all"] > 4 / mean_candidates
    assert accuracy(np.zeros_like(trained.weights), cands)["top1_all"] < result["top1_all"]


def test_amaf_records_who_played_each_point_first(policy):
    state = random_position(9, 20, 4)
    b, m = np.stack([state.b] * 2), np.stack([state.m] * 2)
    amaf = np.zeros((2, 81), np.int8)
    PatternRolloutPolicy(policy.weights, seed=1).rollout_values(b, m, state.zob, 7.5, amaf=amaf)
    assert set(np.unique(amaf)) <= {0, 1, 2} and (amaf == 1).any() and (amaf == 2).any()
    empty = state.board().ravel() == 0
    assert (amaf[:, empty] > 0).mean() > 0.5  # most empty points get played in a 9x9 rollout


def test_train_rollout_command(dataset, tmp_path, capsys):
    from cli import main
    out = tmp_path / "rollout.npz"
    assert main(["train", "rollout", "--data", str(dataset), "--out", str(out), "--iterations", "5"]) == 0
    assert "validation top-1" in capsys.readouterr().out
    assert PatternRolloutPolicy.load(out).weights.any()
