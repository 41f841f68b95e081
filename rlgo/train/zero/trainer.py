"""The network under training: AlphaGo Zero loss, optimizer steps on replay samples, saved state."""
from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F

from rlgo.nn.model import GoNet
from rlgo.train.common import (OptimConfig, load_training_state, lr_at, make_optimizer, optimizer_step,
                               save_training_state, set_lr)
from rlgo.train.distributed import Replica
from rlgo.train.zero.buffer import ReplayBuffer, ZeroBatch

LOSS_NAMES = ("loss", "policy_loss", "value_loss", "ownership_loss", "score_loss")


def zero_loss(out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], value_weight: float,
              aux_weight: float, size: int) -> dict[str, torch.Tensor]:
    """Policy cross-entropy vs visit distributions + value_weight * value MSE (+ auxiliary losses).

    Auxiliary (when the net has the heads): ownership MSE per point and a Huber loss on the
    score in units of N points, both only on positions of games that were counted.
    L2 regularisation is the optimizer's weight decay.
    """
    policy = -(batch["policy"] * F.log_softmax(out["policy"], dim=1)).sum(dim=1).mean()
    value = F.mse_loss(out["value"], batch["value"])
    parts = {"policy_loss": policy, "value_loss": value}
    total = policy + value_weight * value
    if "ownership" in out and "score" in out:
        scored, denom = batch["scored"], batch["scored"].sum().clamp(min=1.0)
        own = (((out["ownership"] - batch["ownership"]) ** 2).mean(dim=1) * scored).sum() / denom
        score = (F.smooth_l1_loss(out["score"] / size, batch["score"] / size, reduction="none") * scored).sum() / denom
        parts.update(ownership_loss=own, score_loss=score)
        total = total + aux_weight * (own + score)
    parts["loss"] = total
    return parts


class Trainer:
    """Continues training one network across generations (AlphaGo Zero trains the latest net, gated or not).

    With a `replica` of a distributed job it trains its share of each batch (rlgo.train.distributed).
    """

    def __init__(self, model: GoNet, optim: OptimConfig, total_steps: int, device: torch.device,
                 value_weight: float = 1.0, aux_weight: float = 0.5, step: int = 0, replica: Replica | None = None):
        self.replica = replica or Replica(device=device)
        self.model = model.to(self.replica.device).train()
        self.net = self.replica.wrap(self.model)
        self.optim_cfg, self.total_steps, self.device = optim, total_steps, self.replica.device
        self.value_weight, self.aux_weight = value_weight, aux_weight
        self.optimizer = make_optimizer(self.model.parameters(), optim)
        self.step = step

    def _tensors(self, batch: ZeroBatch) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(v).to(self.device) for k, v in batch._asdict().items()}

    def train_step(self, batch: ZeroBatch) -> dict[str, float]:
        """One optimizer step on a batch; returns its losses and the gradient norm before clipping."""
        set_lr(self.optimizer, lr_at(self.optim_cfg, self.step / self.total_steps))
        t = self._tensors(batch)
        parts = zero_loss(self.net(t["planes"]), t, self.value_weight, self.aux_weight, self.model.cfg.board_size)
        self.optimizer.zero_grad(set_to_none=True)
        self.replica.scaled(parts["loss"], len(batch.planes)).backward()
        grad_norm = optimizer_step(self.optimizer, self.model, self.optim_cfg)
        self.step += 1
        return {**{k: float(v.detach()) for k, v in parts.items()}, "grad_norm": grad_norm}

    def train(self, buffer: ReplayBuffer, steps: int, batch_size: int, rng: np.random.Generator,
              on_step=None) -> dict[str, float]:
        """`steps` steps on uniform samples of the buffer window; returns the mean losses."""
        sums: dict[str, float] = {}
        for i in range(steps):
            losses = self.train_step(buffer.sample(batch_size, rng, part=self.replica.part))
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v
            if on_step is not None:
                on_step(i + 1, losses)
        return {k: v / max(steps, 1) for k, v in sums.items()}

    def save(self, path: str | os.PathLike, generation: int) -> None:
        """Optimizer state, step and the generation whose checkpoint holds the weights (atomically)."""
        save_training_state(path, self.optimizer, step=self.step, generation=generation)

    def load(self, path: str | os.PathLike) -> int:
        """Restore the optimizer and step; returns the generation whose weights belong to it."""
        extra = load_training_state(path, self.optimizer)
        self.step = int(extra["step"])
        return int(extra["generation"])
