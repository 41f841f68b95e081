"""Convolutional building blocks for board feature maps.

All blocks take and return [B, C, N, N] maps, keep the board resolution (3x3 convs with
'same' padding, no striding or pooling) and work for any board size N. Normalization is
chosen by name (see `rlgo.nn.norm.make_norm`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rlgo.nn.norm import make_norm


def conv(c_in: int, c_out: int, kernel: int, norm: str, groups: int = 1, dilation: int = 1) -> nn.Conv2d:
    """'same'-padded conv; it has a bias only when no normalization layer can absorb one.

    A dilated conv spreads its taps `dilation` points apart: a 3x3 conv with dilation d
    sees the points at offsets {-d, 0, d}^2.
    """
    return nn.Conv2d(c_in, c_out, kernel, padding=dilation * (kernel // 2), groups=groups,
                     dilation=dilation, bias=norm == "none")


class ConvNormAct(nn.Sequential):
    """Post-activation unit conv -> norm -> ReLU: [B, c_in, N, N] -> [B, c_out, N, N]."""

    def __init__(self, c_in: int, c_out: int, kernel: int, norm: str, act: bool = True,
                 groups: int = 1, dilation: int = 1):
        super().__init__(conv(c_in, c_out, kernel, norm, groups, dilation), make_norm(norm, c_out),
                         nn.ReLU() if act else nn.Identity())


class NormActConv(nn.Sequential):
    """Pre-activation unit norm -> ReLU -> conv: [B, c_in, N, N] -> [B, c_out, N, N]."""

    def __init__(self, c_in: int, c_out: int, kernel: int, norm: str, dilation: int = 1):
        super().__init__(make_norm(norm, c_in), nn.ReLU(), conv(c_in, c_out, kernel, norm, dilation=dilation))


class Residual(nn.Module):
    """x + body(x), followed by ReLU for post-activation blocks: [B, C, N, N] -> same."""

    def __init__(self, body: nn.Module, post_act: bool = False):
        super().__init__()
        self.body = body
        self.post_act = post_act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x + self.body(x)
        return F.relu(y) if self.post_act else y


def global_pool(x: torch.Tensor) -> torch.Tensor:
    """KataGo global pooling: [B, C, N, N] -> [B, 3C] = (mean, mean * (N - 14) / 10, max).

    The scaled mean lets later layers tell board sizes apart (it is 0 on 14x14).
    """
    mean = x.mean(dim=(2, 3))
    scaled = mean * ((x.shape[-1] - 14) / 10.0)
    return torch.cat([mean, scaled, x.amax(dim=(2, 3))], dim=1)


class GlobalPoolingBias(nn.Module):
    """KataGo-style global context: add a per-channel bias computed from the pooled board.

    [B, C, N, N] -> [B, C, N, N]; bias = Linear(global_pool(ReLU(norm(x)))).
    """

    def __init__(self, channels: int, norm: str):
        super().__init__()
        self.norm = make_norm(norm, channels)
        self.linear = nn.Linear(3 * channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.linear(global_pool(F.relu(self.norm(x))))
        return x + bias[:, :, None, None]


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: rescale channels by gates in (0, 1) from the board mean.

    [B, C, N, N] -> [B, C, N, N].
    """

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.gate = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(),
                                  nn.Linear(hidden, channels), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x.mean(dim=(2, 3)))[:, :, None, None]


def _residual(specs: list[tuple[int, int, int]], norm: str, pre_activation: bool,
              se: bool, global_pool_bias: bool, dilation: int = 1) -> Residual:
    """Residual block over conv units given as (c_in, c_out, kernel) specs; the convs
    wider than 1x1 use `dilation`.

    Pre-activation (ResNet v2 / KataGo): norm-ReLU-conv units, nothing after the add.
    Post-activation (ResNet v1 / AlphaGo Zero): conv-norm-ReLU units, the last one without
    ReLU, and ReLU after the add. Global pooling bias goes after the first unit, SE last.
    """
    units: list[nn.Module] = [
        NormActConv(c_in, c_out, k, norm, dilation=dilation if k > 1 else 1) if pre_activation
        else ConvNormAct(c_in, c_out, k, norm, act=i < len(specs) - 1, dilation=dilation if k > 1 else 1)
        for i, (c_in, c_out, k) in enumerate(specs)
    ]
    if global_pool_bias:
        units.insert(1, GlobalPoolingBias(specs[0][1], norm))
    if se:
        units.append(SqueezeExcite(specs[-1][1]))
    return Residual(nn.Sequential(*units), post_act=not pre_activation)


def residual_block(channels: int, norm: str, pre_activation: bool = True, se: bool = False,
                   global_pool_bias: bool = False, dilation: int = 1) -> Residual:
    """Basic residual block, two 3x3 convs of dilation `dilation`: [B, C, N, N] -> [B, C, N, N]."""
    return _residual([(channels, channels, 3)] * 2, norm, pre_activation, se, global_pool_bias, dilation)


def bottleneck_block(channels: int, norm: str, pre_activation: bool = True, se: bool = False,
                     global_pool_bias: bool = False, ratio: int = 2, dilation: int = 1) -> Residual:
    """Bottleneck residual block 1x1 reduce -> 3x3 (dilation `dilation`) -> 1x1 expand:
    [B, C, N, N] -> same."""
    mid = max(1, channels // ratio)
    specs = [(channels, mid, 1), (mid, mid, 3), (mid, channels, 1)]
    return _residual(specs, norm, pre_activation, se, global_pool_bias, dilation)


class DenseBlock(nn.Module):
    """DenseNet-BC block: each layer sees all earlier maps and adds `growth` new channels.

    [B, C, N, N] -> [B, C + layers * growth, N, N]; a layer is norm-ReLU-1x1(4k)-norm-ReLU-3x3(k).
    """

    def __init__(self, channels: int, layers: int, growth: int, norm: str):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(NormActConv(channels + i * growth, 4 * growth, 1, norm),
                          NormActConv(4 * growth, growth, 3, norm))
            for i in range(layers)
        )
        self.out_channels = channels + layers * growth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)


def transition(c_in: int, c_out: int, norm: str) -> NormActConv:
    """DenseNet transition norm-ReLU-1x1 conv: [B, c_in, N, N] -> [B, c_out, N, N].

    Unlike ImageNet DenseNets it does not average-pool: a Go trunk keeps the full board.
    """
    return NormActConv(c_in, c_out, 1, norm)


class DepthwiseSeparable(nn.Sequential):
    """MobileNet v1 unit: depthwise 3x3 then pointwise 1x1: [B, c_in, N, N] -> [B, c_out, N, N].

    `act_out=False` leaves the pointwise projection linear (MobileNet v2 bottleneck).
    """

    def __init__(self, c_in: int, c_out: int, norm: str, act_out: bool = True):
        super().__init__(ConvNormAct(c_in, c_in, 3, norm, groups=c_in),
                         ConvNormAct(c_in, c_out, 1, norm, act=act_out))


def inverted_residual(channels: int, expand: int, norm: str) -> Residual:
    """MobileNet v2 block: 1x1 expand -> depthwise 3x3 -> linear 1x1 project, plus skip.

    [B, C, N, N] -> [B, C, N, N]; the hidden width is C * expand.
    """
    hidden = channels * expand
    return Residual(nn.Sequential(ConvNormAct(channels, hidden, 1, norm),
                                  DepthwiseSeparable(hidden, channels, norm, act_out=False)))


class Inception(nn.Module):
    """Inception module: parallel 1x1, 1x1-3x3, 1x1-5x5 and 3x3-maxpool-1x1 branches.

    [B, c_in, N, N] -> [B, c_out, N, N]; the branches share c_out (the first takes the
    remainder) and the reducing 1x1 convs use half a branch width.
    """

    def __init__(self, c_in: int, c_out: int, norm: str):
        super().__init__()
        width = c_out // 4
        reduce = max(1, width // 2)
        self.branches = nn.ModuleList([
            ConvNormAct(c_in, c_out - 3 * width, 1, norm),
            nn.Sequential(ConvNormAct(c_in, reduce, 1, norm), ConvNormAct(reduce, width, 3, norm)),
            nn.Sequential(ConvNormAct(c_in, reduce, 1, norm), ConvNormAct(reduce, width, 5, norm)),
            nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), ConvNormAct(c_in, width, 1, norm)),
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)
