"""The dilated trunk: dilation per block, receptive field per block (measured by autograd),
and equal cost with the resnet of the same size."""

import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn

from rlgo.nn.backbones import block_dilations, build_backbone, receptive_radius
from rlgo.nn.model import count_flops, build_model
from tests.test_nn_support import tiny, torch_env  # noqa: F401 (autouse)


def _convs_3x3(trunk: nn.Module) -> list[nn.Conv2d]:
    return [m for m in trunk.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]


@settings(max_examples=25, deadline=None)
@given(blocks=st.integers(1, 9), cycle=st.integers(1, 5))
def test_block_i_uses_dilation_two_to_the_i_mod_cycle(blocks, cycle):
    cfg = tiny("dilated", blocks=blocks, dilation_cycle=cycle)
    expected = [2 ** (i % cycle) for i in range(blocks)]
    assert block_dilations(cfg) == expected
    convs = _convs_3x3(build_backbone(cfg))
    stem, blocks = convs[0], convs[1:]
    assert stem.dilation == (1, 1)
    assert [c.dilation[0] for c in blocks] == [d for d in expected for _ in range(2)]
    assert all(c.padding == c.dilation for c in convs)  # 'same' padding keeps the board size


def _measured_radius(trunk: nn.Module, size: int) -> int:
    """Largest Chebyshev distance from the centre of an input point that moves the centre output.

    Positive weights and inputs keep every ReLU open, so no path is cut by chance (a dead unit
    at the edge of the field would hide part of it).
    """
    with torch.no_grad():
        for p in trunk.parameters():
            p.abs_()
    x = torch.rand(1, 17, size, size, dtype=torch.float64, requires_grad=True)
    c = size // 2
    trunk(x)[0, :, c, c].sum().backward()
    touched = (x.grad[0].abs().sum(dim=0) > 0).nonzero()
    return int((touched - c).abs().max())


@settings(max_examples=12, deadline=None)
@given(backbone=st.sampled_from(["resnet", "dilated"]), blocks=st.integers(0, 4),
       cycle=st.integers(1, 4), pre_activation=st.booleans(), bottleneck=st.booleans())
def test_receptive_radius_per_block_matches_autograd(backbone, blocks, cycle, pre_activation, bottleneck):
    cfg = tiny(backbone, blocks=max(blocks, 1), dilation_cycle=cycle, pre_activation=pre_activation,
               bottleneck=bottleneck, norm="none")
    radii = receptive_radius(cfg)
    assert len(radii) == cfg.blocks + 1
    size = 2 * radii[-1] + 5  # the field fits, so the board edge cuts nothing
    trunk = build_backbone(cfg).double().eval()
    stem_and_blocks = trunk[:blocks + 1] if blocks else trunk[:1]
    assert _measured_radius(stem_and_blocks, size) == radii[blocks]


def test_four_dilated_blocks_cover_a_19x19_board_where_resnet_needs_nine():
    def blocks_to_cover(backbone: str) -> int:
        return next(i for i, r in enumerate(receptive_radius(tiny(backbone, blocks=12))) if r >= 18)

    assert blocks_to_cover("dilated") == 4
    assert blocks_to_cover("resnet") == 9


@pytest.mark.parametrize("n", [9, 19])
def test_dilated_costs_the_same_flops_and_parameters_as_the_resnet_of_its_size(n):
    dilated, resnet = (build_model(tiny(b, n, blocks=4)) for b in ("dilated", "resnet"))
    assert count_flops(dilated) == count_flops(resnet)
    assert [p.shape for p in dilated.parameters()] == [p.shape for p in resnet.parameters()]
    dilated.load_state_dict(resnet.state_dict())  # same checkpoint layout, different function
    x = torch.rand(2, 17, n, n)
    assert not torch.allclose(dilated.eval()(x)["policy"], resnet.eval()(x)["policy"])
