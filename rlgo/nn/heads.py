"""Output heads on a trunk [B, C, N, N]. All are board-size independent (convs + pooling).

Every output is from the point of view of the side to move.
"""

from __future__ import annotations

import torch
from torch import nn

from rlgo.nn.vision import ConvNormAct, global_pool

HEADS = ("policy", "value", "ownership", "score")
"""Valid head names."""


def mask_illegal(logits: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """Set the logits of illegal moves to the most negative finite value of their dtype.

    logits [B, N*N+1], legal bool [B, N*N+1]. A finite value (not -inf) keeps softmax free
    of NaN even for a row with no legal move; exp() of it underflows to exactly 0.
    """
    return logits.masked_fill(~legal, torch.finfo(logits.dtype).min)


class PolicyHead(nn.Module):
    """Move logits [B, N*N+1], last = pass: a 1x1 conv per point, pass from global pooling."""

    def __init__(self, channels: int, head_width: int, norm: str):
        super().__init__()
        self.features = ConvNormAct(channels, head_width, 1, norm)
        self.point = nn.Conv2d(head_width, 1, 1)
        self.pass_move = nn.Linear(3 * head_width, 1)

    def forward(self, trunk: torch.Tensor, legal: torch.Tensor | None = None) -> torch.Tensor:
        """trunk [B, C, N, N], optional legal bool [B, N*N+1] -> logits, illegal masked."""
        h = self.features(trunk)
        logits = torch.cat([self.point(h).flatten(1), self.pass_move(global_pool(h))], dim=1)
        return logits if legal is None else mask_illegal(logits, legal)


class ScalarHead(nn.Module):
    """Pooled MLP to one number per position [B]: tanh-squashed (value in [-1, 1]) or raw
    (score lead in points)."""

    def __init__(self, channels: int, head_width: int, hidden: int, norm: str, squash: bool):
        super().__init__()
        self.features = ConvNormAct(channels, head_width, 1, norm)
        self.mlp = nn.Sequential(nn.Linear(3 * head_width, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.squash = squash

    def forward(self, trunk: torch.Tensor) -> torch.Tensor:
        out = self.mlp(global_pool(self.features(trunk))).squeeze(1)
        return torch.tanh(out) if self.squash else out


def ownership_head(channels: int, head_width: int, norm: str) -> nn.Sequential:
    """Final ownership per point [B, N*N] in [-1, 1]; +1 = the side to move owns it."""
    return nn.Sequential(ConvNormAct(channels, head_width, 1, norm), nn.Conv2d(head_width, 1, 1),
                         nn.Flatten(), nn.Tanh())


def make_head(name: str, channels: int, head_width: int, hidden: int, norm: str) -> nn.Module:
    """Head by name (one of HEADS) on a trunk with `channels` channels."""
    if name == "policy":
        return PolicyHead(channels, head_width, norm)
    if name in ("value", "score"):
        return ScalarHead(channels, head_width, hidden, norm, squash=name == "value")
    if name == "ownership":
        return ownership_head(channels, head_width, norm)
    raise ValueError(f"unknown head {name!r}; valid heads: {', '.join(HEADS)}")
