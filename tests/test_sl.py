"""Supervised policy training: learns above chance on committed GNU Go games, resumes, CLI smoke."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from cli import main
from rlgo.nn.checkpoint import load_checkpoint
from rlgo.train.common import Cadence, MetricsLogger, OptimConfig, TrainError, lr_at, make_optimizer, optimizer_step
from rlgo.train.data.build import BuildConfig, build_dataset
from rlgo.train.data.reader import ShardReader
from rlgo.train.sl import SLConfig, evaluate, train_sl
from rlgo.nn.model import NetConfig

FIXTURES = Path(__file__).parent / "fixtures" / "gnugo9"
CHANCE = 1 / 82


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds")
    build_dataset(FIXTURES, out, BuildConfig(size=9, val_fraction=0.2, shard_size=10_000))
    return out


def _cfg(data, out, **kw) -> SLConfig:
    base = dict(net=NetConfig(blocks=1, width=16), epochs=4, batch_size=32, device="cpu", threads=1,
                optim=OptimConfig(optimizer="adamw", lr=3e-3, weight_decay=0.0))
    base.update(kw)
    return SLConfig(data=str(data), out=str(out), **base)


def test_learns_well_above_chance_and_resumes(dataset, tmp_path):
    torch.manual_seed(0)
    row = train_sl(_cfg(dataset, tmp_path / "run", epochs=2))
    assert row["epoch"] == 2
    row = train_sl(_cfg(dataset, tmp_path / "run"), resume=True)
    assert row["epoch"] == 4
    model, meta = load_checkpoint(tmp_path / "run" / "last.pt", expect_board_size=9, expect_feature_set="agz")
    reader = ShardReader(dataset, "train")
    assert meta.step == 4 * math.ceil(reader.positions / 32)
    result = evaluate(model, reader, torch.device("cpu"))
    assert result["top1"] > 4 * CHANCE and result["top5"] > 10 * CHANCE
    rows = MetricsLogger.read(tmp_path / "run" / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    assert (tmp_path / "run" / "best.pt").exists()


def test_existing_run_needs_resume_and_same_net(dataset, tmp_path):
    train_sl(_cfg(dataset, tmp_path / "run", epochs=1))
    with pytest.raises(TrainError, match="--resume"):
        train_sl(_cfg(dataset, tmp_path / "run", epochs=1))
    with pytest.raises(TrainError, match="b1c16"):
        train_sl(_cfg(dataset, tmp_path / "run", net=NetConfig(blocks=1, width=8), epochs=2), resume=True)


def test_cli_smoke_and_user_errors(dataset, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "sl", "--data", str(dataset), "--out", str(out), "--blocks", "1", "--width", "8",
                 "--epochs", "1", "--batch-size", "64", "--device", "cpu", "--threads", "1"]) == 0
    printed = capsys.readouterr()
    assert "val top-1" in printed.out and f"rlgo play --agent policy:ckpt={out}/best.pt" in printed.out
    assert "TensorBoard: " in printed.err
    small = ["--blocks", "1", "--width", "8", "--batch-size", "64", "--device", "cpu", "--threads", "1"]
    assert main(["train", "sl", "--data", str(dataset), "--out", str(out), *small]) == 1
    assert f"continue it with --resume {out}" in capsys.readouterr().err
    assert main(["train", "sl", "--data", str(dataset), "--resume", str(out), "--epochs", "2", *small]) == 0
    assert capsys.readouterr().out.startswith(f"{out}: epoch 2,")
    assert main(["train", "sl", "--data", str(tmp_path / "nothing"), "--out", str(out)]) == 1
    assert "not a dataset folder" in capsys.readouterr().err
    sgf_dir = tmp_path / "sgf"
    sgf_dir.mkdir()
    assert main(["dataset", "build", str(sgf_dir), str(tmp_path / "ds")]) == 1


def test_schedules_and_cadence():
    cos = OptimConfig(lr=0.1, warmup=0.1, schedule="cosine", min_lr_ratio=0.0)
    assert lr_at(cos, 0.05) == pytest.approx(0.05)
    assert lr_at(cos, 0.1) == pytest.approx(0.1) and lr_at(cos, 1.0) == pytest.approx(0.0)
    assert lr_at(cos, 0.55) == pytest.approx(0.05)
    step = OptimConfig(lr=1.0, warmup=0.0, schedule="step", step_at=(0.5, 0.75), step_gamma=0.1)
    assert [lr_at(step, p) for p in (0.2, 0.6, 0.9, 2.0)] == pytest.approx([1.0, 0.1, 0.01, 0.01])
    with pytest.raises(TrainError, match="optimizer"):
        OptimConfig(optimizer="lion")
    now = [0.0]
    cadence = Cadence(steps=0, seconds=10.0, clock=lambda: now[0])
    assert not cadence.due(1)
    now[0] = 10.5
    assert cadence.due(2) and not cadence.due(3)


def test_metrics_logger_drops_rows_after_the_resumed_step(tmp_path):
    log = MetricsLogger(tmp_path, "m", tensorboard=False)
    for step in (10, 20, 30):
        log.log(step, loss=1.0 / step)
    log.log(40, loss=0.1, acc=0.5)  # a new column widens the file
    again = MetricsLogger(tmp_path, "m", resume_step=20, tensorboard=False)
    again.log(25, loss=0.2)
    rows = MetricsLogger.read(tmp_path / "m.csv")
    assert [r["step"] for r in rows] == ["10", "20", "25"] and set(rows[0]) == {"step", "loss", "acc"}


@pytest.mark.parametrize("grad_clip", [0.0, 0.5])
def test_optimizer_step_moves_by_the_clipped_gradient(grad_clip):
    """Plain SGD moves the weights by lr * gradient, with the gradient scaled down to grad_clip when set;
    the norm returned is the one before clipping."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    cfg = OptimConfig(lr=0.1, momentum=0.0, weight_decay=0.0, grad_clip=grad_clip)
    optimizer = make_optimizer(model.parameters(), cfg)
    before = torch.cat([p.detach().flatten() for p in model.parameters()])
    (model(torch.randn(8, 4)) * 100).sum().backward()
    grad = torch.cat([p.grad.flatten() for p in model.parameters()])
    norm = optimizer_step(optimizer, model, cfg)
    moved = torch.cat([p.detach().flatten() for p in model.parameters()]) - before
    assert norm == pytest.approx(grad.norm().item(), rel=1e-5) and norm > 1.0
    expected = grad * (grad_clip / norm if grad_clip else 1.0)
    assert torch.allclose(moved, -0.1 * expected, rtol=1e-4, atol=1e-6)


def test_negative_grad_clip_is_refused():
    with pytest.raises(TrainError, match="grad_clip"):
        OptimConfig(grad_clip=-1.0)
