"""Self-play and gate tasks on Ray (rlgo.train.zero.raypool), on a local Ray instance with 2 CPUs:
the same games as the local pool, and a worker killed mid-task is retried without losing or
duplicating a game. Skipped without the optional extra (pip install "rlgo[ray]"), except the
one-line error of --ray without it."""
from __future__ import annotations

import collections
import logging
import os
import signal
import socket
import sys

import numpy as np
import pytest
import torch

import cli
from rlgo.nn.checkpoint import save_checkpoint
from rlgo.nn.model import build_model
from rlgo.train.zero.buffer import ReplayBuffer
from rlgo.train.zero.config import ZeroConfig
from rlgo.train.zero.loop import train_zero
from rlgo.train.zero.selfplay import NEVER_RESIGN, PlaySettings, SelfPlayTask, play_selfplay
from tests.test_zero_loop import TINY, TINY_FLAGS


@pytest.fixture(scope="module")
def ray():
    """A local Ray instance with 2 CPUs for the module's tests (shut down after them)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    yield ray
    ray.shutdown()


def test_an_address_where_no_ray_head_listens_is_a_one_line_error_before_anything_is_written(tmp_path, capsys):
    ray = pytest.importorskip("ray")
    assert not ray.is_initialized()  # runs before the module's Ray instance starts
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    run = tmp_path / "run"
    assert cli.main(["train", "zero", "--out", str(run), *TINY_FLAGS, "--ray", f"127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no Ray head answers there" in err, err
    assert not run.exists()


def games_of(buffer: ReplayBuffer) -> collections.Counter:
    """Every stored game as the bytes of its positions and targets, counted (shard order aside)."""
    found = collections.Counter()
    for shard in buffer.shards():
        data = buffer.read(shard.path)
        for i in range(shard.games):
            rows = data["game"] == i
            found[b"".join(np.ascontiguousarray(data[k][rows]).tobytes()
                           for k in ("stones", "to_play", "policy", "outcome", "score"))] += 1
    return found


@pytest.mark.slow
def test_a_generation_on_ray_stores_the_games_of_the_local_pool(ray, tmp_path):
    runs = {name: tmp_path / name for name in ("local", "ray")}
    for name, run in runs.items():
        cfg = ZeroConfig(out=str(run), **{**TINY, "workers": 2}, ray="local" if name == "ray" else "")
        assert [int(r["generation"]) for r in train_zero(cfg)] == [1]
    buffers = {name: ReplayBuffer(run / "buffer", TINY["size"], TINY["window_games"]) for name, run in runs.items()}
    assert buffers["ray"].games(1) == TINY["games_per_generation"]
    assert games_of(buffers["ray"]) == games_of(buffers["local"])
    assert (runs["ray"] / "results.jsonl").read_text().count("gate-0001-") >= 1  # the gate ran on Ray too


@pytest.mark.slow
def test_a_worker_killed_after_its_games_is_retried_and_every_game_is_stored_once(ray, tmp_path):
    from rlgo.train.zero.raypool import RayWorkers

    cfg = ZeroConfig(out=str(tmp_path), **TINY)
    torch.manual_seed(0)
    checkpoint = str(save_checkpoint(tmp_path / "net.pt", build_model(cfg.net_config())))
    tasks = [SelfPlayTask(checkpoint, PlaySettings.selfplay(cfg, NEVER_RESIGN), 2, seed) for seed in range(3)]
    killed = tmp_path / "killed"

    def dies_once(task):  # a closure: Ray ships it by value; its first attempt of task 1 dies holding its games
        result = play_selfplay(task)
        if task.seed == 1 and not killed.exists():
            killed.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    buffer = ReplayBuffer(tmp_path / "buffer", cfg.size, 100)
    with RayWorkers(count=2) as workers:
        for result in workers.run(dies_once, tasks):
            buffer.add(1, result.games)
    assert killed.exists()
    expected = ReplayBuffer(tmp_path / "expected", cfg.size, 100)
    for task in tasks:
        expected.add(1, play_selfplay(task).games)
    assert buffer.games(1) == 6 and games_of(buffer) == games_of(expected)
    assert max(games_of(buffer).values()) == 1


def test_ray_without_the_extra_is_a_one_line_error_naming_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as when it is not installed
    run = tmp_path / "run"
    assert cli.main(["train", "zero", "--out", str(run), *TINY_FLAGS, "--ray"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'pip install "rlgo[ray]"' in err, err
    assert not run.exists()
