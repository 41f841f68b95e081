"""Model parallelism (rlgo.train.pipeline): two gloo processes, one trunk stage each, give the outputs,
gradients and weights of the unsplit network trained on the same micro-batches; `train sl --pipeline 2`
writes whole checkpoints equal to one process's gradient accumulation, and resumes with 1 or 2 ranks."""
from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import cli
from rlgo.nn.checkpoint import load_archive, load_checkpoint
from rlgo.nn.model import NetConfig, build_model
from rlgo.train.common import MetricsLogger, OptimConfig, TrainError, make_optimizer
from rlgo.train.data.build import BuildConfig, build_dataset
from rlgo.train.data.reader import ShardReader
from rlgo.train.distributed import launch, replica
from rlgo.train.pipeline import PipelineTrainer, micro_batches, split_stages
from rlgo.train.sl import SLConfig, net_config, train_sl

CFG = NetConfig(width=8, blocks=3, board_size=5, in_planes=17, head_width=4, head_hidden=8)
OPTIM = OptimConfig(lr=0.1, warmup=0.0, schedule="constant")
BATCH, MICRO, STEPS = 12, 3, 2


def _loss(out: dict[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out["policy"], target[:, 0].long()) + F.mse_loss(out["value"], target[:, 1])


def _batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(step)
    planes = (torch.rand(BATCH, 17, 5, 5, generator=gen) < 0.3).float()
    target = torch.stack([torch.randint(26, (BATCH,), generator=gen).float(),
                          torch.rand(BATCH, generator=gen) * 2 - 1], dim=1)
    return planes, target


def test_stages_chain_to_the_unsplit_network():
    torch.manual_seed(0)
    model = build_model(CFG).eval()
    x = _batch(0)[0]
    for n in (1, 2, 3, 5):
        stages = split_stages(model, n)
        assert len(stages) == n and all(len(list(s.parameters())) > 0 for s in stages)
        assert sum(p.numel() for s in stages for p in s.parameters()) == sum(p.numel() for p in model.parameters())
        h = x
        for s in stages:
            h = s(h)
        whole = model(x)
        torch.testing.assert_close(dict(zip(CFG.heads, h)), whole)
    with pytest.raises(TrainError, match="cannot be split into 9 stages"):
        split_stages(model, 9)
    with pytest.raises(TrainError, match="no sequential blocks"):
        split_stages(build_model(NetConfig(backbone="transformer", width=8, blocks=1, board_size=5)), 2)


def _reference(model, planes, target):
    """Gradient accumulation over the micro-batches on the unsplit network: what GPipe must equal."""
    outs = []
    for x, y in zip(planes.tensor_split(MICRO), target.tensor_split(MICRO)):
        out = model(x)
        (_loss(out, y) / MICRO).backward()
        outs.append(out)
    return {k: torch.cat([o[k] for o in outs]).detach() for k in CFG.heads}


def _rank() -> None:
    with replica("cpu", threads=1) as rep:
        torch.manual_seed(0)
        model = build_model(CFG).train()
        ref = copy.deepcopy(model)
        ref_opt = make_optimizer(ref.parameters(), OPTIM)
        trainer = PipelineTrainer(model, rep, OPTIM, MICRO, _loss)
        mine = {id(p) for p in trainer.stage.parameters()}
        for step in range(STEPS):
            planes, target = _batch(step)
            ref_opt.zero_grad()
            expected = _reference(ref, planes, target)
            out = trainer.step(planes if rep.rank == 0 else None, target if trainer.last else None, BATCH)
            if trainer.last:
                torch.testing.assert_close({k: v.detach() for k, v in out.items()}, expected)
            reference = dict(ref.named_parameters())
            for name, p in model.named_parameters():
                if id(p) in mine:
                    torch.testing.assert_close(p.grad, reference[name].grad, msg=name)
            ref_opt.step()
        owned = {n.rsplit(".", 1)[0] for n, p in model.named_parameters() if id(p) in mine}
        expected_state = ref.state_dict()
        for name, tensor in model.state_dict().items():  # weights and batch-norm statistics of this rank's blocks
            if name.rsplit(".", 1)[0] in owned:
                torch.testing.assert_close(tensor, expected_state[name], msg=name)


@pytest.mark.distributed
def test_two_stage_gpipe_matches_the_unsplit_network():
    launch(2, _rank)


@given(st.integers(1, 500), st.integers(1, 9))
def test_micro_batches_are_the_largest_equal_cut(batch, most):
    m = micro_batches(batch, most)
    assert 1 <= m <= most and batch % m == 0
    assert not any(batch % k == 0 for k in range(m + 1, min(most, batch) + 1))


FIXTURES = Path(__file__).parent / "fixtures" / "gnugo9"
SL_FLAGS = ["--blocks", "2", "--width", "8", "--batch-size", "50", "--micro-batches", "4", "--device", "cpu",
            "--threads", "1", "--optimizer", "adamw", "--lr", "0.003", "--weight-decay", "0", "--warmup", "0",
            "--schedule", "constant"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds")
    build_dataset(FIXTURES, out, BuildConfig(size=9, val_fraction=0.2, shard_size=10_000))
    return out


def _sl(data: Path, out: Path, epochs: int, pipeline: int) -> SLConfig:
    return SLConfig(data=str(data), out=str(out), net=NetConfig(blocks=2, width=8), epochs=epochs, batch_size=50,
                    micro_batches=4, device="cpu", threads=1, pipeline=pipeline,
                    optim=OptimConfig(optimizer="adamw", lr=3e-3, weight_decay=0.0, warmup=0.0, schedule="constant"))


def _accumulated(cfg: SLConfig, micro_epochs: tuple[bool, ...]) -> tuple[dict, dict]:
    """One process, by hand: the run's batches, each epoch either cut into micro-batches whose mean loss
    makes the step (what a pipeline step equals) or taken whole (a 1-process run's step)."""
    reader = ShardReader(cfg.data, "train")
    torch.manual_seed(cfg.seed)
    model = build_model(net_config(cfg, reader.size)).train()
    optimizer = make_optimizer(model.parameters(), cfg.optim)
    for epoch, micro in enumerate(micro_epochs):
        for batch in reader.batches(cfg.batch_size, np.random.default_rng([cfg.seed, epoch]), cfg.symmetries):
            x, moves, z = (torch.from_numpy(a) for a in (batch.planes, batch.moves, batch.outcomes))
            m = micro_batches(len(moves), cfg.micro_batches) if micro else 1
            optimizer.zero_grad()
            for xs, ms, zs in zip(x.tensor_split(m), moves.tensor_split(m), z.tensor_split(m)):
                out = model(xs)
                ((F.cross_entropy(out["policy"], ms) + cfg.value_weight * F.mse_loss(out["value"], zs)) / m).backward()
            optimizer.step()
    return model.state_dict(), optimizer.state_dict()


def _equal(run: Path, expected: tuple[dict, dict]) -> None:
    """The run's last.pt (batch-norm running statistics included) and optimizer state are the reference's."""
    weights = load_checkpoint(run / "last.pt", expect_board_size=9)[0].state_dict()  # the safe loader
    optimizer = load_archive(run / "train_state.pt", "training state")["optimizer"]
    assert weights.keys() == expected[0].keys() and optimizer["state"].keys() == expected[1]["state"].keys()
    for k in weights:
        torch.testing.assert_close(weights[k], expected[0][k], rtol=1e-4, atol=1e-5, msg=k)
    for i, state in optimizer["state"].items():
        torch.testing.assert_close(state, expected[1]["state"][i], rtol=1e-4, atol=1e-6, msg=f"optimizer {i}")


@pytest.mark.distributed
def test_train_sl_pipeline_writes_whole_checkpoints_and_resumes_with_any_ranks(dataset, tmp_path, capsys):
    run = tmp_path / "pipe"  # batches of 50 in 2 micro-batches of 25; the epoch's last, shorter one cut as it divides
    assert cli.main(["train", "sl", "--data", str(dataset), "--out", str(run), "--epochs", "1", "--pipeline", "2",
                     *SL_FLAGS]) == 0
    assert "val top-1" in capsys.readouterr().out
    _equal(run, _accumulated(_sl(dataset, run, 1, 2), (True,)))
    rows = MetricsLogger.read(run / "metrics.csv")
    assert [r["epoch"] for r in rows] == ["1"] and np.isfinite(float(rows[0]["train_loss"]))
    assert (run / "best.pt").exists()

    shutil.copytree(run, tmp_path / "pipe-then-pipe")
    train_sl(_sl(dataset, run, 2, 1), resume=True)  # the whole optimizer state was gathered: one process goes on
    _equal(run, _accumulated(_sl(dataset, run, 2, 1), (True, False)))
    launch(2, train_sl, _sl(dataset, tmp_path / "pipe-then-pipe", 2, 2), True)
    _equal(tmp_path / "pipe-then-pipe", _accumulated(_sl(dataset, run, 2, 2), (True, True)))


def test_pipeline_and_ddp_together_are_refused(dataset, tmp_path, capsys):
    assert cli.main(["train", "sl", "--data", str(dataset), "--out", str(tmp_path / "run"), "--pipeline", "2",
                     "--ddp", "2", *SL_FLAGS]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "rlgo train sl: error: --pipeline 2 and --ddp 2 cannot be combined: choose model or data parallelism"]
    assert not (tmp_path / "run").exists()
