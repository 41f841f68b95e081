"""Normalization layers for board feature maps, selected by name.

Every layer maps [B, C, N, N] -> [B, C, N, N] and works for any board size N.
"""

from __future__ import annotations

import math

from torch import nn

NORMS = ("batch", "layer", "instance", "group", "none")
"""Valid names for `make_norm`."""

GROUP_NORM_GROUPS = 8
"""Groups used by "group" norm (reduced to gcd(channels, 8) so any width works)."""


class NormError(ValueError):
    """Unknown normalization name."""


def make_norm(name: str, channels: int) -> nn.Module:
    """Build a normalization layer for [B, C, N, N] maps with C = `channels`.

    "batch": BatchNorm2d (statistics over B, N, N per channel).
    "layer": GroupNorm(1, C): statistics over C, N, N per sample, per-channel affine, so
        unlike nn.LayerNorm([C, N, N]) the parameters do not depend on the board size.
    "instance": InstanceNorm2d with affine (statistics over N, N per sample and channel).
    "group": GroupNorm(gcd(C, 8), C).
    "none": identity.
    """
    if name == "batch":
        return nn.BatchNorm2d(channels)
    if name == "layer":
        return nn.GroupNorm(1, channels)
    if name == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if name == "group":
        return nn.GroupNorm(math.gcd(channels, GROUP_NORM_GROUPS), channels)
    if name == "none":
        return nn.Identity()
    raise NormError(f"unknown norm {name!r}; valid norms: {', '.join(NORMS)}")
