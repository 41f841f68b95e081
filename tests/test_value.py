"""Value-network data (one position per game), training, and the Fig. 2b evaluation (rlgo.train.value*)."""
from __future__ import annotations

import numpy as np
import pytest

import cli
from rlgo.go import kernels as K
from rlgo.go.consistency import check_board
from rlgo.go.rules import Rules
from rlgo.go.state import zobrist
from rlgo.nn.checkpoint import load_checkpoint, save_checkpoint
from rlgo.nn.inference import PolicyNet
from rlgo.train import value_data as vd
from rlgo.train.value import ValueConfig, evaluate_by_move, split, train_value
from rlgo.nn.model import NetConfig
from tests.reference_board import ReferenceBoard
from tests.test_pg import _one_thread, tiny_net  # noqa: F401 (autouse fixture: one torch thread)

RULES = Rules(komi=0.5)




@pytest.fixture(scope="module")
def shard():
    """40 games on 5x5 between two different tiny policies, U in [1, 12]."""
    cfg = vd.ValueDataConfig(games=40, rules=RULES, random_move_max=12, shard_size=40)
    return vd.play_shard(PolicyNet(tiny_net(seed=1)), PolicyNet(tiny_net(seed=2)), 40, cfg, np.random.default_rng(5))


def reference_score(colors: np.ndarray, size: int, komi: float) -> float:
    """Area score of a final board (kernel colour row) by the slow reference board."""
    ref = ReferenceBoard(size)
    stride = size + 2
    ref.stones = {(r, c): int(colors[(r + 1) * stride + c + 1]) for r in range(size) for c in range(size)
                  if colors[(r + 1) * stride + c + 1] in (1, 2)}
    return ref.score(komi)


def test_one_legal_position_per_game(shard):
    assert all(len(shard[k]) == 40 for k in vd.SHARD_KEYS)
    zob = zobrist(5)
    for g in range(40):
        check_board(shard["b"][g], shard["m"][g], zob)  # chains, liberties, empties, hash, ko are consistent
        assert shard["m"][g, K.M_MOVENUM] == shard["u"][g]
        np.testing.assert_array_equal(shard["history"][g, 0], shard["b"][g, K.COL])
        side = shard["m"][g, K.M_TOPLAY]
        assert side == (K.BLACK if shard["u"][g] % 2 == 0 else K.WHITE)
    assert 1 <= shard["u"].min() and shard["u"].max() <= 12
    assert len(np.unique(shard["u"])) > 5  # U really varies


def test_outcomes_match_scored_final_boards(shard):
    for g in range(40):
        score = reference_score(shard["final_colors"][g], 5, RULES.komi)
        assert score == shard["final_score"][g]
        black_wins = score > 0
        to_move_is_black = shard["m"][g, K.M_TOPLAY] == K.BLACK
        assert shard["z"][g] == (1.0 if black_wins == to_move_is_black else -1.0)
    assert {-1.0, 1.0} == set(np.unique(shard["z"]))


def test_generation_is_resumable_and_deterministic(tmp_path):
    sl, rl = PolicyNet(tiny_net(seed=1)), PolicyNet(tiny_net(seed=2))
    cfg = vd.ValueDataConfig(games=25, rules=RULES, random_move_max=10, shard_size=10, seed=4)
    assert vd.generate(sl, rl, cfg, tmp_path) == 25
    first = vd.load_samples(tmp_path)
    assert len(first["z"]) == 25
    vd.shard_path(tmp_path, 1).unlink()
    assert vd.generate(sl, rl, cfg, tmp_path) == 10  # only the missing shard is played again
    again = vd.load_samples(tmp_path)
    for k in vd.SHARD_KEYS:
        np.testing.assert_array_equal(first[k], again[k])
    with pytest.raises(ValueError, match="holds 5 games"):
        vd.generate(sl, rl, vd.ValueDataConfig(games=30, rules=RULES, random_move_max=10, shard_size=10, seed=4), tmp_path)


def test_value_net_learns_a_learnable_target(tmp_path, shard):
    """Target +1 when Black is to move, else -1 (plane 16 says it): the net must beat the constant by far."""
    data = tmp_path / "data"
    data.mkdir()
    samples = {k: np.concatenate([shard[k]] * 6) for k in vd.SHARD_KEYS}
    samples["z"] = np.where(samples["m"][:, K.M_TOPLAY] == K.BLACK, 1.0, -1.0).astype(np.float32)
    vd.save_shard(vd.shard_path(data, 0), samples)
    cfg = ValueConfig(data=str(data), out=str(tmp_path / "run"), net=NetConfig(blocks=1, width=8), epochs=12, batch_size=32,
                      val_fraction=0.2, seed=0)
    row = train_value(cfg)
    assert row["epoch"] == 12 and row["val_mse_constant"] > 0.5 and row["val_mse"] < 0.3 * row["val_mse_constant"]
    model, meta = load_checkpoint(tmp_path / "run" / "best.pt")
    assert model.cfg.heads == ("value",) and meta.board_size == 5
    with pytest.raises(Exception, match="already holds a run"):
        train_value(cfg)
    more = train_value(ValueConfig(**{**cfg.__dict__, "epochs": 13}), resume=True)
    assert more["epoch"] == 13


class TruthRollout:
    """A 'rollout policy' that returns the true outcome: its MSE must be 0."""

    def __init__(self, z):
        self.z = z

    def rollout_values(self, b, m, zob, komi):
        return self.z


def test_evaluate_by_move_buckets(shard):
    train, val = split(40, 0.25)
    assert len(val) == 10 and len(train) == 30 and val[0] == 30
    rows = evaluate_by_move(tiny_net(heads=("value",)), shard, val, 0.2, TruthRollout(shard["z"][val]), 0.5, buckets=4)
    assert sum(r.positions for r in rows) == 10
    assert all(r.rollouts == 0 for r in rows)
    u = shard["u"][val]
    for r in rows:
        sel = (u >= r.first) & (u <= r.last)
        assert sel.sum() == r.positions
        assert r.constant == pytest.approx(np.mean((0.2 - shard["z"][val][sel]) ** 2))
    assert all(a.last < b.first for a, b in zip(rows, rows[1:]))


def test_cli_value_end_to_end_and_errors(tmp_path, capsys):
    sl = save_checkpoint(tmp_path / "sl.pt", tiny_net(seed=1))
    rl = save_checkpoint(tmp_path / "rl.pt", tiny_net(seed=2))
    seven = save_checkpoint(tmp_path / "rl7.pt", tiny_net(7))
    code = cli.main(["train", "value", "--sl", str(sl), "--rl", str(seven), "--games", "4", "--out",
                     str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert code == 1 and "board size" in err and "Traceback" not in err
    assert not (tmp_path / "bad" / "data").exists()
    code = cli.main(["train", "value", "--sl", str(tmp_path / "none.pt"), "--rl", str(rl), "--games", "4",
                     "--out", str(tmp_path / "bad")])
    assert code == 1 and "none.pt" in capsys.readouterr().err
    code = cli.main(["train", "value", "--sl", str(sl), "--rl", str(rl), "--games", "30", "--out",
                     str(tmp_path / "ok"), "--blocks", "1", "--width", "8", "--epochs", "1", "--komi", "0.5",
                     "--random-move-max", "8", "--eval-rollouts", "2", "--threads", "1"])
    out = capsys.readouterr().out
    assert code == 0 and "| moves |" in out
    assert (tmp_path / "ok" / "value_eval.csv").read_text().startswith("first,last,positions")
