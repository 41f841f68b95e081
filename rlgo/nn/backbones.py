"""Network trunks by name: input planes [B, in_planes, N, N] -> trunk [B, width, N, N].

Every trunk keeps the board resolution. The conv trunks are a 3x3 conv stem, `blocks`
blocks, and (except post-activation ResNets, whose blocks end in ReLU) a final
norm + ReLU so the heads always see normalized, rectified features.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import nn

from rlgo.nn.norm import make_norm
from rlgo.nn.sequence import Bidirectional, BoardPositionEmbedding, Seq2Seq, make_rnn, transformer_block
from rlgo.nn.vision import (ConvNormAct, DenseBlock, Inception, Residual, bottleneck_block,
                            inverted_residual, residual_block, transition)

if TYPE_CHECKING:
    from rlgo.nn.model import NetConfig


def _norm_relu(cfg: NetConfig) -> list[nn.Module]:
    return [make_norm(cfg.norm, cfg.width), nn.ReLU()]


def _conv_trunk(cfg: NetConfig, blocks: list[nn.Module], tip: bool = True) -> nn.Sequential:
    """Stem conv, the blocks, then norm + ReLU when `tip`."""
    stem = ConvNormAct(cfg.in_planes, cfg.width, 3, cfg.norm)
    return nn.Sequential(stem, *blocks, *(_norm_relu(cfg) if tip else []))


def _resnet_blocks(cfg: NetConfig, dilations: list[int] | None = None) -> list[nn.Module]:
    """`blocks` residual (or bottleneck) blocks, block i with dilation `dilations[i]` (default
    1); every `global_pool_every`-th has a pooling bias."""
    block = bottleneck_block if cfg.bottleneck else residual_block
    every = cfg.global_pool_every
    return [block(cfg.width, cfg.norm, cfg.pre_activation, cfg.se,
                  global_pool_bias=every > 0 and (i + 1) % every == 0,
                  dilation=dilations[i] if dilations else 1)
            for i in range(cfg.blocks)]


def resnet(cfg: NetConfig) -> nn.Module:
    """AlphaGo Zero / KataGo residual tower (options: pre_activation, bottleneck, se, global_pool_every)."""
    return _conv_trunk(cfg, _resnet_blocks(cfg), tip=cfg.pre_activation)


def block_dilations(cfg: NetConfig) -> list[int]:
    """Dilation of each block's 3x3 convs: 1 for resnet, 1, 2, 4, ... cycling for dilated."""
    if cfg.backbone == "dilated":
        return [2 ** (i % cfg.dilation_cycle) for i in range(cfg.blocks)]
    return [1] * cfg.blocks


def receptive_radius(cfg: NetConfig) -> list[int]:
    """Receptive-field radius (Chebyshev, in points) of a resnet or dilated trunk after the
    stem and after each block, [blocks + 1]: an output point sees the inputs at most this far.

    The stem's 3x3 conv sees radius 1; a block adds its dilation once per 3x3 conv. Global
    pooling (global_pool_every, se) makes the field the whole board; it is not counted here.
    """
    per_conv = 1 if cfg.bottleneck else 2
    radius = [1]
    for d in block_dilations(cfg):
        radius.append(radius[-1] + per_conv * d)
    return radius


def dilated(cfg: NetConfig) -> nn.Module:
    """WaveNet-style residual tower: block i's 3x3 convs have dilation 2**(i % dilation_cycle),
    so the receptive field grows geometrically within a cycle (resnet options apply)."""
    return _conv_trunk(cfg, _resnet_blocks(cfg, block_dilations(cfg)), tip=cfg.pre_activation)


def densenet(cfg: NetConfig) -> nn.Module:
    """`blocks` dense blocks of `dense_layers` layers (growth `growth`), each followed by a
    transition back to `width` channels."""
    blocks: list[nn.Module] = []
    for _ in range(cfg.blocks):
        dense = DenseBlock(cfg.width, cfg.dense_layers, cfg.growth, cfg.norm)
        blocks += [dense, transition(dense.out_channels, cfg.width, cfg.norm)]
    return _conv_trunk(cfg, blocks)


def mobilenet(cfg: NetConfig) -> nn.Module:
    """`blocks` MobileNet v2 inverted residual blocks with expansion `expand`."""
    return _conv_trunk(cfg, [inverted_residual(cfg.width, cfg.expand, cfg.norm)
                             for _ in range(cfg.blocks)])


def inception(cfg: NetConfig) -> nn.Module:
    """`blocks` Inception modules, each wrapped in a residual connection."""
    return _conv_trunk(cfg, [Residual(Inception(cfg.width, cfg.width, cfg.norm))
                             for _ in range(cfg.blocks)])


class TransformerTrunk(nn.Module):
    """Board points as N*N tokens: 1x1 conv embedding + learned position per point,
    `blocks` pre-norm transformer blocks, final LayerNorm. [B, C_in, N, N] -> [B, width, N, N]."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.embed = nn.Conv2d(cfg.in_planes, cfg.width, 1)
        self.position = BoardPositionEmbedding(cfg.board_size, cfg.width)
        self.blocks = nn.Sequential(*(transformer_block(cfg.width, cfg.attention_heads,
                                                        cfg.mlp_ratio)
                                      for _ in range(cfg.blocks)))
        self.norm = nn.LayerNorm(cfg.width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, n, _ = x.shape
        tokens = self.position(self.embed(x).flatten(2).transpose(1, 2))  # [B, N*N, D]
        tokens = self.norm(self.blocks(tokens))
        return tokens.transpose(1, 2).reshape(b, -1, n, n)


class RecurrentTrunk(nn.Module):
    """History-aware trunk: a recurrent layer over time at every board point, then a ResNet.

    Input layout (rlgo.go.features "agz"): the first `history_steps * planes_per_step`
    planes are the history as `planes_per_step` groups (own stones, opponent stones) of
    `history_steps` planes each, most recent first; the remaining planes (colour to play)
    are static and join every step. A shared 3x3 conv encodes each step's planes (so the
    sequence elements carry local shape), `rnn` runs over the steps oldest -> newest
    independently at each of the N*N points, and its last output feeds `blocks` residual
    blocks. A bidirectional `rnn` ("bi_gru", ...) also reads the steps newest -> oldest; the two
    directions' states after the whole history are merged by a linear layer into `width` features.
    [B, C_in, N, N] -> [B, width, N, N].
    """

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.steps, self.per_step = cfg.history_steps, cfg.planes_per_step
        static = cfg.in_planes - self.steps * self.per_step
        self.encoder = ConvNormAct(self.per_step + static, cfg.width, 3, cfg.norm)
        self.rnn = make_rnn(cfg.rnn, cfg.width, cfg.width)
        self.merge = nn.Linear(2 * cfg.width, cfg.width) if isinstance(self.rnn, Bidirectional) else None
        self.tower = nn.Sequential(*_resnet_blocks(cfg),
                                   *(_norm_relu(cfg) if cfg.pre_activation else []))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, n, _ = x.shape
        t = self.steps
        history = x[:, :t * self.per_step].reshape(b, self.per_step, t, n, n)
        history = history.transpose(1, 2).flip(1)  # [B, T, P, N, N], oldest step first
        static = x[:, t * self.per_step:].unsqueeze(1).expand(-1, t, -1, -1, -1)
        steps = torch.cat([history, static], dim=2).flatten(0, 1)  # [B*T, P+S, N, N]
        features = self.encoder(steps).reshape(b, t, -1, n, n)
        sequences = features.permute(0, 3, 4, 1, 2).flatten(0, 2)  # [B*N*N, T, W]
        outputs, _ = self.rnn(sequences)
        if self.merge is None:
            last = outputs[:, -1]
        else:  # forwards after the newest step, backwards after the oldest: each has read every step
            width = outputs.shape[2] // 2
            last = self.merge(torch.cat([outputs[:, -1, :width], outputs[:, 0, width:]], dim=1))
        last = last.reshape(b, n, n, -1).permute(0, 3, 1, 2)
        return self.tower(last)


class Seq2SeqTrunk(nn.Module):
    """The board read as a sequence: its points in raster order (a 1x1-conv embedding of their planes plus a
    learned position) are encoded by a bidirectional GRU; a decoder steps over the same points, each step
    attending over every encoded point (rlgo.nn.sequence.Seq2Seq with `attention`), and its outputs feed
    `blocks` residual blocks. [B, C_in, N, N] -> [B, width, N, N]."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.embed = nn.Conv2d(cfg.in_planes, cfg.width, 1)
        self.position = BoardPositionEmbedding(cfg.board_size, cfg.width)
        self.seq2seq = Seq2Seq(cfg.width, cfg.width, cfg.width, cfg.attention)
        self.tower = nn.Sequential(*_resnet_blocks(cfg),
                                   *(_norm_relu(cfg) if cfg.pre_activation else []))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, n, _ = x.shape
        points = self.position(self.embed(x).flatten(2).transpose(1, 2))  # [B, N*N, W]
        return self.tower(self.seq2seq(points, points).transpose(1, 2).reshape(b, -1, n, n))


_BUILDERS: dict[str, Callable[[NetConfig], nn.Module]] = {
    "resnet": resnet,
    "dilated": dilated,
    "densenet": densenet,
    "mobilenet": mobilenet,
    "inception": inception,
    "transformer": TransformerTrunk,
    "recurrent": RecurrentTrunk,
    "seq2seq": Seq2SeqTrunk,
}

BACKBONES = tuple(_BUILDERS)
"""Valid backbone names."""


def build_backbone(cfg: NetConfig) -> nn.Module:
    """Trunk named by `cfg.backbone`: [B, in_planes, N, N] -> [B, width, N, N]."""
    return _BUILDERS[cfg.backbone](cfg)
