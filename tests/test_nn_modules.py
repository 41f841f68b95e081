"""Vision and sequence building blocks: shapes, defining properties, and numeric equivalence
of the hand-written modules with torch built-ins."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rlgo.nn.norm import NORMS, NormError, make_norm
from rlgo.nn.sequence import (LSTM, RNN_KINDS, AdditiveAttention, Bidirectional, BoardPositionEmbedding,
                              DotAttention, Seq2Seq, clip_gradients, make_attention, make_rnn,
                              transformer_block)
from rlgo.nn.vision import (DenseBlock, DepthwiseSeparable, GlobalPoolingBias, Inception,
                            SqueezeExcite, bottleneck_block, global_pool, inverted_residual,
                            residual_block, transition)
from tests.test_nn_support import torch_env  # noqa: F401 (autouse)


def _n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# --- normalization -------------------------------------------------------------------------

@pytest.mark.parametrize("name", NORMS)
@pytest.mark.parametrize("n", [9, 19])
def test_norm_keeps_shape_for_any_board(name, n):
    x = torch.randn(3, 8, n, n)
    assert make_norm(name, 8)(x).shape == x.shape


def test_layer_norm_normalizes_each_sample_over_c_h_w():
    x = torch.randn(4, 8, 9, 9) * torch.arange(1, 5.0)[:, None, None, None] + 3.0
    y = make_norm("layer", 8)(x)
    assert torch.allclose(y.mean(dim=(1, 2, 3)), torch.zeros(4), atol=1e-5)
    assert torch.allclose(y.var(dim=(1, 2, 3), unbiased=False), torch.ones(4), atol=1e-3)


def test_group_norm_works_for_widths_not_divisible_by_eight():
    assert make_norm("group", 6)(torch.randn(2, 6, 5, 5)).shape == (2, 6, 5, 5)


def test_norm_none_is_identity_and_unknown_names_list_valid_ones():
    x = torch.randn(2, 4, 5, 5)
    assert torch.equal(make_norm("none", 4)(x), x)
    with pytest.raises(NormError, match="batch, layer, instance, group, none"):
        make_norm("weird", 4)


# --- vision blocks -------------------------------------------------------------------------

@pytest.mark.parametrize("pre_activation", [True, False])
@pytest.mark.parametrize("se", [True, False])
@pytest.mark.parametrize("gpool", [True, False])
def test_residual_blocks_keep_shape_and_pass_gradients(pre_activation, se, gpool):
    for block in (residual_block(8, "batch", pre_activation, se, gpool),
                  bottleneck_block(8, "batch", pre_activation, se, gpool)):
        x = torch.randn(2, 8, 7, 7, requires_grad=True)
        y = block(x)
        assert y.shape == x.shape
        y.square().sum().backward()
        assert x.grad.abs().sum() > 0


def test_post_activation_block_ends_in_relu_and_pre_activation_is_identity_when_last_conv_is_zero():
    x = torch.randn(2, 8, 5, 5)
    assert (residual_block(8, "batch", pre_activation=False)(x) >= 0).all()
    block = residual_block(8, "batch", pre_activation=True)
    nn.init.zeros_(block.body[-1][-1].weight)
    assert torch.allclose(block(x), x)


def test_bottleneck_is_cheaper_than_basic_block():
    assert _n_params(bottleneck_block(64, "batch")) < _n_params(residual_block(64, "batch")) / 2


def test_global_pooling_bias_adds_one_value_per_channel():
    x = torch.randn(2, 6, 9, 9)
    delta = GlobalPoolingBias(6, "batch")(x) - x
    assert torch.allclose(delta, delta[:, :, :1, :1].expand_as(delta), atol=1e-6)
    assert delta.abs().sum() > 0


def test_global_pool_features():
    x = torch.arange(2 * 9.0).reshape(1, 2, 3, 3)
    mean = torch.tensor([4.0, 13.0])
    expected = torch.cat([mean, mean * (3 - 14) / 10, torch.tensor([8.0, 17.0])])
    assert torch.allclose(global_pool(x)[0], expected)


def test_squeeze_excite_only_shrinks_channels():
    x = torch.randn(3, 8, 9, 9)
    y = SqueezeExcite(8)(x)
    ratio = y / x
    assert ((ratio > 0) & (ratio < 1)).all()
    assert torch.allclose(ratio, ratio[:, :, :1, :1].expand_as(ratio), atol=1e-5)


def test_dense_block_concatenates_input_and_growth_channels():
    x = torch.randn(2, 8, 9, 9)
    block = DenseBlock(8, layers=3, growth=5, norm="batch")
    y = block(x)
    assert y.shape == (2, 8 + 3 * 5, 9, 9) and block.out_channels == 23
    assert torch.equal(y[:, :8], x)
    assert transition(23, 8, "batch")(y).shape == (2, 8, 9, 9)


def test_depthwise_separable_is_cheaper_than_full_conv():
    block = DepthwiseSeparable(32, 64, "batch")
    assert block(torch.randn(2, 32, 9, 9)).shape == (2, 64, 9, 9)
    assert _n_params(block) < _n_params(nn.Conv2d(32, 64, 3)) / 5
    assert block[0][0].groups == 32


def test_inverted_residual_keeps_shape():
    x = torch.randn(2, 8, 9, 9)
    assert inverted_residual(8, 4, "batch")(x).shape == x.shape


def test_inception_width_and_five_by_five_receptive_field():
    block = Inception(6, 10, "none").eval()
    x = torch.zeros(1, 6, 11, 11)
    base = block(x)
    assert base.shape == (1, 10, 11, 11)
    x[0, :, 5, 5] = 1.0
    changed = (block(x) - base).abs().sum(dim=(0, 1)) > 0
    assert changed[5, 7] and changed[3, 3]  # reached through the 5x5 branch
    assert not changed[5, 8] and not changed[2, 5]


# --- recurrent layers ----------------------------------------------------------------------

def _copy_lstm(ours: LSTM, ref: nn.LSTM, suffix: str = "") -> None:
    for layer, cell in enumerate(ours.cells):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).data.copy_(getattr(ref, f"{name}_l{layer}{suffix}").data)


def test_lstm_without_peepholes_matches_torch():
    ours, ref = LSTM(5, 7, num_layers=2, peephole=False), nn.LSTM(5, 7, 2, batch_first=True)
    _copy_lstm(ours, ref)
    x = torch.randn(3, 6, 5)
    h0, c0 = torch.randn(2, 3, 7), torch.randn(2, 3, 7)
    out, (h, c) = ours(x, (h0, c0))
    ref_out, (ref_h, ref_c) = ref(x, (h0, c0))
    for a, b in ((out, ref_out), (h, ref_h), (c, ref_c)):
        assert torch.allclose(a, b, atol=1e-5)


def test_peepholes_change_the_output_and_vanish_when_zero():
    ours, ref = LSTM(4, 6, peephole=True), nn.LSTM(4, 6, batch_first=True)
    _copy_lstm(ours, ref)
    x = torch.randn(2, 5, 4)
    assert not torch.allclose(ours(x)[0], ref(x)[0], atol=1e-3)
    for name in ("weight_ci", "weight_cf", "weight_co"):
        nn.init.zeros_(getattr(ours.cells[0], name))
    assert torch.allclose(ours(x)[0], ref(x)[0], atol=1e-5)


def test_bidirectional_lstm_matches_torch():
    fw, bw = LSTM(5, 4, peephole=False), LSTM(5, 4, peephole=False)
    ref = nn.LSTM(5, 4, batch_first=True, bidirectional=True)
    _copy_lstm(fw, ref)
    _copy_lstm(bw, ref, suffix="_reverse")
    x = torch.randn(3, 7, 5)
    out, ((h_fw, _), (h_bw, _)) = Bidirectional(fw, bw)(x)
    ref_out, (ref_h, _) = ref(x)
    assert torch.allclose(out, ref_out, atol=1e-5)
    assert torch.allclose(torch.cat([h_fw, h_bw]), ref_h, atol=1e-5)


def test_bidirectional_gru_matches_torch():
    fw, bw = make_rnn("gru", 5, 4), make_rnn("gru", 5, 4)
    ref = nn.GRU(5, 4, batch_first=True, bidirectional=True)
    state = ref.state_dict()
    fw.load_state_dict({k: v for k, v in state.items() if not k.endswith("_reverse")})
    bw.load_state_dict({k.removesuffix("_reverse"): v for k, v in state.items() if k.endswith("_reverse")})
    x = torch.randn(2, 6, 5)
    assert torch.allclose(Bidirectional(fw, bw)(x)[0], ref(x)[0], atol=1e-5)


@pytest.mark.parametrize("kind", RNN_KINDS)
def test_make_rnn_is_batch_first(kind):
    layer = make_rnn(kind, 3, 5, num_layers=2)
    out, _ = layer(torch.randn(4, 6, 3))
    bidirectional = kind.startswith("bi_")
    assert isinstance(layer, Bidirectional) == bidirectional
    assert out.shape == (4, 6, 10 if bidirectional else 5)
    with pytest.raises(ValueError, match="peephole_lstm"):
        make_rnn("transformer", 3, 5)


# --- attention ----------------------------------------------------------------------------

def test_dot_attention_matches_scaled_dot_product_attention_with_unit_scale():
    q, k, v = torch.randn(3, 8), torch.randn(3, 5, 8), torch.randn(3, 5, 6)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 0, 1, 0, 1], [1, 1, 1, 1, 1]], dtype=torch.bool)
    context, weights = DotAttention(8, 8)(q, k, v, mask)
    ref = F.scaled_dot_product_attention(q[:, None], k, v, attn_mask=mask[:, None], scale=1.0)
    assert torch.allclose(context, ref[:, 0], atol=1e-5)
    assert torch.equal(weights[~mask], torch.zeros(int((~mask).sum())))


def test_general_attention_with_identity_weight_is_dot_attention():
    general = DotAttention(6, 6, general=True)
    nn.init.eye_(general.w_key.weight)
    q, k = torch.randn(2, 6), torch.randn(2, 4, 6)
    assert torch.allclose(general(q, k)[0], DotAttention(6, 6)(q, k)[0], atol=1e-6)
    with pytest.raises(ValueError, match="6 != 5"):
        DotAttention(6, 5)


def test_additive_attention_weights_and_gradients():
    attn = AdditiveAttention(4, 6, 8).double()
    q, k = torch.randn(2, 4, dtype=torch.double), torch.randn(2, 5, 6, dtype=torch.double)
    mask = torch.tensor([[1, 1, 0, 1, 0], [0, 0, 0, 0, 1]], dtype=torch.bool)
    context, weights = attn(q, k, mask=mask)
    assert torch.allclose(weights.sum(dim=1), torch.ones(2, dtype=torch.double))
    assert torch.equal(weights[~mask], torch.zeros(int((~mask).sum()), dtype=torch.double))
    assert torch.allclose(context[1], k[1, 4])  # one visible key: its value is the context
    assert torch.autograd.gradcheck(lambda q_, k_: attn(q_, k_, mask=mask)[0],
                                    (q.requires_grad_(), k.requires_grad_()))


@pytest.mark.parametrize("attention", ["additive", "dot", "general"])
def test_seq2seq_learns_to_reverse_short_sequences(attention):
    vocab, bos, length = 6, 0, 4
    g = torch.Generator().manual_seed(1)
    src = torch.randint(1, vocab, (32, length), generator=g)
    tgt = src.flip(1)
    tgt_in = torch.cat([torch.full((32, 1), bos), tgt[:, :-1]], dim=1)
    torch.manual_seed(1)  # the init must not depend on which tests ran before
    embed, model, classify = nn.Embedding(vocab, 24), Seq2Seq(24, 24, hidden=24, attention=attention), nn.Linear(24, vocab)
    logits = classify(model(embed(src), embed(tgt_in)))
    assert logits.shape == (32, length, vocab)
    parameters = [*embed.parameters(), *model.parameters(), *classify.parameters()]
    opt = torch.optim.Adam(parameters, lr=0.02)
    for _ in range(150):
        loss = F.cross_entropy(classify(model(embed(src), embed(tgt_in))).flatten(0, 1), tgt.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():  # greedy decoding, each step reading the token it chose before
        keys, h = model.encode(embed(src))
        feed, token, decoded = torch.zeros_like(h), torch.full((32,), bos), []
        for _ in range(length):
            h, feed = model.step(embed(token), h, feed, keys)
            token = classify(feed).argmax(dim=1)
            decoded.append(token)
    assert (torch.stack(decoded, dim=1) == tgt).float().mean() > 0.9


def test_make_attention_rejects_unknown_kind():
    with pytest.raises(ValueError, match="additive, dot, general"):
        make_attention("cosine", 4, 4)


# --- transformer pieces and clipping ----------------------------------------------------------

def test_transformer_block_is_permutation_equivariant_until_positions_are_added():
    block = transformer_block(8, 2, mlp_ratio=2).eval()
    x, perm = torch.randn(2, 9, 8), torch.randperm(9)
    assert torch.allclose(block(x)[:, perm], block(x[:, perm]), atol=1e-5)
    pos = BoardPositionEmbedding(3, 8)
    assert not torch.allclose(block(pos(x))[:, perm], block(pos(x[:, perm])), atol=1e-3)
    assert pos(x).shape == x.shape


def test_clip_gradients_returns_norm_before_and_bounds_it_after():
    layer = nn.Linear(4, 4)
    (layer(torch.randn(8, 4)) * 100).sum().backward()
    grads = [p.grad.clone() for p in layer.parameters()]
    norm = torch.cat([g.flatten() for g in grads]).norm().item()
    assert clip_gradients(layer.parameters(), None) == pytest.approx(norm, rel=1e-5)
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, layer.parameters()))
    assert clip_gradients(layer.parameters(), 1.0) == pytest.approx(norm, rel=1e-5)
    after = torch.cat([p.grad.flatten() for p in layer.parameters()]).norm().item()
    assert after == pytest.approx(1.0, rel=1e-4)


def _torch_layer_like(block) -> nn.TransformerEncoderLayer:
    """torch's pre-norm encoder layer with the block's weights copied in."""
    dim = block.norm1.normalized_shape[0]
    ref = nn.TransformerEncoderLayer(dim, block.attention.heads, block.mlp[0].out_features, dropout=0.0,
                                     activation="gelu", batch_first=True, norm_first=True)
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(block.attention.qkv.weight)
        ref.self_attn.in_proj_bias.copy_(block.attention.qkv.bias)
        ref.self_attn.out_proj.weight.copy_(block.attention.out.weight)
        ref.self_attn.out_proj.bias.copy_(block.attention.out.bias)
        for mine, theirs in ((block.norm1, ref.norm1), (block.norm2, ref.norm2), (block.mlp[0], ref.linear1),
                             (block.mlp[2], ref.linear2)):
            theirs.weight.copy_(mine.weight)
            theirs.bias.copy_(mine.bias)
    return ref


@pytest.mark.parametrize("dim, heads", [(8, 2), (12, 3), (16, 1)])
def test_transformer_block_on_our_attention_matches_torchs_encoder_layer(dim, heads):
    torch.manual_seed(dim + heads)
    block = transformer_block(dim, heads, mlp_ratio=2)
    for p in block.parameters():  # non-trivial norms and biases too
        nn.init.normal_(p, std=0.3)
    ref = _torch_layer_like(block)
    x = torch.randn(3, 10, dim)
    for mode in ("train", "eval"):  # eval: torch may take its fused fast path
        getattr(block, mode)(), getattr(ref, mode)()
        with torch.no_grad():
            assert torch.allclose(block(x), ref(x), atol=1e-5)
    with pytest.raises(ValueError, match="heads 3 must divide the width 8"):
        transformer_block(8, 3)


def test_many_queries_at_once_match_one_at_a_time():
    for attn in (AdditiveAttention(4, 6, 8), DotAttention(6, 6, general=True, scale=0.5)):
        q_dim = 4 if isinstance(attn, AdditiveAttention) else 6
        q, k, v = torch.randn(2, 3, q_dim), torch.randn(2, 5, 6), torch.randn(2, 5, 7)
        mask = torch.tensor([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1]], dtype=torch.bool)
        context, weights = attn(q, k, v, mask)
        for i in range(3):
            one, w = attn(q[:, i], k, v, mask)
            assert torch.allclose(context[:, i], one, atol=1e-6) and torch.allclose(weights[:, i], w, atol=1e-6)
