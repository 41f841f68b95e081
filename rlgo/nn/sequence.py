"""Sequence modules: recurrent layers, attention, seq2seq, transformer blocks over board points.

Built-ins are used where torch has them (nn.RNN is the Elman RNN, nn.GRU, nn.LSTM); this
module adds an LSTM with peephole connections, a bidirectional wrapper for any batch-first
recurrent layer, additive and dot-product attention (one query or many), multi-head
self-attention and the transformer block built on that dot-product attention (the
transformer backbone's), a seq2seq model, and a learned 2-D position embedding for board
points. Every sequence is batch-first: [B, T, features].
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

UNIDIRECTIONAL = ("rnn", "gru", "lstm", "peephole_lstm")
BIDIRECTIONAL_PREFIX = "bi_"
RNN_KINDS = UNIDIRECTIONAL + tuple(BIDIRECTIONAL_PREFIX + kind for kind in UNIDIRECTIONAL)
"""Valid names for `make_rnn`: a layer, or "bi_" + a layer for a `Bidirectional` pair of them."""

ATTENTION_KINDS = ("additive", "dot", "general")
"""Valid names for `make_attention`."""


def make_rnn(kind: str, input_size: int, hidden_size: int, num_layers: int = 1) -> nn.Module:
    """Batch-first recurrent layer: [B, T, input_size] -> ([B, T, hidden_size], final state).

    "rnn" is the Elman RNN (tanh), "gru" and "lstm" are the torch built-ins,
    "peephole_lstm" is `LSTM(peephole=True)`; "bi_" + one of them is a `Bidirectional` pair of that
    layer, whose outputs are [B, T, 2 * hidden_size].
    """
    if kind.startswith(BIDIRECTIONAL_PREFIX) and kind in RNN_KINDS:
        base = kind[len(BIDIRECTIONAL_PREFIX):]
        return Bidirectional(make_rnn(base, input_size, hidden_size, num_layers),
                             make_rnn(base, input_size, hidden_size, num_layers))
    kwargs = dict(num_layers=num_layers, batch_first=True)
    if kind == "rnn":
        return nn.RNN(input_size, hidden_size, nonlinearity="tanh", **kwargs)
    if kind == "gru":
        return nn.GRU(input_size, hidden_size, **kwargs)
    if kind == "lstm":
        return nn.LSTM(input_size, hidden_size, **kwargs)
    if kind == "peephole_lstm":
        return LSTM(input_size, hidden_size, num_layers=num_layers, peephole=True)
    raise ValueError(f"unknown recurrent kind {kind!r}; valid kinds: {', '.join(RNN_KINDS)}")


class LSTMCell(nn.Module):
    """LSTM cell with optional diagonal peepholes (Gers & Schmidhuber 2000).

    Parameters follow nn.LSTM's layout (gates i, f, g, o stacked in weight_ih [4H, I],
    weight_hh [4H, H], bias_ih, bias_hh [4H]), so weights copy across. With peepholes the
    input and forget gates also see c_{t-1} and the output gate sees c_t through
    per-unit weights weight_ci, weight_cf, weight_co [H].
    """

    def __init__(self, input_size: int, hidden_size: int, peephole: bool = True):
        super().__init__()
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size))
        self.peephole = peephole
        for name in ("weight_ci", "weight_cf", "weight_co"):
            self.register_parameter(name, nn.Parameter(torch.empty(hidden_size)) if peephole else None)
        bound = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: x [B, I], state (h, c) [B, H] each -> new (h, c)."""
        h, c = state
        gates = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        i, f, g, o = gates.chunk(4, dim=1)
        if self.peephole:
            i, f = i + self.weight_ci * c, f + self.weight_cf * c
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        if self.peephole:
            o = o + self.weight_co * c
        return torch.sigmoid(o) * torch.tanh(c), c


class LSTM(nn.Module):
    """Stacked batch-first LSTM of `LSTMCell`s: [B, T, I] -> ([B, T, H], (h_n, c_n) [L, B, H])."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 peephole: bool = True):
        super().__init__()
        self.hidden_size = hidden_size
        self.cells = nn.ModuleList(
            LSTMCell(input_size if layer == 0 else hidden_size, hidden_size, peephole)
            for layer in range(num_layers)
        )

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """x [B, T, I]; optional initial state (h_0, c_0) [L, B, H] (zeros when None)."""
        if state is None:
            zeros = x.new_zeros(len(self.cells), x.shape[0], self.hidden_size)
            state = (zeros, zeros)
        finals_h, finals_c = [], []
        for layer, cell in enumerate(self.cells):
            h, c = state[0][layer], state[1][layer]
            outputs = []
            for t in range(x.shape[1]):
                h, c = cell(x[:, t], (h, c))
                outputs.append(h)
            x = torch.stack(outputs, dim=1)
            finals_h.append(h)
            finals_c.append(c)
        return x, (torch.stack(finals_h), torch.stack(finals_c))


class Bidirectional(nn.Module):
    """Run one recurrent layer forwards and another over the reversed sequence.

    Both map [B, T, F] -> ([B, T, H], state); the result is ([B, T, 2H], (state_fw,
    state_bw)) with the backward outputs re-aligned to the forward time axis. Sequences
    are taken as full length (no padding).
    """

    def __init__(self, forward_rnn: nn.Module, backward_rnn: nn.Module):
        super().__init__()
        self.forward_rnn = forward_rnn
        self.backward_rnn = backward_rnn

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        out_fw, state_fw = self.forward_rnn(x)
        out_bw, state_bw = self.backward_rnn(x.flip(1))
        return torch.cat([out_fw, out_bw.flip(1)], dim=2), (state_fw, state_bw)


class Attention(nn.Module):
    """Attention of one query (or Q queries) over a sequence; subclasses define `score`.

    forward(query [B, Dq] or [B, Q, Dq], keys [B, T, Dk], values [B, T, Dv] = keys, mask [B, T]
    bool, True = may attend; every row needs one True) -> (context [B, Dv] or [B, Q, Dv],
    weights [B, T] or [B, Q, T]).
    """

    def score(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """Unnormalised scores [B, Q, T] of queries [B, Q, Dq]."""
        raise NotImplementedError

    def forward(self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        single = query.dim() == 2
        scores = self.score(query.unsqueeze(1) if single else query, keys)
        if mask is not None:
            scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys if values is None else values)
        return (context.squeeze(1), weights.squeeze(1)) if single else (context, weights)


class AdditiveAttention(Attention):
    """Bahdanau attention: score = v . tanh(W_q q + W_k k)."""

    def __init__(self, query_dim: int, key_dim: int, attn_dim: int):
        super().__init__()
        self.w_query = nn.Linear(query_dim, attn_dim, bias=False)
        self.w_key = nn.Linear(key_dim, attn_dim)
        self.v = nn.Linear(attn_dim, 1, bias=False)

    def score(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return self.v(torch.tanh(self.w_query(query).unsqueeze(2) + self.w_key(keys).unsqueeze(1))).squeeze(3)


class DotAttention(Attention):
    """Luong attention: score = scale * q . k ("dot", needs Dq == Dk) or scale * q . W k ("general")."""

    def __init__(self, query_dim: int, key_dim: int, general: bool = False, scale: float = 1.0):
        super().__init__()
        if not general and query_dim != key_dim:
            raise ValueError(f"dot attention needs query_dim == key_dim, got {query_dim} != {key_dim}")
        self.w_key = nn.Linear(key_dim, query_dim, bias=False) if general else nn.Identity()
        self.scale = scale

    def score(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return torch.bmm(query, self.w_key(keys).transpose(1, 2)) * self.scale


def make_attention(kind: str, query_dim: int, key_dim: int) -> Attention:
    """Attention by name: "additive" (Bahdanau), "dot" or "general" (Luong)."""
    if kind == "additive":
        return AdditiveAttention(query_dim, key_dim, query_dim)
    if kind in ("dot", "general"):
        return DotAttention(query_dim, key_dim, general=kind == "general")
    raise ValueError(f"unknown attention {kind!r}; valid kinds: {', '.join(ATTENTION_KINDS)}")


class Seq2Seq(nn.Module):
    """GRU encoder-decoder with attention over the encoder states (Bahdanau; Luong input feeding).

    The encoder is a bidirectional GRU over the source vectors; the decoder is a GRUCell that at
    each step reads its input vector and the previous attentional state, attends (with `attention`)
    from its hidden state over the projected encoder states, and emits tanh(W [context; h]).
    forward(src [B, S, src_dim], tgt [B, T, tgt_dim], src_mask [B, S] bool) -> [B, T, hidden].
    Token models put an embedding before it and a classifier after it.
    """

    def __init__(self, src_dim: int, tgt_dim: int, hidden: int, attention: str = "additive"):
        super().__init__()
        self.src_in = nn.Linear(src_dim, hidden)
        self.encoder = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.enc_proj = nn.Linear(2 * hidden, hidden)
        self.init_h = nn.Linear(2 * hidden, hidden)
        self.decoder = nn.GRUCell(tgt_dim + hidden, hidden)
        self.attention = make_attention(attention, hidden, hidden)
        self.combine = nn.Linear(2 * hidden, hidden)

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """src [B, S, src_dim] -> (keys [B, S, H], initial decoder state [B, H])."""
        states, h_n = self.encoder(self.src_in(src))
        return self.enc_proj(states), torch.tanh(self.init_h(torch.cat([h_n[0], h_n[1]], dim=1)))

    def step(self, inp: torch.Tensor, h: torch.Tensor, feed: torch.Tensor, keys: torch.Tensor,
             mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One decoder step: inp [B, tgt_dim] -> (hidden [B, H], attentional state [B, H]: the output)."""
        h = self.decoder(torch.cat([inp, feed], dim=1), h)
        context, _ = self.attention(h, keys, mask=mask)
        return h, torch.tanh(self.combine(torch.cat([context, h], dim=1)))

    def forward(self, src: torch.Tensor, tgt: torch.Tensor, src_mask: torch.Tensor | None = None) -> torch.Tensor:
        keys, h = self.encode(src)
        feed = torch.zeros_like(h)
        outputs = []
        for t in range(tgt.shape[1]):
            h, feed = self.step(tgt[:, t], h, feed, keys, src_mask)
            outputs.append(feed)
        return torch.stack(outputs, dim=1)


class BoardPositionEmbedding(nn.Module):
    """Learned embedding per board point (row, col), added to tokens [B, N*N, D] -> same."""

    def __init__(self, board_size: int, dim: int):
        super().__init__()
        self.table = nn.Parameter(torch.randn(board_size, board_size, dim) * 0.02)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return tokens + self.table.flatten(0, 1)


class SelfAttention(nn.Module):
    """Multi-head self-attention [B, T, dim] -> [B, T, dim]: one projection to queries, keys and
    values, `heads` heads folded into the batch, each a DotAttention scaled by 1/sqrt(dim / heads),
    and an output projection (nn.MultiheadAttention's layout: qkv.weight is its in_proj_weight)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention heads {heads} must divide the width {dim}")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.attention = DotAttention(dim // heads, dim // heads, scale=(dim // heads) ** -0.5)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4).flatten(1, 2)
        context, _ = self.attention(q, k, v)  # [B * heads, T, dim / heads]
        return self.out(context.reshape(b, self.heads, t, -1).transpose(1, 2).reshape(b, t, d))


class TransformerBlock(nn.Module):
    """Pre-norm transformer encoder block: x + SelfAttention(LayerNorm(x)), then x + MLP(LayerNorm(x))
    with a GELU MLP of width dim * mlp_ratio. [B, T, dim] -> [B, T, dim]; no dropout (self-play data
    is plentiful and noisy already)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attention = SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * mlp_ratio), nn.GELU(), nn.Linear(dim * mlp_ratio, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def transformer_block(dim: int, heads: int, mlp_ratio: int = 4) -> TransformerBlock:
    """The transformer backbone's block (see TransformerBlock)."""
    return TransformerBlock(dim, heads, mlp_ratio)


def clip_gradients(parameters: Iterable[torch.Tensor], max_norm: float | None) -> float:
    """Scale gradients so their global L2 norm is at most `max_norm` (None: only measure).

    Returns the norm before clipping, for logging exploding gradients in RNN training.
    """
    limit = math.inf if max_norm is None else max_norm
    return float(nn.utils.clip_grad_norm_(parameters, limit))
