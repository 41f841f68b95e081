"""Model parallelism (rlgo.train.pipeline): two gloo processes, one trunk stage each, give the outputs,
gradients and weights of the unsplit network trained on the same micro-batches."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from rlgo.nn.model import NetConfig, build_model
from rlgo.train.common import OptimConfig, TrainError, make_optimizer
from rlgo.train.distributed import launch, replica
from rlgo.train.pipeline import PipelineTrainer, split_stages

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
        trainer = PipelineTrainer(model, rep, OPTIM, BATCH, MICRO, _loss)
        mine = {id(p) for p in trainer.stage.parameters()}
        for step in range(STEPS):
            planes, target = _batch(step)
            ref_opt.zero_grad()
            expected = _reference(ref, planes, target)
            out = trainer.step(planes if rep.rank == 0 else None, target if trainer.last else None)
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
