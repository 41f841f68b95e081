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

from rlgo.nn.checkpoint import CheckpointError, load_checkpoint
from rlgo.nn.model import GoNet


class TransferError(CheckpointError):
    """A checkpoint whose network cannot start the one asked for."""


def init_from_checkpoint(model: GoNet, path: str | os.PathLike) -> dict:
    """Copy the weights of the checkpoint at `path` into `model` (in place), for any board size.

    The checkpoint's network must be `model`'s but for the board size (same trunk, heads and
    feature set); raises TransferError naming what differs, or which weights depend on the
    board size. Returns the record kept in `model.init_from` (and so in every checkpoint
    saved from it): {"path", "name", "board_size", "step"}.
    """
    path = Path(path)
    source, meta = load_checkpoint(path)
    src, dst = meta.config, model.cfg
    differ = [f.name for f in dataclasses.fields(src)
              if f.name != "board_size" and getattr(src, f.name) != getattr(dst, f.name)]
    if differ:
        found = ", ".join(f"{name} {getattr(src, name)!r} (run: {getattr(dst, name)!r})" for name in differ)
        raise TransferError(f"--init {str(path)!r} holds {src.name} with other {found}; "
                            f"ask for the same network to start from it")
    target = model.state_dict()
    sized = [f"{key} {list(w.shape)} vs {list(target[key].shape)}"
             for key, w in source.state_dict().items() if w.shape != target[key].shape]
    if sized:
        raise TransferError(f"--init {str(path)!r}: {src.name} has weights whose shape depends on the "
                            f"board size ({src.board_size}x{src.board_size} -> "
                            f"{dst.board_size}x{dst.board_size}: {'; '.join(sized)}); it cannot start "
                            f"a network for another size")
    model.load_state_dict(source.state_dict())
    model.init_from = {"path": str(path), "name": src.name, "board_size": src.board_size, "step": meta.step}
    return model.init_from
