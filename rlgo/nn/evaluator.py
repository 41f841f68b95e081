"""The search's evaluator backed by a torch network: numpy planes in, priors and values out."""

from __future__ import annotations

import numpy as np
import torch

from rlgo.go.symmetry import NUM_SYMMETRIES, apply_planes, invert_policy
from rlgo.nn.heads import mask_illegal
from rlgo.nn.model import GoNet


def resolve_device(device: str | torch.device) -> torch.device:
    """"auto" -> cuda when available, else cpu; anything else as torch.device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class TorchEvaluator:
    """Evaluate batches of positions with `model` (put in eval mode and moved to `device`).

    __call__(planes float32 [B, C, N, N], legal bool [B, N*N+1]) -> (priors float32
    [B, N*N+1], softmax over legal moves only, exactly 0 on illegal ones; values float32
    [B] in [-1, 1]), both for the side to move. With `symmetries` every position is also
    evaluated in its 7 other dihedral orientations (one batch of 8B) and the priors and
    values are averaged after mapping back to the original orientation.
    """

    def __init__(self, model: GoNet, device: str | torch.device = "cpu", symmetries: bool = False):
        missing = {"policy", "value"} - set(model.cfg.heads)
        if missing:
            raise ValueError(f"{model.name} lacks heads {sorted(missing)} needed by an evaluator")
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.board_size = model.cfg.board_size
        self.symmetries = symmetries

    @torch.inference_mode()
    def _forward(self, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unmasked policy logits [B, N*N+1] and values [B] as numpy."""
        out = self.model(torch.from_numpy(planes).to(self.device))
        return out["policy"].float().cpu().numpy(), out["value"].float().cpu().numpy()

    def __call__(self, planes: np.ndarray, legal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = self.board_size
        planes = np.ascontiguousarray(planes, dtype=np.float32)
        legal = np.asarray(legal, dtype=bool)
        if legal.shape != (planes.shape[0], n * n + 1):
            raise ValueError(f"legal must be [B, {n * n + 1}] for planes {list(planes.shape)}, "
                             f"got {list(legal.shape)}")
        if not legal.any(axis=1).all():
            raise ValueError("every position needs at least one legal move (pass is always legal)")
        if self.symmetries:
            batch = np.concatenate([apply_planes(planes, k) for k in range(NUM_SYMMETRIES)])
            logits, values = self._forward(batch)
            logits = np.stack([invert_policy(part, k, n)
                               for k, part in enumerate(np.split(logits, NUM_SYMMETRIES))])
            values = values.reshape(NUM_SYMMETRIES, -1).mean(axis=0)
        else:
            logits, values = self._forward(planes)
            logits = logits[None]
        priors = torch.softmax(mask_illegal(torch.from_numpy(logits), torch.from_numpy(legal)), dim=-1)
        return priors.mean(dim=0).numpy().astype(np.float32), values.astype(np.float32)
