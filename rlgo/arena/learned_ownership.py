"""Ownership from the learned estimator's network (rlgo.train.ownership), for any board size.

The network is fully convolutional, so the weights of the shipped checkpoint (trained on
finished games of several sizes) run on every board size. Torch is imported here only, so
scorers that never use the learned estimator start without it.
"""
from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from rlgo.go import features, symmetry
from rlgo.go.state import BLACK, GameState
from rlgo.nn.checkpoint import CheckpointError, load_checkpoint
from rlgo.nn.model import GoNet, build_model
from rlgo.nn.transfer import init_from_checkpoint

DEFAULT_NET = Path(__file__).resolve().parents[2] / "models" / "ownership_b4c32.pt"
"""The shipped ownership network (in the source checkout's models/)."""


@lru_cache(maxsize=8)
def ownership_net(path: str, size: int) -> GoNet:
    """The ownership network at `path` for `size`x`size` boards (eval mode, cached)."""
    model, meta = load_checkpoint(path)
    if "ownership" not in meta.config.heads:
        raise CheckpointError(f"checkpoint {path!r} has no ownership head (heads: {', '.join(meta.config.heads)})")
    if size != meta.board_size:
        model = build_model(dataclasses.replace(meta.config, board_size=size))
        init_from_checkpoint(model, path)
    return model.eval()


def learned_ownership(state: GameState, path: str | Path = DEFAULT_NET) -> np.ndarray:
    """float64 [N, N]: black-positive ownership in [-1, 1], the mean over the 8 symmetries."""
    net = ownership_net(str(path), state.size)
    planes = features.encode(state, net.cfg.feature_set)
    batch = np.stack([symmetry.apply_planes(planes, k) for k in range(symmetry.NUM_SYMMETRIES)])
    with torch.inference_mode():
        out = net(torch.from_numpy(batch))["ownership"].double().numpy()
    n = state.size
    boards = [symmetry.apply_planes(out[k].reshape(n, n), symmetry.invert(k)) for k in range(len(out))]
    sign = 1.0 if state.to_play == BLACK else -1.0
    return sign * np.mean(boards, axis=0)
