"""Backbones, heads, NetConfig, the model factory, size measures and the evaluator."""

import dataclasses
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rlgo.go import symmetry
from rlgo.nn.backbones import BACKBONES
from rlgo.nn.evaluator import TorchEvaluator
from rlgo.nn.heads import HEADS
from rlgo.nn.model import BACKBONE_SETTINGS, NetConfig, NetConfigError, build_model, count_flops, count_params
from rlgo.nn.sequence import Bidirectional
from tests.test_nn_support import tiny, torch_env  # noqa: F401 (autouse)


def random_legal(rng: np.random.Generator, b: int, n: int) -> np.ndarray:
    legal = rng.random((b, n * n + 1)) < 0.6
    legal[:, -1] = True  # pass is always legal
    return legal


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("n", [9, 19])
def test_every_backbone_builds_runs_and_backpropagates(backbone, n):
    model = build_model(tiny(backbone, n, heads=HEADS))
    x = torch.rand(2, 17, n, n)
    legal = torch.from_numpy(random_legal(np.random.default_rng(0), 2, n))
    out = model(x, legal)
    assert set(out) == set(HEADS)
    assert out["policy"].shape == (2, n * n + 1)
    assert out["value"].shape == out["score"].shape == (2,)
    assert out["ownership"].shape == (2, n * n)
    assert out["value"].abs().max() <= 1 and out["ownership"].abs().max() <= 1
    probs = out["policy"].softmax(dim=1)
    assert torch.equal(probs[~legal], torch.zeros(int((~legal).sum())))
    assert torch.allclose(probs.sum(dim=1), torch.ones(2))
    loss = sum(v.float().square().mean() for k, v in out.items() if k != "policy")
    (loss + F.cross_entropy(out["policy"], legal.float().argmax(dim=1))).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0


def test_policy_is_unmasked_without_legal_mask_and_heads_are_optional():
    model = build_model(tiny(heads=("value",)))
    assert set(model(torch.rand(3, 17, 9, 9))) == {"value"}
    logits = build_model(tiny())(torch.rand(3, 17, 9, 9))["policy"]
    assert torch.isfinite(logits).all() and logits.abs().max() < 1e3


class _Record(nn.Module):
    """Stands in for the recurrent layer: remembers its input sequences, returns them."""

    def forward(self, sequences):
        self.seen = sequences
        return sequences, None


def test_recurrent_backbone_feeds_each_step_oldest_first_with_the_static_planes():
    trunk = build_model(tiny("recurrent", n=5, history_steps=3, planes_per_step=2, in_planes=7)).trunk
    trunk.encoder, trunk.rnn, trunk.tower = nn.Identity(), _Record(), nn.Identity()
    x = torch.arange(7.0)[None, :, None, None].expand(1, 7, 5, 5)  # plane c holds the value c
    trunk(x)
    # agz layout: own stones now/1/2 moves ago = planes 0-2, opponent 3-5, colour 6
    expected = torch.tensor([[2.0, 5, 6], [1, 4, 6], [0, 3, 6]])
    assert trunk.rnn.seen.shape == (25, 3, 3)
    assert torch.equal(trunk.rnn.seen, expected.expand(25, 3, 3))


@pytest.mark.parametrize("rnn", ["bi_gru", "bi_peephole_lstm"])
@pytest.mark.parametrize("direction", ["forwards", "backwards"])
def test_bidirectional_recurrent_trunk_reads_the_whole_history_in_each_direction(rnn, direction):
    """With only one direction's half of the merge kept, the trunk still sees the oldest and the newest
    step: each direction's state is taken after it has read every step."""
    torch.manual_seed(0)
    trunk = build_model(tiny("recurrent", n=5, rnn=rnn, history_steps=3, planes_per_step=2, in_planes=7)).trunk
    assert isinstance(trunk.rnn, Bidirectional)
    with torch.no_grad():
        half = slice(8, 16) if direction == "forwards" else slice(0, 8)  # zero the other direction
        trunk.merge.weight[:, half] = 0
    trunk.eval()
    x = torch.zeros(1, 7, 5, 5)
    base = trunk(x)
    for plane in (0, 2):  # own stones now (newest step) and 2 moves ago (oldest step)
        moved = x.clone()
        moved[0, plane, 2, 2] = 1.0
        assert not torch.allclose(trunk(moved), base), plane


def test_wrong_input_shape_names_expected_planes():
    with pytest.raises(ValueError, match=r"\[B, 17, 9, 9\].*\[2, 17, 19, 19\]"):
        build_model(tiny())(torch.rand(2, 17, 19, 19))


# --- NetConfig -------------------------------------------------------------------------------

def test_config_round_trips_through_json_and_is_frozen():
    cfg = NetConfig(backbone="transformer", width=32, blocks=3, heads=("policy", "value", "score"))
    back = NetConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg and back.heads == ("policy", "value", "score")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.width = 8


def test_config_names_by_size():
    assert NetConfig(backbone="resnet", blocks=6, width=64).name == "resnet-b6c64"
    assert build_model(tiny("densenet")).name == "densenet-b1c8"


@pytest.mark.parametrize("bad, message", [
    ({"backbone": "vgg"}, "resnet, dilated, densenet, mobilenet, inception, transformer, recurrent, seq2seq"),
    ({"norm": "weight"}, "batch, layer, instance, group, none"),
    ({"backbone": "recurrent", "rnn": "lstmx"},
     "recurrent: unknown rnn 'lstmx'; valid: rnn, gru, lstm, peephole_lstm, bi_rnn, bi_gru, bi_lstm, bi_peephole_lstm"),
    ({"heads": ["policy", "moves"]}, ", ".join(HEADS)),
    ({"width": 0}, "width must be an int >= 1, got 0"),
    ({"global_pool_every": -1}, "resnet: global_pool_every must be an int >= 0, got -1"),
    ({"backbone": "transformer", "width": 10, "attention_heads": 4},
     "transformer: attention_heads 4 must divide width 10"),
    ({"backbone": "recurrent", "in_planes": 8}, "exceeds in_planes 8"),
    ({"colour": "black"}, r"unknown NetConfig keys \['colour'\]; valid keys: .*backbone"),
])
def test_config_errors_name_the_bad_value_and_the_valid_ones(bad, message):
    with pytest.raises(NetConfigError, match=message):
        NetConfig.from_dict({**NetConfig().to_dict(), **bad})


BAD_SETTINGS = {"pre_activation": "yes", "bottleneck": 1, "se": None, "global_pool_every": -1, "dilation_cycle": 0,
                "growth": 0, "dense_layers": 0, "expand": 0, "attention_heads": 0, "mlp_ratio": 0,
                "history_steps": 0, "planes_per_step": 0, "rnn": "lstmx",
                "attention": "cosine"}
"""A value that no backbone reading the setting accepts."""


def test_every_backbone_setting_has_a_bad_value_case():
    assert set(BAD_SETTINGS) == {name for names in BACKBONE_SETTINGS.values() for name in names}
    assert set(BACKBONE_SETTINGS) == set(BACKBONES)


@pytest.mark.parametrize("backbone, name", [(b, n) for b, names in BACKBONE_SETTINGS.items() for n in names])
def test_a_backbone_refuses_a_bad_setting_of_its_own_by_name(backbone, name):
    with pytest.raises(NetConfigError, match=f"^{backbone}: .*{name}"):
        NetConfig(backbone=backbone, **{name: BAD_SETTINGS[name]})


@pytest.mark.parametrize("backbone, name", [(b, n) for b in BACKBONES for n in BAD_SETTINGS
                                            if n not in BACKBONE_SETTINGS[b]])
def test_a_backbone_ignores_the_settings_of_others(backbone, name):
    NetConfig(backbone=backbone, **{name: BAD_SETTINGS[name]})


def test_a_resnet_of_width_30_is_accepted_and_a_transformer_needs_heads_that_divide_it():
    assert build_model(NetConfig(backbone="resnet", width=30, blocks=1, board_size=5)).cfg.width == 30
    NetConfig(backbone="transformer", width=30, attention_heads=5)
    with pytest.raises(NetConfigError, match="transformer: attention_heads 4 must divide width 30"):
        NetConfig(backbone="transformer", width=30)


def test_setting_docstrings_name_the_backbones_that_read_them():
    from rlgo.commands.options import field_docs
    for name, doc in field_docs(NetConfig).items():
        readers = sorted(b for b, names in BACKBONE_SETTINGS.items() if name in names)
        if readers:
            assert sorted(doc.split(":")[0].split("/")) == readers, name


# --- size measures ------------------------------------------------------------------------

def test_count_params_counts_trainable_parameters():
    model = build_model(tiny())
    total = sum(p.numel() for p in model.parameters())
    model.heads["value"].requires_grad_(False)
    frozen = sum(p.numel() for p in model.heads["value"].parameters())
    assert count_params(model) == total - frozen > 0


def test_resnet_flops_grow_by_two_3x3_convs_per_block():
    c, n = 8, 9
    per_block = 2 * (2 * 9 * c * c * n * n)
    assert count_flops(tiny(blocks=2)) - count_flops(tiny()) == per_block
    assert count_flops(tiny(), board_size=19) > 4 * count_flops(tiny()) * 0.9


def test_transformer_flops_include_attention():
    d, t, r = 8, 81, 2
    per_layer = 2 * t * d * 3 * d + 2 * t * d * d + 2 * 2 * t * t * d + 2 * 2 * t * d * r * d
    one = tiny("transformer", attention_heads=2, mlp_ratio=r)
    model = build_model(dataclasses.replace(one, blocks=2)).train()
    assert count_flops(model) - count_flops(one) == per_layer
    assert model.training  # measuring does not switch the model's mode


# --- learning -----------------------------------------------------------------------------

def test_tiny_net_overfits_random_positions():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(64, 17, 9, 9, generator=g) < 0.3).float()
    target = torch.randint(0, 82, (64,), generator=g)
    model = build_model(NetConfig(width=16, blocks=2, heads=("policy",)))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(300):  # stops after ~30: once memorised, steps only shrink the loss
        loss = F.cross_entropy(model(x)["policy"], target)
        if loss < 0.01:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x)["policy"].argmax(dim=1) == target).float().mean()
    assert accuracy > 0.95


# --- evaluator ----------------------------------------------------------------------------

def _batch(n=9, b=5, seed=0):
    rng = np.random.default_rng(seed)
    planes = (rng.random((b, 17, n, n)) < 0.3).astype(np.float32)
    return planes, random_legal(rng, b, n)


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_evaluator_priors_are_a_distribution_over_legal_moves(device):
    model = build_model(tiny())
    planes, legal = _batch()
    priors, values = TorchEvaluator(model, device=device)(planes, legal)
    assert priors.dtype == values.dtype == np.float32
    assert priors.shape == legal.shape and values.shape == (5,)
    assert np.allclose(priors.sum(axis=1), 1, atol=1e-5)
    assert (priors[~legal] == 0).all() and (priors[legal] > 0).all()
    assert (np.abs(values) <= 1).all()
    with torch.no_grad():
        expected = model(torch.from_numpy(planes), torch.from_numpy(legal))["policy"].softmax(1)
    assert np.allclose(priors, expected.numpy(), atol=1e-6)
    assert not model.training


def test_evaluator_rejects_bad_inputs_and_models_without_value():
    evaluator = TorchEvaluator(build_model(tiny()))
    planes, legal = _batch()
    with pytest.raises(ValueError, match="legal must be"):
        evaluator(planes, legal[:, :-1])
    legal[0] = False
    with pytest.raises(ValueError, match="at least one legal move"):
        evaluator(planes, legal)
    with pytest.raises(ValueError, match="lacks heads \\['value'\\]"):
        TorchEvaluator(build_model(tiny(heads=("policy",))))


def test_symmetry_averaging_is_equivariant():
    model = build_model(tiny("transformer", n=7))  # not symmetric by construction
    planes, legal = _batch(n=7, b=3)
    plain = TorchEvaluator(model)
    averaged = TorchEvaluator(model, symmetries=True)
    priors, values = averaged(planes, legal)
    assert np.allclose(priors.sum(axis=1), 1, atol=1e-5) and (priors[~legal] == 0).all()
    assert not np.allclose(priors, plain(planes, legal)[0], atol=1e-4)
    for k in range(1, symmetry.NUM_SYMMETRIES):
        moved = symmetry.apply_planes(planes, k)
        moved_legal = symmetry.apply_policy(legal, k, 7)
        moved_priors, moved_values = averaged(moved, moved_legal)
        assert np.allclose(moved_priors, symmetry.apply_policy(priors, k, 7), atol=1e-5)
        assert np.allclose(moved_values, values, atol=1e-5)
