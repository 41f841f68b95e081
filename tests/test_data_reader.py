"""Shard reader: planes equal rlgo.go.features on the replayed game, symmetries, resumable order."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from rlgo.go import features, symmetry
from rlgo.go.rules import Rules
from rlgo.go.sgf import load_sgf, record_to_state
from rlgo.train.data.build import BuildConfig, build_dataset
from rlgo.train.data.reader import PositionEncoder, ShardReader, augment
from rlgo.train.data.shards import Manifest, read_shard

FIXTURES = Path(__file__).parent / "fixtures" / "gnugo9"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds")
    build_dataset(FIXTURES, out, BuildConfig(size=9, val_fraction=0.25, shard_size=120))
    return out


@pytest.mark.parametrize("name", ["agz", "alphago"])
def test_planes_equal_features_of_the_replayed_game(dataset, name):
    manifest = Manifest.load(dataset)
    data = read_shard(dataset / manifest.files("train")[0], 9)
    encoder = PositionEncoder(9, name)
    for g, game_id in enumerate(data["game_ids"][:2]):
        rows = np.flatnonzero(data["game"] == g)
        planes = encoder(data, rows)
        record = load_sgf(FIXTURES / str(game_id))
        state = record_to_state(dataclasses.replace(record, moves=[], move_where=[]), Rules(ko="simple"))
        for i, (color, point) in enumerate(record.moves):
            if color == state.to_play:  # (a record may give one side two moves in a row)
                np.testing.assert_array_equal(planes[i], features.encode(state, name), err_msg=f"{game_id} move {i}")
            state.play(point, color)


def test_augment_moves_planes_and_move_together():
    rng = np.random.default_rng(3)
    planes = rng.random((64, 17, 9, 9)).astype(np.float32)
    moves = rng.integers(0, 82, size=64)
    marked = planes.copy()
    for i, mv in enumerate(moves):  # tag the move's point so its image can be found again
        if mv < 81:
            marked[i, 0].flat[mv] = 7.0
    out_planes, out_moves = augment(marked, moves, np.random.default_rng(5))
    assert (out_moves == 81).sum() == (moves == 81).sum()
    used = set()
    for i in range(64):
        k = next(k for k in range(8) if np.array_equal(symmetry.apply_planes(marked[i], k), out_planes[i]))
        used.add(k)
        assert out_moves[i] == symmetry.apply_point(int(moves[i]), k, 9)
        if moves[i] < 81:
            assert out_planes[i, 0].flat[out_moves[i]] == 7.0
    assert len(used) > 4  # a symmetry per sample, not one per batch


def test_skip_resumes_the_same_order(dataset):
    reader = ShardReader(dataset, "train")
    full = [b.moves for b in reader.batches(32, np.random.default_rng(9))]
    tail = [b.moves for b in reader.batches(32, np.random.default_rng(9), skip=3)]
    assert len(tail) == len(full) - 3
    for a, b in zip(full[3:], tail):
        np.testing.assert_array_equal(a, b)


def test_one_pass_covers_every_position_once(dataset):
    reader = ShardReader(dataset, "val")
    moves = np.concatenate([b.moves for b in reader.batches(50, rng=None)])
    assert len(moves) == reader.positions == Manifest.load(dataset).positions("val")
    batches = list(reader.batches(50, np.random.default_rng(0), symmetries=False))
    assert sorted(np.concatenate([b.moves for b in batches])) == sorted(moves)
    assert all(b.planes.shape[1:] == (17, 9, 9) and b.planes.dtype == np.float32 for b in batches)
    assert set(np.concatenate([b.outcomes for b in batches])) <= {-1.0, 0.0, 1.0}
