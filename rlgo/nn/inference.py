"""A network as a move sampler or a value function outside the search: batched numpy in, numpy out.

(The search's evaluator is rlgo.nn.evaluator.TorchEvaluator.) Used by the policy and AlphaGo
agents and by rlgo/train (policy-gradient games, value data and training).
"""
from __future__ import annotations

import numpy as np
import torch

from rlgo.nn.checkpoint import CheckpointError, load_checkpoint
from rlgo.nn.model import GoNet


class PolicyNet:
    """A policy network (put in eval mode) as a batch move sampler: planes of its feature set in,
    log-probabilities out."""

    def __init__(self, model: GoNet, device: str | torch.device = "cpu"):
        if "policy" not in model.cfg.heads:
            raise ValueError(f"{model.name} has no policy head (heads: {list(model.cfg.heads)})")
        self.model = model.eval()
        self.device = torch.device(device)
        self.feature_set = model.cfg.feature_set
        self.board_size = model.cfg.board_size

    @torch.inference_mode()
    def log_probs(self, planes: np.ndarray, legal: np.ndarray) -> np.ndarray:
        """float32 [B, N*N+1]: log pi(move) over the legal moves (very negative on illegal ones)."""
        x = torch.from_numpy(planes).to(self.device)
        logits = self.model(x, torch.from_numpy(legal).to(self.device))["policy"].float()
        return torch.log_softmax(logits, dim=-1).cpu().numpy()


def load_policy(path, device: str | torch.device = "cpu", board_size: int | None = None,
                feature_set: str | None = None, backend: str = "torch") -> PolicyNet:
    """A checkpoint's policy network run by `backend` (rlgo.nn.backend); CheckpointError if it is
    missing, for another board size or feature set (None: any), or without a policy head."""
    model, _ = load_checkpoint(path, board_size, feature_set, map_location=device, backend=backend)
    if "policy" not in model.cfg.heads:
        raise CheckpointError(f"checkpoint {str(path)!r} has no policy head (heads: {list(model.cfg.heads)})")
    return PolicyNet(model, device)


def sample_moves(log_probs: np.ndarray, legal: np.ndarray, rng: np.random.Generator,
                 temperature: float = 1.0) -> np.ndarray:
    """int64 [B]: one legal move per row, drawn from pi^(1/T) (Gumbel-max), or the argmax when T = 0."""
    scores = np.where(legal, log_probs.astype(np.float64), -np.inf)
    if temperature > 0:
        scores = scores / temperature + rng.gumbel(size=scores.shape)
    return scores.argmax(axis=1)


@torch.inference_mode()
def predict_values(model: GoNet, planes: np.ndarray, device: str | torch.device = "cpu",
                   chunk: int = 1024) -> np.ndarray:
    """float32 [B]: the value head on planes float32 [B, C, N, N] (side to move); leaves the model in eval mode."""
    if model.training:
        model.eval()
    out = [model(torch.from_numpy(planes[s:s + chunk]).to(device))["value"].float().cpu().numpy()
           for s in range(0, len(planes), chunk)]
    return np.concatenate(out) if out else np.zeros(0, np.float32)
