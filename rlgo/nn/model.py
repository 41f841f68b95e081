"""Network configuration, the model factory, and size measures (parameters, FLOPs)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from rlgo.go import features
from rlgo.nn.backbones import BACKBONES, build_backbone
from rlgo.nn.heads import HEADS, make_head
from rlgo.nn.norm import NORMS
from rlgo.nn.sequence import ATTENTION_KINDS, RNN_KINDS
from rlgo.renames import migrate


class NetConfigError(ValueError):
    """A network configuration that cannot build a model."""


NET_DATA_FIELDS = ("board_size", "in_planes", "feature_version", "heads")
"""NetConfig fields that a training run sets from its data and losses (`for_data`), not options of a command."""


@dataclass(frozen=True)
class NetConfig:
    """The network: everything needed to rebuild it; stored in every checkpoint."""

    backbone: Literal[BACKBONES] = "resnet"
    """Trunk architecture (rlgo.nn.backbones)."""
    width: int = 64
    """Trunk channels (the token dimension for "transformer")."""
    blocks: int = 6
    """Number of trunk blocks (dense blocks, transformer layers, residual blocks after the RNN)."""
    norm: Literal[NORMS] = "batch"
    """Normalization of conv layers."""
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
    """resnet/dilated/recurrent/seq2seq: norm-ReLU-conv blocks (KataGo) instead of conv-norm-ReLU (AlphaGo Zero)."""
    bottleneck: bool = False
    """resnet/dilated/recurrent/seq2seq: 1x1-3x3-1x1 bottleneck blocks instead of two 3x3 convs."""
    se: bool = False
    """resnet/dilated/recurrent/seq2seq: squeeze-and-excitation at the end of each block."""
    global_pool_every: int = 0
    """resnet/dilated/recurrent/seq2seq: KataGo global pooling bias in every k-th block (0: none)."""
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
    rnn: Literal[RNN_KINDS] = "gru"
    """recurrent: recurrent layer over the history (rlgo.nn.sequence)."""
    attention: Literal[ATTENTION_KINDS] = "additive"
    """seq2seq: how the decoder attends over the encoded points (rlgo.nn.sequence.make_attention)."""

    def __post_init__(self):
        object.__setattr__(self, "heads", tuple(self.heads))
        for field, valid in (("backbone", BACKBONES), ("norm", NORMS)):
            value = getattr(self, field)
            if value not in valid:
                raise NetConfigError(f"unknown {field} {value!r}; valid: {', '.join(valid)}")
        unknown = [h for h in self.heads if h not in HEADS]
        if unknown or not self.heads or len(set(self.heads)) != len(self.heads):
            raise NetConfigError(f"heads {self.heads!r} must be distinct names from: {', '.join(HEADS)}")
        own = BACKBONE_SETTINGS[self.backbone]
        for f in dataclasses.fields(self):
            if f.name in _SETTING_OF_SOME or f.type != "int":
                continue
            _check_count(f.name, getattr(self, f.name), "")
        for name in own:
            _check_setting(self, name)
        if self.backbone == "transformer" and self.width % self.attention_heads:
            raise NetConfigError(f"transformer: attention_heads {self.attention_heads} must divide width {self.width}")
        if self.backbone == "inception" and self.width < 4:
            raise NetConfigError(f"inception needs width >= 4 (4 branches), got {self.width}")
        if self.backbone == "recurrent" and self.history_steps * self.planes_per_step > self.in_planes:
            raise NetConfigError(f"recurrent: history_steps * planes_per_step = "
                                 f"{self.history_steps * self.planes_per_step} exceeds "
                                 f"in_planes {self.in_planes}")

    def for_data(self, board_size: int, heads: tuple[str, ...]) -> NetConfig:
        """This network for a board size and heads, reading the planes of its feature set."""
        return dataclasses.replace(self, board_size=board_size, in_planes=features.feature_planes(self.feature_set),
                                   feature_version=features.feature_version(self.feature_set), heads=tuple(heads))

    @property
    def name(self) -> str:
        """Size name in KataGo style, e.g. "resnet-b6c64" (blocks, channels)."""
        return f"{self.backbone}-b{self.blocks}c{self.width}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of builtins (JSON- and weights_only-safe)."""
        d = dataclasses.asdict(self)
        d["heads"] = list(self.heads)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NetConfig:
        """Inverse of `to_dict`; missing keys take defaults, renamed keys (rlgo.renames.CONFIG_KEYS) are
        read as their new names, unknown keys raise NetConfigError."""
        d = migrate(d, "NetConfig", quiet=True)
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - valid)
        if unknown:
            raise NetConfigError(f"unknown NetConfig keys {unknown}; valid keys: {', '.join(sorted(valid))}")
        return cls(**d)


_CONV_BLOCK = ("pre_activation", "bottleneck", "se", "global_pool_every")
BACKBONE_SETTINGS: dict[str, tuple[str, ...]] = {
    "resnet": _CONV_BLOCK,
    "dilated": _CONV_BLOCK + ("dilation_cycle",),
    "densenet": ("growth", "dense_layers"),
    "mobilenet": ("expand",),
    "inception": (),
    "transformer": ("attention_heads", "mlp_ratio"),
    "recurrent": _CONV_BLOCK + ("history_steps", "planes_per_step", "rnn"),
    "seq2seq": _CONV_BLOCK + ("attention",),
}
"""The NetConfig settings each backbone reads (besides width and blocks); only the chosen one's are checked."""
_SETTING_OF_SOME = {name for names in BACKBONE_SETTINGS.values() for name in names}


def _check_count(name: str, value, backbone: str) -> None:
    least = 0 if name == "global_pool_every" else 1
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        where = f"{backbone}: " if backbone else ""
        raise NetConfigError(f"{where}{name} must be an int >= {least}, got {value!r}")


def _check_setting(cfg: "NetConfig", name: str) -> None:
    """NetConfigError naming the backbone unless setting `name` of `cfg` is usable."""
    value = getattr(cfg, name)
    kinds = {"rnn": RNN_KINDS, "attention": ATTENTION_KINDS}.get(name)
    if kinds is not None:
        if value not in kinds:
            raise NetConfigError(f"{cfg.backbone}: unknown {name} {value!r}; valid: {', '.join(kinds)}")
    elif isinstance(getattr(NetConfig, name), bool):
        if not isinstance(value, bool):
            raise NetConfigError(f"{cfg.backbone}: {name} must be true or false, got {value!r}")
    else:
        _check_count(name, value, cfg.backbone)


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
