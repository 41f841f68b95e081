"""Start a network from a checkpoint of another board size (transfer across board sizes).

The conv trunks and every head are fully convolutional or globally pooled, so their weights
do not depend on the board size: a 9x9 network can start a 13x13 or 19x19 one. Weights whose
shape does depend on it (the transformer's learned position per point) cannot move, and
`init_from_checkpoint` refuses such a network with a message naming them.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch

from rlgo.go import features
from rlgo.nn.checkpoint import CheckpointError, load_checkpoint
from rlgo.nn.model import GoNet, NetConfig


class TransferError(CheckpointError):
    """A checkpoint whose network cannot start the one asked for."""


FRESH_HEADS = ("ownership", "score")
"""Heads a network may have that its start checkpoint lacks (KataGo's auxiliary heads); they start fresh."""


def _differences(src: NetConfig, dst: NetConfig) -> list[str]:
    """Config fields of `src` that keep it from starting `dst` (see init_from_checkpoint)."""
    free = {"board_size"}
    if set(src.heads) <= set(dst.heads) and set(dst.heads) - set(src.heads) <= set(FRESH_HEADS):
        free.add("heads")
    if features.extends(dst.feature_set, src.feature_set) and (
            src.feature_set != dst.feature_set or src.feature_version == dst.feature_version):
        free |= {"feature_set", "feature_version", "in_planes"}
    return [f.name for f in dataclasses.fields(src) if f.name not in free and getattr(src, f.name) != getattr(dst, f.name)]


def _widened(w: torch.Tensor, target: torch.Tensor, old: int, new: int) -> torch.Tensor:
    """The input layer's weight [C_out, old, ...] padded with zeros to [C_out, new, ...]; others as they are."""
    if (old != new and w.dim() > 1 and w.shape[1] == old and target.shape[1] == new
            and w.shape[:1] + w.shape[2:] == target.shape[:1] + target.shape[2:]):
        return torch.cat([w, w.new_zeros((w.shape[0], new - old, *w.shape[2:]))], dim=1)
    return w


def init_from_checkpoint(model: GoNet, path: str | os.PathLike) -> dict:
    """Copy the weights of the checkpoint at `path` into `model` (in place), for any board size.

    The checkpoint's network must be `model`'s but for the board size, the auxiliary heads
    (FRESH_HEADS: ownership, score) it may lack, which keep their fresh initialisation, and
    the feature set, which may be one whose planes are the first of `model`'s
    (rlgo.go.features.extends, e.g. agz -> extended): the input layer is then widened with
    zero weights for the new planes, so the network computes what it did. Raises
    TransferError naming what differs, or which weights depend on the board size. Returns
    the record kept in `model.init_from` (and so in every checkpoint saved from it):
    {"path", "name", "board_size", "step"}.
    """
    path = Path(path)
    source, meta = load_checkpoint(path)
    src, dst = meta.config, model.cfg
    differ = _differences(src, dst)
    if differ:
        found = ", ".join(f"{name} {getattr(src, name)!r} (run: {getattr(dst, name)!r})" for name in differ)
        raise TransferError(f"--init {str(path)!r} holds {src.name} with other {found}; "
                            f"ask for the same network to start from it")
    target = model.state_dict()
    weights = {k: _widened(w, target[k], src.in_planes, dst.in_planes) for k, w in source.state_dict().items()}
    sized = [f"{key} {list(w.shape)} vs {list(target[key].shape)}"
             for key, w in weights.items() if w.shape != target[key].shape]
    if sized:
        raise TransferError(f"--init {str(path)!r}: {src.name} has weights whose shape depends on the "
                            f"board size ({src.board_size}x{src.board_size} -> "
                            f"{dst.board_size}x{dst.board_size}: {'; '.join(sized)}); it cannot start "
                            f"a network for another size")
    model.load_state_dict({**target, **weights})
    model.init_from = {"path": str(path), "name": src.name, "board_size": src.board_size, "step": meta.step}
    return model.init_from
