"""Batched policy games, the snapshot pool, and policy-gradient training (rlgo.train.batch_play/pool/pg)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import cli
from rlgo.go import features
from rlgo.go.rules import Rules
from rlgo.go.state import GameState
from rlgo.nn.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from rlgo.nn.inference import PolicyNet, load_policy, sample_moves
from rlgo.nn.model import NetConfig, build_model
from rlgo.train import pg
from rlgo.train.batch_play import GameBatch, PlayConfig, match, uniform_moves
from rlgo.train.common import OptimConfig, TrainError
from rlgo.train.pool import PoolError, SnapshotPool

ADAM = OptimConfig(optimizer="adamw", lr=0.003, weight_decay=0.0, schedule="constant", warmup=0.0)


def tiny_net(size: int = 5, feature_set: str = "agz", heads=("policy", "value"), seed: int = 0):
    torch.manual_seed(seed)
    return build_model(NetConfig(width=8, blocks=1, board_size=size, head_width=4, head_hidden=8,
                                 in_planes=features.feature_planes(feature_set), feature_set=feature_set,
                                 feature_version=features.feature_version(feature_set), heads=heads))


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def sl5(tmp_path) -> str:
    return str(save_checkpoint(tmp_path / "sl5.pt", tiny_net()))


def pg_config(sl: str, out: Path, **changes) -> pg.PGConfig:
    values = dict(sl=sl, out=str(out), iterations=4, games_per_iter=8, snapshot_every=1, checkpoint_every=2,
                  optim=ADAM, rules=Rules(komi=0.5), seed=3)
    values.update(changes)
    return pg.PGConfig(**values)


# ----------------------------------------------------------------- batch_play
def eye_free(state: GameState) -> np.ndarray:
    mask = state.legal_mask()
    for p in np.flatnonzero(mask[:-1]):
        mask[p] = not state.fills_own_eye(int(p))
    return mask


@pytest.mark.parametrize("ko", ["simple", "positional", "situational"])
@pytest.mark.parametrize("prune", [False, True])
def test_batch_matches_gamestate(ko, prune):
    """Legal masks, planes, history, move counts and area scores agree with GameState game by game."""
    rules = Rules(ko=ko, komi=2.5)
    cfg = PlayConfig(size=5, rules=rules, move_cap=70, prune_eye_fills=prune)
    batch = GameBatch(12, cfg)
    states = [GameState(5, rules) for _ in range(12)]
    rng = np.random.default_rng(ko.__len__() + prune)
    while (games := batch.active()).size:
        legal = batch.legal(games)
        planes = batch.planes(games, "agz")
        for i, g in enumerate(games):
            s = states[g]
            np.testing.assert_array_equal(legal[i], eye_free(s) if prune else s.legal_mask())
            np.testing.assert_array_equal(planes[i], features.encode(s, "agz"))
        moves = uniform_moves(legal, rng)
        batch.play(games, moves)
        for g, move in zip(games, moves):
            states[g].play(int(move))
    for g, s in enumerate(states):
        assert batch.moves[g] == s.move_number
        assert s.is_over == (s.passes >= 2) and (s.is_over or s.move_number == 70)
        assert batch.scores()[g] == s.area_score()
        np.testing.assert_array_equal(batch.hist[g], s.position_history(features.HISTORY_LENGTH))
    with pytest.raises(ValueError, match="already over"):
        batch.play(np.array([0]), np.array([25]))


def test_sample_moves_stay_legal_and_argmax_at_zero_temperature():
    rng = np.random.default_rng(0)
    legal = rng.random((200, 26)) < 0.3
    legal[:, -1] = True
    logp = np.log(rng.dirichlet(np.ones(26), size=200)).astype(np.float32)
    for t in (0.5, 1.0, 3.0):
        moves = sample_moves(logp, legal, rng, t)
        assert legal[np.arange(200), moves].all()
    greedy = sample_moves(logp, legal, rng, 0.0)
    np.testing.assert_array_equal(greedy, np.where(legal, logp, -np.inf).argmax(axis=1))
    only_pass = np.zeros((3, 26), bool)
    only_pass[:, -1] = True
    assert (uniform_moves(only_pass, rng) == 25).all()
    assert (uniform_moves(legal, rng) != 25).all()  # pass never chosen while another move is legal


def test_sampling_follows_the_policy():
    """Frequencies of sampled moves match softmax probabilities (chi-square-sized tolerance)."""
    rng = np.random.default_rng(1)
    p = np.array([0.5, 0.3, 0.2, 0.0])
    legal = np.tile(np.array([True, True, True, False]), (20000, 1))
    logp = np.tile(np.log(np.maximum(p, 1e-30)), (20000, 1))
    counts = np.bincount(sample_moves(logp, legal, rng), minlength=4) / 20000
    np.testing.assert_allclose(counts, p, atol=0.015)


def test_match_is_symmetric_for_equal_policies():
    """A policy against itself: colours alternate, so wins and losses are close and every game counts once."""
    policy = PolicyNet(tiny_net())
    wins, jigo, losses = match(policy, policy, 64, PlayConfig(5, Rules(komi=0.5)), np.random.default_rng(2))
    assert wins + jigo + losses == 64 and jigo == 0
    assert 16 <= wins <= 48


# ----------------------------------------------------------------- pool
def test_pool_add_sample_truncate(tmp_path):
    pool = SnapshotPool(tmp_path / "pool", board_size=5, feature_set="agz")
    with pytest.raises(PoolError, match="does not exist"):
        pool.sample(np.random.default_rng(0))
    for it in (0, 5, 10):
        pool.add(tiny_net(seed=it), it)
    assert [p.name for p in pool.paths()] == ["snap-000000.pt", "snap-000005.pt", "snap-000010.pt"]
    rng = np.random.default_rng(7)
    draws = [pool.sample(rng).name for _ in range(1200)]
    counts = {name: draws.count(name) for name in set(draws)}
    assert len(counts) == 3 and all(318 < c < 482 for c in counts.values())  # uniform: 400 +- 5 sigma
    assert [pool.sample(np.random.default_rng(4)) for _ in range(2)] == [pool.sample(np.random.default_rng(4))] * 2
    net = pool.load(pool.paths()[1])
    torch.testing.assert_close(net.model.state_dict(), tiny_net(seed=5).state_dict())
    assert [p.name for p in pool.truncate(4)] == ["snap-000005.pt", "snap-000010.pt"]
    assert len(pool) == 1
    other = SnapshotPool(tmp_path / "other", board_size=7)
    other.folder.mkdir()
    with pytest.raises(PoolError, match="holds no snapshots"):
        other.require()
    assert other.copy_from(tmp_path / "pool") == 1
    with pytest.raises(CheckpointError, match="board size"):
        other.load(other.paths()[0])


# ----------------------------------------------------------------- pg
def test_episodes_record_only_learner_moves():
    learner, opponent = PolicyNet(tiny_net(seed=1)), PolicyNet(tiny_net(seed=2))
    ep = pg.play_episodes(learner, opponent, 6, PlayConfig(5, Rules(komi=0.5)), np.random.default_rng(0))
    for g in range(6):
        own = np.flatnonzero(ep.game == g)
        assert len(own) == (ep.lengths[g] + (g % 2 == 0)) // 2  # Black (even games) moves first
        black_to_move = ep.planes[own, 16, 0, 0] == 1
        assert (black_to_move == (g % 2 == 0)).all()
    assert ep.legal[np.arange(len(ep.moves)), ep.moves].all()
    assert set(np.unique(ep.z)) <= {-1.0, 1.0}


def test_reinforce_step_raises_probability_of_rewarded_moves():
    model = tiny_net()
    ep = pg.play_episodes(PolicyNet(model), PolicyNet(tiny_net(seed=9)), 4, PlayConfig(5, Rules(komi=0.5)),
                          np.random.default_rng(0))
    adv = np.where(ep.game == 0, 1.0, 0.0).astype(np.float32)
    x, legal = torch.from_numpy(ep.planes), torch.from_numpy(ep.legal)

    def logp_game0():
        with torch.no_grad():
            logp = torch.log_softmax(model.eval()(x, legal)["policy"], -1)
        return logp[torch.arange(len(ep.moves)), torch.from_numpy(ep.moves)][ep.game == 0].sum().item()

    before = logp_game0()
    pg.reinforce_step(model, torch.optim.SGD(model.parameters(), lr=0.05), ep, adv, torch.device("cpu"))
    assert logp_game0() > before


def test_advantages_baselines():
    ep = pg.Episodes(np.zeros((4, 17, 5, 5), np.float32), np.ones((4, 26), bool), np.zeros(4, np.int64),
                     np.array([0, 0, 1, 2]), np.array([1.0, -1.0, -1.0], np.float32), np.array([10, 10, 10]))
    np.testing.assert_allclose(pg.advantages(ep, "none", None, "cpu"), [1, 1, -1, -1])
    np.testing.assert_allclose(pg.advantages(ep, "mean", None, "cpu"), np.array([1, 1, -1, -1]) + 1 / 3, rtol=1e-6)
    value = tiny_net(heads=("value",))
    v = value.eval()(torch.zeros(4, 17, 5, 5))["value"].detach().numpy()
    np.testing.assert_allclose(pg.advantages(ep, "value", value, "cpu"), np.array([1, 1, -1, -1]) - v, rtol=1e-5)


def test_resume_after_crash_reproduces_pool_and_weights(tmp_path, sl5, monkeypatch):
    full = tmp_path / "full"
    pg.train_pg(pg_config(sl5, full))
    original = pg._Run.iterate

    def crash_after_three(self):
        row = original(self)
        if self.iteration == 3:
            raise KeyboardInterrupt  # snapshot 3 is written, the last checkpoint is iteration 2
        return row

    cut = tmp_path / "cut"
    monkeypatch.setattr(pg._Run, "iterate", crash_after_three)
    with pytest.raises(KeyboardInterrupt):
        pg.train_pg(pg_config(sl5, cut))
    monkeypatch.setattr(pg._Run, "iterate", original)
    assert load_checkpoint(cut / "last.pt")[1].step == 2 and (cut / "pool" / "snap-000003.pt").exists()
    pg.train_pg(pg_config(sl5, cut), resume=True)
    names = [p.name for p in SnapshotPool(full / "pool").paths()]
    assert names == [p.name for p in SnapshotPool(cut / "pool").paths()] == [f"snap-{i:06d}.pt" for i in range(5)]
    for name in names + ["../last.pt"]:
        a, b = load_checkpoint(full / "pool" / name)[0], load_checkpoint(cut / "pool" / name)[0]
        torch.testing.assert_close(a.state_dict(), b.state_dict())
    rows = [[(r["step"], r["opponent"], r["win_rate"]) for r in pg.MetricsLogger.read(d / "metrics.csv")]
            for d in (full, cut)]
    assert rows[0] == rows[1] and len(rows[0]) == 4


def test_input_errors_before_any_game(tmp_path, sl5):
    with pytest.raises(CheckpointError, match="does not exist"):
        pg.train_pg(pg_config(str(tmp_path / "missing.pt"), tmp_path / "a"))
    seven = save_checkpoint(tmp_path / "v7.pt", tiny_net(7, heads=("value",)))
    with pytest.raises(CheckpointError, match="board size"):
        pg.train_pg(pg_config(sl5, tmp_path / "b", baseline="value", value=str(seven)))
    other_features = save_checkpoint(tmp_path / "va.pt", tiny_net(5, "alphago", heads=("value",)))
    with pytest.raises(CheckpointError, match="feature set"):
        pg.train_pg(pg_config(sl5, tmp_path / "c", baseline="value", value=str(other_features)))
    (tmp_path / "empty").mkdir()
    with pytest.raises(PoolError, match="holds no snapshots"):
        pg.train_pg(pg_config(sl5, tmp_path / "d", pool=str(tmp_path / "empty")))
    foreign = tmp_path / "foreign"
    SnapshotPool(foreign).add(tiny_net(7), 0)
    with pytest.raises(CheckpointError, match="board size"):
        pg.train_pg(pg_config(sl5, tmp_path / "e", pool=str(foreign)))
    with pytest.raises(TrainError, match="needs a value network"):
        pg_config(sl5, tmp_path / "f", baseline="value")
    assert not any((tmp_path / d).exists() for d in "abcde")  # nothing written before the error
    pg.train_pg(pg_config(sl5, tmp_path / "g", iterations=1))
    with pytest.raises(TrainError, match="already holds a run"):
        pg.train_pg(pg_config(sl5, tmp_path / "g", iterations=1))


def test_cli_errors_are_one_line(tmp_path, capsys, sl5):
    code = cli.main(["train", "pg", "--sl", str(tmp_path / "nope.pt"), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 1 and "nope.pt" in err and "does not exist" in err and "Traceback" not in err
    code = cli.main(["train", "pg", "--sl", sl5, "--out", str(tmp_path / "r"), "--iterations", "2",
                     "--games-per-iter", "4", "--komi", "0.5", "--threads", "1"])
    assert code == 0 and len(SnapshotPool(tmp_path / "r" / "pool")) == 1
    assert len(pg.MetricsLogger.read(tmp_path / "r" / "metrics.csv")) == 2


def binomial_tail(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(k, n + 1)) / 2 ** n


@pytest.mark.slow
def test_pg_beats_its_start_policy(tmp_path, sl5):
    """20 iterations of 64 games on 5x5: the learner wins far more than half of 400 games against its start."""
    out = tmp_path / "learn"
    pg.train_pg(pg_config(sl5, out, iterations=20, games_per_iter=64, snapshot_every=10, checkpoint_every=20,
                          baseline="mean"))
    wins, jigo, losses = match(load_policy(out / "last.pt"), load_policy(sl5), 400, PlayConfig(5, Rules(komi=0.5)),
                               np.random.default_rng(12345))
    assert jigo == 0
    print(f"learner won {wins}/400")
    assert binomial_tail(wins, 400) < 1e-4, f"{wins}/400 wins could be chance"
