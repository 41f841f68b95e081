"""Pruning: structured (remove whole channels inside residual blocks) and magnitude (zero small weights).

Structured pruning of a ResNet removes the least important `amount` of the channels between
the two 3x3 convs of each block: the first conv loses output filters, the norm between loses
those channels, the second conv loses input channels. A channel's importance is |gamma| of its
norm times the L1 norm of the weights that read it. With `stream` > 0 it also removes that share
of the residual stream's channels. Every block adds into the stream, so a stream channel goes
from the whole trunk at once: the stem's filters and norm, each block's first norm, first-conv
inputs and second-conv filters, the trunk's last norm, and the inputs of each head's first conv.
Its importance is the same |gamma| x L1 of what reads it, summed over every norm and conv that
reads the stream. The result is a smaller dense network (fewer FLOPs on any backend); its shapes
no longer follow its NetConfig, so its checkpoints (and those of nets trained from it) record a
compression and `fit_shapes` rebuilds the layers at load.
"""

from __future__ import annotations

import torch
from torch import nn

from rlgo.nn.model import GoNet, build_model
from rlgo.nn.vision import Residual

STRUCTURED = "channels"
MAGNITUDE = "magnitude"
METHODS = (STRUCTURED, MAGNITUDE)
"""Pruning methods by name."""


class PruneError(ValueError):
    """A pruning amount out of range, or a network the method cannot prune."""


def check_amount(amount: float) -> float:
    """`amount` if it is a fraction in (0, 1), else PruneError."""
    if not 0.0 < amount < 1.0:
        raise PruneError(f"amount must be a fraction in (0, 1) of the weights or channels to remove, got {amount!r}")
    return amount


def check_prunable(model: GoNet, method: str) -> None:
    """PruneError unless `method` can prune `model` (structured: plain ResNet blocks only)."""
    if method not in METHODS:
        raise PruneError(f"unknown pruning method {method!r}; valid: {', '.join(METHODS)}")
    cfg = model.cfg
    if method == STRUCTURED and (cfg.backbone != "resnet" or cfg.bottleneck or cfg.global_pool_every
                                 or cfg.norm != "batch"):
        raise PruneError(f"channel pruning takes ResNets of basic blocks with batch norm and no global "
                         f"pooling bias; {cfg.name} (norm {cfg.norm}, bottleneck {cfg.bottleneck}, "
                         f"global_pool_every {cfg.global_pool_every}) is not one; use --method magnitude")


def _inner_pair(block: Residual) -> tuple[str, str, str]:
    """Names (inside the block) of the first conv, the norm on its outputs, and the second conv.

    Pre-activation units run norm1 conv1 norm2 conv2 (norm2 sits between the convs);
    post-activation units conv1 norm1 conv2 norm2 (norm1 does).
    """
    order = [(n, m) for n, m in block.named_modules()]
    convs = [i for i, (_, m) in enumerate(order) if isinstance(m, nn.Conv2d)]
    between = [i for i, (_, m) in enumerate(order[:convs[1]]) if isinstance(m, nn.BatchNorm2d) and i > convs[0]]
    return order[convs[0]][0], order[between[0]][0], order[convs[1]][0]


def _keep(score: torch.Tensor, amount: float) -> torch.Tensor:
    """Sorted indices of the channels kept when the `amount` share with the lowest `score` goes."""
    width = score.shape[0]
    return score.topk(max(1, width - round(amount * width))).indices.sort().values


def _stream_layers(model: GoNet) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    """Where the residual stream's channels live: (norms over the stream, (norm, conv) pairs reading the
    stream, convs writing into it), by parameter prefix; PruneError for a net whose stream cannot be pruned."""
    if not model.cfg.pre_activation:
        raise PruneError(f"stream pruning takes pre-activation ResNets; {model.cfg.name} is post-activation")
    trunk = list(model.trunk.named_children())
    stem_name, stem = trunk[0]
    tips = [name for name, m in trunk if isinstance(m, nn.BatchNorm2d)]
    if not isinstance(stem, nn.Sequential) or not isinstance(stem[0], nn.Conv2d) or len(tips) != 1:
        raise PruneError(f"stream pruning takes pre-activation ResNets (stem, blocks, final norm); {model.cfg.name} "
                         f"is not one")
    norms, readers, writers = [f"trunk.{stem_name}.1"], [], [f"trunk.{stem_name}.0"]
    for name, block in trunk[1:]:
        if isinstance(block, Residual):
            first, _, second = _inner_pair(block)
            norm = f"trunk.{name}.{first.rsplit('.', 1)[0]}.0"
            norms.append(norm)
            readers.append((norm, f"trunk.{name}.{first}"))
            writers.append(f"trunk.{name}.{second}")
    tip = f"trunk.{tips[0]}"
    norms.append(tip)
    for head_name, head in model.heads.items():
        conv = next(n for n, m in head.named_modules() if isinstance(m, nn.Conv2d))
        readers.append((tip, f"heads.{head_name}.{conv}"))
    return norms, readers, writers


def _prune_stream(layers: tuple[list[str], list[tuple[str, str]], list[str]], state: dict[str, torch.Tensor],
                  amount: float) -> int:
    """Remove the `amount` least important residual-stream channels (`_stream_layers`) from `state` in place;
    returns those kept."""
    norms, readers, writers = layers
    score = sum(state[f"{norm}.weight"].abs() * state[f"{conv}.weight"].abs().sum(dim=(0, 2, 3))
                for norm, conv in readers)
    keep = _keep(score, amount)
    for norm in norms:
        for key in ("weight", "bias", "running_mean", "running_var"):
            state[f"{norm}.{key}"] = state[f"{norm}.{key}"][keep]
    for conv in writers:
        state[f"{conv}.weight"] = state[f"{conv}.weight"][keep]
    for _, conv in readers:
        state[f"{conv}.weight"] = state[f"{conv}.weight"][:, keep]
    return int(keep.shape[0])


def channel_prune(model: GoNet, amount: float, stream: float = 0.0) -> tuple[GoNet, dict[str, int]]:
    """A copy of `model` with round(amount * width) inner channels removed from every residual block and,
    when `stream` > 0, round(stream * width) channels of the residual stream.

    Returns (pruned network in eval mode, {block name: inner channels kept, plus "stream": stream
    channels kept when pruned}).
    """
    check_amount(amount)
    check_prunable(model, STRUCTURED)
    layers = _stream_layers(model) if stream and check_amount(stream) else None  # refuse before any work
    state = {k: v.clone() for k, v in model.state_dict().items()}
    kept: dict[str, int] = {}
    for name, block in model.trunk.named_children():
        if not isinstance(block, Residual):
            continue
        first, norm, second = (f"trunk.{name}.{n}" for n in _inner_pair(block))
        keep = _keep(state[f"{norm}.weight"].abs() * state[f"{second}.weight"].abs().sum(dim=(0, 2, 3)), amount)
        state[f"{first}.weight"] = state[f"{first}.weight"][keep]
        for key in ("weight", "bias", "running_mean", "running_var"):
            state[f"{norm}.{key}"] = state[f"{norm}.{key}"][keep]
        state[f"{second}.weight"] = state[f"{second}.weight"][:, keep]
        kept[f"trunk.{name}"] = int(keep.shape[0])
    if layers:
        kept["stream"] = _prune_stream(layers, state, stream)
    pruned = fit_shapes(build_model(model.cfg), state)
    pruned.load_state_dict(state)
    return pruned.eval(), kept


def fit_shapes(model: nn.Module, state: dict[str, torch.Tensor]) -> nn.Module:
    """Replace each conv, linear and batch-norm layer of `model` whose weight shape differs from
    `state`'s by a fresh layer of the stored shape (so a pruned state dict loads); returns `model`."""
    for name, module in list(model.named_modules()):
        weight = state.get(f"{name}.weight")
        if weight is None or getattr(module, "weight", None) is None or module.weight.shape == weight.shape:
            continue
        if isinstance(module, nn.Conv2d):
            new = nn.Conv2d(weight.shape[1] * module.groups, weight.shape[0], module.kernel_size,
                            padding=module.padding, groups=module.groups, bias=module.bias is not None)
        elif isinstance(module, nn.Linear):
            new = nn.Linear(weight.shape[1], weight.shape[0], bias=module.bias is not None)
        elif isinstance(module, nn.BatchNorm2d):
            new = nn.BatchNorm2d(weight.shape[0])
        else:
            continue  # load_state_dict then reports the mismatch
        parent, _, attr = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, attr, new)
    return model


def prunable_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The conv and linear weight tensors of `model` by parameter name (norms and biases excluded)."""
    return {f"{name}.weight": m.weight for name, m in model.named_modules()
            if isinstance(m, (nn.Conv2d, nn.Linear))}


def magnitude_masks(model: nn.Module, amount: float) -> dict[str, torch.Tensor]:
    """bool masks (True = keep) zeroing the `amount` smallest-|w| share of each conv and linear weight."""
    check_amount(amount)
    masks = {}
    for name, w in prunable_weights(model).items():
        drop = int(round(amount * w.numel()))
        if drop == 0:
            continue
        threshold = w.detach().abs().flatten().kthvalue(drop).values
        masks[name] = w.detach().abs() > threshold
    return masks


@torch.no_grad()
def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """Zero the masked-out weights of `model` in place (after every fine-tuning step, too)."""
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        params[name].mul_(mask.to(params[name].device))


def sparsity(model: nn.Module) -> float:
    """Share of exactly-zero entries over the conv and linear weights."""
    weights = list(prunable_weights(model).values())
    return sum(int((w == 0).sum()) for w in weights) / max(1, sum(w.numel() for w in weights))
