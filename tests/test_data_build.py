"""Dataset build: filters and their counts, shard round trip, split by game, dedupe, archives, resume."""
from __future__ import annotations

import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rlgo.go.sgf import load_sgf
from rlgo.train.data.build import BuildConfig, DatasetError, build_dataset
from rlgo.train.data.replay import is_validation
from rlgo.train.data.shards import HISTORY, Manifest, pack_stones, read_shard, unpack_stones

FIXTURES = Path(__file__).parent / "fixtures" / "gnugo9"
GAMES = sorted(FIXTURES.glob("game-*.sgf"))
CFG = BuildConfig(size=9, min_moves=20, no_handicap=True, val_fraction=0.3, shard_size=150)


def _all(folder: Path, split: str) -> dict[str, np.ndarray]:
    manifest = Manifest.load(folder)
    parts = [read_shard(folder / name, 9) for name in manifest.files(split)]
    out = {k: np.concatenate([p[k] for p in parts]) for k in ("stones", "to_play", "move", "outcome", "move_number")}
    out["game_id"] = np.concatenate([p["game_ids"][p["game"]] for p in parts])
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds")
    build_dataset(FIXTURES, out, CFG)
    return out


def test_every_bad_record_is_counted_by_reason(built):
    stats = Manifest.load(built).stats
    assert stats["sources"] == len(list(FIXTURES.glob("*.sgf")))
    assert stats["games"] == len(GAMES)
    for reason in ("malformed", "illegal", "wrong_size", "handicap", "too_short", "duplicate"):
        assert stats.get(reason) == 1, (reason, stats)


def test_positions_replay_the_games_exactly(built):
    """Every stored sample is the position before the move, as a fresh replay of the SGF shows."""
    from rlgo.go.sgf import record_to_state
    from rlgo.go.rules import Rules
    import dataclasses
    data = {s: _all(built, s) for s in ("train", "val")}
    kept = set(data["train"]["game_id"]) | set(data["val"]["game_id"])
    assert len(kept) == len(GAMES)
    for key in sorted(kept):
        split = "val" if is_validation(key, CFG.val_fraction) else "train"
        rows = np.flatnonzero(data[split]["game_id"] == key)
        record = load_sgf(FIXTURES / key)
        assert len(rows) == len(record.moves)
        state = record_to_state(dataclasses.replace(record, moves=[], move_where=[]), Rules(ko="simple", komi=7.5))
        stones = unpack_stones(data[split]["stones"][rows], 9)
        winner = record.winner()
        for i, (color, point) in enumerate(record.moves):
            np.testing.assert_array_equal(stones[i, 0], state.board().ravel())
            if i >= 1:  # history row 1 is the position one move earlier
                np.testing.assert_array_equal(stones[i, 1], stones[i - 1, 0])
            assert data[split]["move"][rows[i]] == point
            assert data[split]["to_play"][rows[i]] == color
            assert data[split]["outcome"][rows[i]] == (1 if winner == color else -1)
            state.play(point, color)


def test_split_never_puts_a_game_on_both_sides(built):
    train, val = _all(built, "train"), _all(built, "val")
    assert len(val["move"]) > 0 and len(train["move"]) > 0
    assert not set(train["game_id"]) & set(val["game_id"])


def test_duplicate_game_is_kept_once(built):
    ids = set(_all(built, "train")["game_id"]) | set(_all(built, "val")["game_id"])
    assert len(ids & {"game-000003.sgf", "edge-duplicate.sgf"}) == 1  # same moves, other player names


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 19), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_pack_unpack_round_trip(size, count, seed):
    stones = np.random.default_rng(seed).integers(0, 3, size=(count, HISTORY, size * size)).astype(np.int8)
    np.testing.assert_array_equal(unpack_stones(pack_stones(stones), size), stones)


def test_archives_give_the_same_dataset(built, tmp_path):
    zpath, tpath = tmp_path / "games.zip", tmp_path / "games.tar.gz"
    with zipfile.ZipFile(zpath, "w") as z:
        for p in GAMES[:6]:
            z.write(p, f"in/{p.name}")
    with tarfile.open(tpath, "w:gz") as t:
        for p in GAMES[6:]:
            t.add(p, f"in/{p.name}")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    out = tmp_path / "ds"
    manifest = build_dataset(tmp_path, out, BuildConfig(size=9, val_fraction=0.0, shard_size=10_000))
    assert manifest.stats["games"] == len(GAMES)
    assert manifest.stats["unreadable"] == 1
    assert manifest.positions("train") == Manifest.load(built).positions("train") + Manifest.load(built).positions("val")


def test_interrupted_build_keeps_complete_shards_and_resumes(built, tmp_path):
    out = tmp_path / "ds"
    seen = []

    def stop_after_sixteen(key, status):
        seen.append(key)
        if len(seen) == 16:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_dataset(FIXTURES, out, CFG, on_source=stop_after_sixteen)
    assert not list(out.glob(".*"))  # no temp files left
    partial = Manifest.load(out)
    assert 0 < len(partial.shards) and len(partial.done) <= len(seen) < len(list(FIXTURES.glob("*.sgf")))
    for path in out.glob("*.npz"):
        read_shard(path, 9)  # every shard on disk is complete
    build_dataset(FIXTURES, out, CFG)
    for split in ("train", "val"):
        a, b = _all(out, split), _all(built, split)
        assert sorted(a["game_id"]) == sorted(b["game_id"])
        assert len(a["move"]) == len(b["move"])
    assert Manifest.load(out).stats == Manifest.load(built).stats


def test_resume_with_other_options_is_refused(built, tmp_path):
    out = tmp_path / "ds"
    shutil.copytree(built, out)
    with pytest.raises(DatasetError, match="built with"):
        build_dataset(FIXTURES, out, BuildConfig(size=9, min_moves=30))


def test_empty_folder_and_bad_options(tmp_path):
    manifest = build_dataset(tmp_path, tmp_path / "out", BuildConfig())
    assert manifest.stats.get("games", 0) == 0 and manifest.shards == []
    with pytest.raises(DatasetError, match="min_rank"):
        BuildConfig(min_rank="strong")
    with pytest.raises(DatasetError, match="val_fraction"):
        BuildConfig(val_fraction=1.5)


def test_rank_filter(tmp_path):
    text = (FIXTURES / "game-000000.sgf").read_text()
    (tmp_path / "strong.sgf").write_text(text.replace("RE[", "BR[3d]WR[1d]RE[", 1))
    (tmp_path / "weak.sgf").write_text(text.replace("RE[", "BR[3d]WR[5k]RE[", 1))
    (tmp_path / "unranked.sgf").write_text(text)
    stats = build_dataset(tmp_path, tmp_path / "out", BuildConfig(min_rank="1d", val_fraction=0.0)).stats
    assert stats["games"] == 1 and stats["rank"] == 2
