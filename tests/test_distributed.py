"""Data-parallel training (rlgo.train.distributed): 2 gloo ranks on localhost equal one process with
the same global batch, resume with another number of ranks, and a dying rank stops the job cleanly."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import cli
from rlgo.go.rules import Rules
from rlgo.nn.checkpoint import load_checkpoint
from rlgo.nn.inference import PolicyNet
from rlgo.train import value_data as vd
from rlgo.train.common import MetricsLogger, OptimConfig
from rlgo.train.data.build import BuildConfig, build_dataset
from rlgo.train.data.reader import share
from rlgo.train.distributed import DistributedError, launch
from rlgo.train.sl import SLConfig, train_sl
from rlgo.train.value import ValueConfig, train_value
from rlgo.train.zero.config import ZeroConfig
from rlgo.train.zero.loop import checkpoint_path, train_zero
from rlgo.nn.model import NetConfig
from tests.test_pg import tiny_net
from tests.test_zero_loop import TINY

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "gnugo9"
SL_FLAGS = ["--blocks", "1", "--width", "8", "--batch-size", "50", "--device", "cpu", "--threads", "1",
            "--optimizer", "adamw", "--lr", "0.003"]


@given(st.integers(0, 300), st.integers(1, 9))
def test_shares_of_the_ranks_tile_the_batch_in_order(count, world):
    parts = [share(count, rank, world) for rank in range(world)]
    assert [i for p in parts for i in range(count)[p]] == list(range(count))
    sizes = [p.stop - p.start for p in parts]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


def _same_weights(a: Path, b: Path) -> None:
    wa, wb = (load_checkpoint(p)[0].state_dict() for p in (a, b))
    assert wa.keys() == wb.keys()
    for k in wa:  # batch-norm running statistics included
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-4, atol=1e-5, msg=k)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds")
    build_dataset(FIXTURES, out, BuildConfig(size=9, val_fraction=0.2, shard_size=10_000))
    return out


def _sl(data: Path, out: Path, epochs: int) -> SLConfig:
    return SLConfig(data=str(data), out=str(out), net=NetConfig(blocks=1, width=8), epochs=epochs, batch_size=50, device="cpu",
                    threads=1, optim=OptimConfig(optimizer="adamw", lr=3e-3, weight_decay=0.0))


@pytest.mark.distributed
def test_two_ranks_train_sl_like_one_process_and_resume_with_either(dataset, tmp_path, capsys):
    one = tmp_path / "one"
    train_sl(_sl(dataset, one, epochs=1))
    shutil.copytree(one, tmp_path / "one-then-two")
    train_sl(_sl(dataset, one, epochs=2), resume=True)

    two = tmp_path / "two"  # the CLI path, batch 50 = 25 + 25 (the epoch's last batch splits unevenly)
    assert cli.main(["train", "sl", "--data", str(dataset), "--out", str(two), "--epochs", "1", "--ddp", "2",
                     *SL_FLAGS]) == 0
    assert "val top-1" in capsys.readouterr().out
    assert [r["epoch"] for r in MetricsLogger.read(two / "metrics.csv")] == ["1"]
    assert list(MetricsLogger.read(two / "metrics.csv")[0]) == list(MetricsLogger.read(one / "metrics.csv")[0])
    assert cli.main(["train", "sl", "--data", str(dataset), "--out", str(two), "--epochs", "1", "--ddp", "2",
                     *SL_FLAGS]) == 1
    assert re.search(r"rank [01] of 2 failed: TrainError: .* already holds a run", capsys.readouterr().err)
    train_sl(_sl(dataset, two, epochs=2), resume=True)  # two ranks, then one
    _same_weights(one / "last.pt", two / "last.pt")

    launch(2, train_sl, _sl(dataset, tmp_path / "one-then-two", epochs=2), True)  # one rank, then two
    _same_weights(one / "last.pt", tmp_path / "one-then-two" / "last.pt")
    assert [r["epoch"] for r in MetricsLogger.read(tmp_path / "one-then-two" / "metrics.csv")] == ["1", "2"]


@pytest.mark.distributed
def test_two_ranks_train_a_value_net_like_one_process(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    cfg = vd.ValueDataConfig(games=30, rules=Rules(komi=0.5), random_move_max=12, shard_size=30)
    samples = vd.play_shard(PolicyNet(tiny_net(seed=1)), PolicyNet(tiny_net(seed=2)), 30, cfg, np.random.default_rng(5))
    vd.save_shard(vd.shard_path(data, 0), samples)
    runs = [ValueConfig(data=str(data), out=str(tmp_path / name), net=NetConfig(blocks=1, width=8), epochs=2, batch_size=9,
                        val_fraction=0.2, seed=0, threads=1) for name in ("one", "two")]
    train_value(runs[0])
    launch(2, train_value, runs[1], False)
    _same_weights(tmp_path / "one" / "last.pt", tmp_path / "two" / "last.pt")
    assert MetricsLogger.read(tmp_path / "two" / "metrics.csv")[-1]["epoch"] == "2"


@pytest.mark.distributed
def test_a_zero_generation_trained_by_two_ranks_matches_one(tmp_path):
    for name, ddp in (("one", 1), ("two", 2)):  # the same self-play games, then batches of 15 = 8 + 7
        train_zero(ZeroConfig(out=str(tmp_path / name), **{**TINY, "batch_size": 15}, ddp=ddp))
    _same_weights(checkpoint_path(tmp_path / "one", 1), checkpoint_path(tmp_path / "two", 1))
    assert [r["generation"] for r in MetricsLogger.read(tmp_path / "two" / "metrics.csv")] == ["1"]


def _rank_pids(parent: int) -> list[int]:
    """Spawned rank processes of `parent` (multiprocessing's helper processes excluded)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # exited meanwhile
        if ppid == parent and b"spawn_main" in cmdline:
            pids.append(int(stat.parent.name))
    return pids


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


@pytest.mark.distributed
def test_a_rank_that_dies_stops_the_job_with_a_clear_error_and_whole_checkpoints(dataset, tmp_path):
    run = tmp_path / "run"
    args = ["train", "sl", "--data", str(dataset), "--out", str(run), "--epochs", "500", "--ddp", "2", *SL_FLAGS]
    proc = subprocess.Popen([sys.executable, "-m", "cli", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        end = time.monotonic() + 300
        while not ((run / "metrics.csv").exists() and len(MetricsLogger.read(run / "metrics.csv")) >= 1):
            assert proc.poll() is None, proc.stderr.read()[-2000:]
            assert time.monotonic() < end, "the job never finished an epoch"
            time.sleep(0.05)
        ranks = _rank_pids(proc.pid)
        assert len(ranks) == 2
        os.kill(max(ranks), signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1
    assert re.search(r"rank [01] of 2 killed by SIGKILL; all ranks stopped \(checkpoints are those of the last "
                     r"completed save\)$", err.strip().splitlines()[-1]), err[-2000:]
    assert all(_gone(pid) for pid in ranks)
    for path in run.glob("*.pt"):  # whole: each the last save that completed
        load_checkpoint(path) if path.name != "train_state.pt" else torch.load(path, weights_only=True)
    assert load_checkpoint(run / "last.pt")[1].step >= 1


def _raise_on(rank_to_fail: int, folder: str) -> None:
    if int(os.environ["RANK"]) == rank_to_fail:
        while not any(Path(folder).glob("*.pid")):  # the healthy rank is up
            time.sleep(0.05)
        raise ValueError("bad shard 7")
    (Path(folder) / f"{os.getpid()}.pid").touch()
    time.sleep(3600)  # the healthy rank is stopped, not waited for


@pytest.mark.distributed
def test_an_exception_in_a_rank_names_the_rank_and_the_error(tmp_path):
    start = time.monotonic()
    with pytest.raises(DistributedError, match=r"^rank 1 of 2 failed: ValueError: bad shard 7; all ranks stopped$"):
        launch(2, _raise_on, 1, str(tmp_path))
    assert time.monotonic() - start < 1800  # not the healthy rank's hour: it was stopped
    [healthy] = [int(p.stem) for p in tmp_path.glob("*.pid")]
    assert _gone(healthy)
    assert launch(1, np.add, 2, 3) == 5  # one process runs in place
