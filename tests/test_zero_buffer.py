"""Replay buffer shards: atomic files, game counts, window, pruning, symmetric sampling."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rlgo.go import features, symmetry
from rlgo.go.rules import Rules
from rlgo.go.state import GameState
from rlgo.train.data.shards import ShardError
from rlgo.train.zero.buffer import ReplayBuffer
from rlgo.train.zero.selfplay import PlaySettings, run_selfplay
from tests.test_search_batch import LinearNet, evaluator

SIZE = 5


@pytest.fixture(scope="module")
def games():
    s = PlaySettings(SIZE, Rules(komi=2.5), simulations=8, parallel_games=8, temperature_moves=6, move_cap=30, alpha=0.4)
    return run_selfplay(evaluator(LinearNet(11)), s, games=8, seed=5).games


def test_shards_hold_whole_games_and_survive_reopening(tmp_path, games):
    buf = ReplayBuffer(tmp_path, SIZE, window_games=100)
    buf.add(0, games[:3])
    buf.add(0, games[3:5])
    buf.add(1, games[5:])
    (tmp_path / ".gen0001-000003-0002.npz.abc.tmp").write_bytes(b"torn")  # a write killed half way
    again = ReplayBuffer(tmp_path, SIZE, window_games=100)
    assert not list(tmp_path.glob(".*.tmp"))
    assert (again.games(0), again.games(1), again.games()) == (5, 3, 8)
    data = again.window()
    assert len(data["to_play"]) == sum(len(g.samples["to_play"]) for g in games) == again.positions()
    first = again.read(again.shards()[0].path)
    assert np.array_equal(first["game_winner"], [g.winner for g in games[:3]])
    for key, value in games[0].samples.items():
        assert np.array_equal(first[key][first["game"] == 0], value)


def test_window_keeps_the_newest_whole_shards_and_prune_drops_the_rest(tmp_path, games):
    buf = ReplayBuffer(tmp_path, SIZE, window_games=4)
    for i in range(4):
        buf.add(i, games[2 * i:2 * i + 2])
    assert [s.generation for s in buf.window_shards()] == [2, 3]
    assert buf.prune() == 2
    assert [s.generation for s in buf.shards()] == [2, 3] and buf.games() == 4
    expected = sum(len(g.samples["to_play"]) for g in games[4:])
    assert buf.positions() == expected


def test_a_shard_of_another_board_size_is_refused(tmp_path, games):
    ReplayBuffer(tmp_path, SIZE, 10).add(0, games[:1])
    with pytest.raises(ShardError, match="5x5"):
        ReplayBuffer(tmp_path, 7, 10).window()
    with pytest.raises(ShardError, match="no positions"):
        ReplayBuffer(tmp_path / "empty", SIZE, 10).sample(4, np.random.default_rng(0))


def test_each_sample_has_one_symmetry_for_planes_policy_and_ownership(tmp_path, games):
    buf = ReplayBuffer(tmp_path, SIZE, window_games=100)
    buf.add(0, games)
    plain = buf.sample(64, np.random.default_rng(3), symmetries=False)
    turned = buf.sample(64, np.random.default_rng(3), symmetries=True)
    assert np.array_equal(plain.value, turned.value) and np.array_equal(plain.score, turned.score)
    own = plain.ownership.reshape(-1, SIZE, SIZE)
    moved = 0
    for i in range(64):
        fits = [k for k in range(symmetry.NUM_SYMMETRIES)
                if np.array_equal(symmetry.apply_planes(plain.planes[i], k), turned.planes[i])
                and np.allclose(symmetry.apply_policy(plain.policy[i], k, SIZE), turned.policy[i])
                and np.array_equal(symmetry.apply_planes(own[i], k).ravel(), turned.ownership[i])]
        assert fits, f"sample {i}: no single symmetry maps planes, policy and ownership together"
        moved += 0 not in fits
    assert moved > 32  # 7 of 8 symmetries move an asymmetric position
    assert np.allclose(turned.policy.sum(axis=1), 1.0, atol=2e-3)


def test_sampled_planes_are_the_feature_planes_of_the_replayed_position(tmp_path, games):
    buf = ReplayBuffer(tmp_path, SIZE, window_games=100)
    buf.add(0, games[:2])
    data = buf.window()
    expected = []
    for game in games[:2]:
        state = GameState(SIZE, Rules(komi=2.5))
        for move in game.moves:
            expected.append((features.encode(state, "agz"), state.to_play))
            state.play(move)
    index = np.arange(len(expected))
    planes = buf.encoder(data, index)
    for i, (planes_i, to_play) in enumerate(expected):
        assert data["to_play"][i] == to_play
        assert np.array_equal(planes[i], planes_i), f"position {i}"


def test_rescored_positions_move_the_komi_plane_the_score_and_the_outcome_together(tmp_path, games):
    resigned = [dataclasses.replace(g, resigned=True, samples={**g.samples, "scored": np.zeros_like(g.samples["scored"])})
                for g in games[:3]]  # games the loser resigned are not counted
    plain = ReplayBuffer(tmp_path, SIZE, 100, "extended", komi=2.5)
    plain.add(0, resigned + games[3:])
    rescored = ReplayBuffer(tmp_path, SIZE, 100, "extended", komi=2.5, rescore_share=1.0, rescore_spread=6.0)
    a = plain.sample(256, np.random.default_rng(4), symmetries=False)
    b = rescored.sample(256, np.random.default_rng(4), symmetries=False)  # the same positions, drawn first
    komi_plane = features.AGZ_PLANES + 6
    black = a.planes[:, features.AGZ_PLANES - 1, 0, 0] == 1
    komi_a, komi_b = (np.where(black, -1, 1) * x.planes[:, komi_plane, 0, 0] * features.KOMI_PLANE_SCALE
                      for x in (a, b))
    counted = a.scored == 1
    assert counted.any() and (~counted).any()
    assert np.allclose(komi_a, 2.5) and np.array_equal(a.scored, b.scored)
    others = [p for p in range(a.planes.shape[1]) if p != komi_plane]
    assert np.array_equal(a.planes[:, others], b.planes[:, others]) and np.array_equal(a.policy, b.policy)
    # a game that was not counted keeps its komi and targets
    assert np.allclose(komi_b[~counted], 2.5)
    assert np.array_equal(a.score[~counted], b.score[~counted]) and np.array_equal(a.value[~counted], b.value[~counted])
    # a counted one: a half point within 2.5 +- 6, the margin for the side to move moved by the change, its sign the outcome
    moved = komi_b[counted]
    assert np.all(np.abs(moved - 2.5) <= 6 + 1e-5) and np.allclose(2 * moved, np.round(2 * moved), atol=1e-4)
    assert len(np.unique(np.round(2 * moved))) > 5
    change = komi_b - komi_a
    assert np.allclose(b.score[counted], (a.score - np.where(black, change, -change))[counted], atol=1e-4)
    assert np.array_equal(b.value[counted], np.sign(b.score[counted]))
