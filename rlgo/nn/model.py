"""Network configuration, the model factory, and size measures (parameters, FLOPs)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from rlgo.nn.backbones import BACKBONES, build_backbone
from rlgo.nn.heads import HEADS, make_head
from rlgo.nn.norm import NORMS
from rlgo.nn.sequence import RNN_KINDS


class NetConfigError(ValueError):
    """A network configuration that cannot build a model."""


@dataclass(frozen=True)
class NetConfig:
    """Everything needed to rebuild a network; stored in every checkpoint."""

    backbone: str = "resnet"
    """Trunk architecture, one of `BACKBONES`."""
    width: int = 64
    """Trunk channels (the token dimension for "transformer")."""
    depth: int = 6
    """Number of trunk blocks (dense blocks, transformer layers, residual blocks after the RNN)."""
    norm: str = "batch"
    """Normalization of conv layers, one of `NORMS`."""
    board_size: int = 9
    """Board side N; inputs are [B, in_planes, N, N]."""
    in_planes: int = 17
    """Number of input feature planes."""
    feature_set: str = "agz"
    """Name of the feature set that produces the input planes."""
    feature_version: int = 1
    """Version of that feature set; a net only reads planes of the version it was trained on."""
    heads: tuple[str, ...] = ("policy", "value")
    """Output heads, a subset of `HEADS` (e.g. ("value",) for an AlphaGo value network)."""
    head_width: int = 32
    """Channels of the 1x1 conv that starts each head."""
    head_hidden: int = 64
    """Hidden units of the value and score MLPs."""
    dilation_cycle: int = 4
    """dilated: block i's 3x3 convs have dilation 2**(i % dilation_cycle) (1, 2, 4, 8, 1, ...)."""
    pre_activation: bool = True
    """resnet/dilated/recurrent: norm-ReLU-conv blocks (KataGo) instead of conv-norm-ReLU (AlphaGo Zero)."""
    bottleneck: bool = False
    """resnet/dilated/recurrent: 1x1-3x3-1x1 bottleneck blocks instead of two 3x3 convs."""
    se: bool = False
    """resnet/dilated/recurrent: squeeze-and-excitation at the end of each block."""
    global_pool_every: int = 0
    """resnet/dilated/recurrent: KataGo global pooling bias in every k-th block (0: none)."""
    growth: int = 16
    """densenet: channels each dense layer adds."""
    dense_layers: int = 4
    """densenet: layers per dense block."""
    expand: int = 4
    """mobilenet: expansion ratio of the inverted residual blocks."""
    attention_heads: int = 4
    """transformer: attention heads per block (must divide width)."""
    mlp_ratio: int = 2
    """transformer: MLP hidden width as a multiple of width."""
    history_steps: int = 8
    """recurrent: number of history steps at the front of the input planes."""
    planes_per_step: int = 2
    """recurrent: planes per history step (own stones, opponent stones)."""
    rnn: str = "gru"
    """recurrent: recurrent layer over the history, one of `RNN_KINDS`."""

    def __post_init__(self):
        object.__setattr__(self, "heads", tuple(self.heads))
        for field, valid in (("backbone", BACKBONES), ("norm", NORMS), ("rnn", RNN_KINDS)):
            value = getattr(self, field)
            if value not in valid:
                raise NetConfigError(f"unknown {field} {value!r}; valid: {', '.join(valid)}")
        unknown = [h for h in self.heads if h not in HEADS]
        if unknown or not self.heads or len(set(self.heads)) != len(self.heads):
            raise NetConfigError(f"heads {self.heads!r} must be distinct names from: {', '.join(HEADS)}")
        for f in dataclasses.fields(self):
            value, least = getattr(self, f.name), 0 if f.name == "global_pool_every" else 1
            if f.type == "int" and (not isinstance(value, int) or isinstance(value, bool) or value < least):
                raise NetConfigError(f"{f.name} must be an int >= {least}, got {value!r}")
        if self.width % self.attention_heads:
            raise NetConfigError(f"attention_heads {self.attention_heads} must divide width {self.width}")
        if self.backbone == "inception" and self.width < 4:
            raise NetConfigError(f"inception needs width >= 4 (4 branches), got {self.width}")
        if self.backbone == "recurrent" and self.history_steps * self.planes_per_step > self.in_planes:
            raise NetConfigError(f"history_steps * planes_per_step = "
                                 f"{self.history_steps * self.planes_per_step} exceeds "
                                 f"in_planes {self.in_planes}")

    @property
    def name(self) -> str:
        """Size name in KataGo style, e.g. "resnet-b6c64" (blocks, channels)."""
        return f"{self.backbone}-b{self.depth}c{self.width}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of builtins (JSON- and weights_only-safe)."""
        d = dataclasses.asdict(self)
        d["heads"] = list(self.heads)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NetConfig:
        """Inverse of `to_dict`; missing keys take defaults, unknown keys raise NetConfigError."""
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - valid)
        if unknown:
            raise NetConfigError(f"unknown NetConfig keys {unknown}; valid keys: {', '.join(sorted(valid))}")
        return cls(**d)


class GoNet(nn.Module):
    """Trunk + heads. forward(x [B, in_planes, N, N], legal_mask bool [B, N*N+1] | None)
    -> dict with, for each head in cfg.heads: "policy" logits [B, N*N+1] (last = pass,
    illegal moves masked, see `heads.mask_illegal`), "value" [B] in [-1, 1],
    "ownership" [B, N*N] in [-1, 1], "score" [B] in points; all for the side to move."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        self.init_from: dict | None = None  # the checkpoint the weights started from (rlgo.nn.transfer)
        self.trunk = build_backbone(cfg)
        self.heads = nn.ModuleDict({name: make_head(name, cfg.width, cfg.head_width, cfg.head_hidden,
                                                    cfg.norm)
                                    for name in cfg.heads})

    @property
    def name(self) -> str:
        """Size name of the config, e.g. "resnet-b6c64"."""
        return self.cfg.name

    def forward(self, x: torch.Tensor, legal_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        check_planes(self.cfg, x)
        trunk = self.trunk(x)
        return {name: head(trunk, legal_mask) if name == "policy" else head(trunk)
                for name, head in self.heads.items()}


def check_planes(cfg: NetConfig, x: torch.Tensor) -> None:
    """ValueError unless `x` is a batch of input planes [B, in_planes, N, N] for `cfg`."""
    n, c = cfg.board_size, cfg.in_planes
    if x.dim() != 4 or tuple(x.shape[1:]) != (c, n, n):
        raise ValueError(f"{cfg.name} expects planes [B, {c}, {n}, {n}], got {list(x.shape)}")


def build_model(cfg: NetConfig) -> GoNet:
    """The network described by `cfg`, freshly initialised (seed torch for determinism)."""
    return GoNet(cfg)


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model_or_cfg: GoNet | NetConfig, board_size: int | None = None) -> int:
    """Floating-point operations (2 per multiply-add) of one forward pass for one position.

    Counts matmuls (attention's included), convs and linears via torch's FlopCounterMode in eval mode;
    elementwise ops are not counted. `board_size` defaults to the config's.
    """
    model = build_model(model_or_cfg) if isinstance(model_or_cfg, NetConfig) else model_or_cfg
    cfg = model.cfg
    if board_size is not None and board_size != cfg.board_size:
        model = build_model(dataclasses.replace(cfg, board_size=board_size))
        cfg = model.cfg
    was_training = model.training
    model.eval()
    x = torch.zeros(1, cfg.in_planes, cfg.board_size, cfg.board_size,
                    device=next(model.parameters()).device)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    model.train(was_training)
    return counter.get_total_flops()
