"""The learned dead-stone estimator: a small fully convolutional net trained on the final
ownership of finished games.

A sample is a position from the last `last_positions` of a finished game (planes for the
side to move) and the game's final ownership from that side's view: +1 / -1 where the side
to move / the opponent owns the point once the dead stones are removed, 0 for dame. The net
is a resnet trunk with only the ownership head, so one set of weights serves every board
size; batches of several sizes are trained in turn (random dihedral symmetry per batch).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from rlgo.go import features
from rlgo.go.state import BLACK, GameState
from rlgo.nn.model import GoNet, NetConfig, build_model
from rlgo.train.common import TrainError


@dataclass(frozen=True)
class OwnershipConfig:
    """A training run of the ownership net."""

    blocks: int = 4
    """Trunk blocks."""
    width: int = 32
    """Trunk channels."""
    feature_set: str = "agz"
    """Input planes (rlgo.go.features)."""
    last_positions: int = 8
    """Positions per game, counted back from the final one, that become samples."""
    steps: int = 1500
    """Optimizer steps."""
    batch_size: int = 64
    """Positions per step (all of one board size)."""
    lr: float = 2e-3
    """AdamW learning rate (cosine decay to 0)."""
    seed: int = 0
    """Seed of weights and batch order."""


def net_config(cfg: OwnershipConfig, size: int) -> NetConfig:
    """The ownership-only network of `cfg` for `size`x`size` boards."""
    return NetConfig(backbone="resnet", width=cfg.width, blocks=cfg.blocks, board_size=size, head_width=16,
                     in_planes=features.feature_planes(cfg.feature_set), feature_set=cfg.feature_set,
                     feature_version=features.feature_version(cfg.feature_set), heads=("ownership",))


def game_samples(states: list[GameState], dead: list[int], feature_set: str) -> tuple[np.ndarray, np.ndarray]:
    """(planes float32 [P, C, N, N], targets float32 [P, N*N]) of positions of one finished game.

    `states`: positions of the game (the final one last); `dead`: the dead stones of the
    final position. Targets are the final ownership from each position's side to move.
    """
    final = states[-1].ownership(dead).reshape(-1).astype(np.float32)
    black_view = np.where(final == BLACK, 1.0, np.where(final == 0, 0.0, -1.0)).astype(np.float32)
    planes = np.stack([features.encode(s, feature_set) for s in states])
    signs = np.array([1.0 if s.to_play == BLACK else -1.0 for s in states], dtype=np.float32)
    return planes, signs[:, None] * black_view[None, :]


def _shared(base: GoNet, size: int) -> GoNet:
    """A GoNet for `size` that shares every parameter with `base`."""
    net = GoNet(dataclasses.replace(base.cfg, board_size=size))
    net.trunk, net.heads = base.trunk, base.heads
    return net


def _symmetry(x: torch.Tensor, y: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Dihedral transform k of planes [B, C, N, N] and targets [B, N*N] together."""
    n = x.shape[-1]
    board = y.reshape(-1, 1, n, n)
    if k >= 4:
        x, board = x.flip(-1), board.flip(-1)
    return x.rot90(k % 4, (-2, -1)), board.rot90(k % 4, (-2, -1)).reshape(-1, n * n)


def train_ownership(data: dict[int, tuple[np.ndarray, np.ndarray]], cfg: OwnershipConfig) -> tuple[GoNet, dict]:
    """Train on {size: (planes, targets)}; returns (the net for the first size, eval mode; metrics).

    Metrics: final training MSE and, per size, the share of points whose sign is right.
    """
    sizes = sorted(size for size, (x, _) in data.items() if len(x))
    if not sizes:
        raise TrainError("no ownership samples to train on")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    base = build_model(net_config(cfg, sizes[0]))
    nets = {size: base if size == sizes[0] else _shared(base, size) for size in sizes}
    weights = np.array([len(data[s][0]) for s in sizes], dtype=np.float64)
    optimizer = torch.optim.AdamW(base.parameters(), lr=cfg.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, cfg.steps)
    base.train()
    losses = []
    for _ in range(cfg.steps):
        size = sizes[rng.choice(len(sizes), p=weights / weights.sum())]
        planes, targets = data[size]
        pick = rng.integers(0, len(planes), min(cfg.batch_size, len(planes)))
        x, y = _symmetry(torch.from_numpy(planes[pick]), torch.from_numpy(targets[pick]), int(rng.integers(8)))
        loss = F.mse_loss(nets[size](x)["ownership"], y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    base.eval()
    metrics = {"train_mse": float(np.mean(losses[-100:]))}
    with torch.inference_mode():
        for size in sizes:
            planes, targets = data[size]
            pred = nets[size](torch.from_numpy(planes))["ownership"].numpy()
            owned = targets != 0
            metrics[f"sign_acc_{size}"] = float(np.mean(np.sign(pred[owned]) == targets[owned]))
    return base, metrics
