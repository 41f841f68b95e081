"""The Gumbel root (Danihelka et al., "Policy improvement by planning with Gumbel", ICLR 2022), as in mctx.

Root: Gumbel-top-k without replacement of m actions and sequential halving over the
simulation budget: simulation i goes to the considered action with exactly
`considered_visits(k, n)[i]` visits of this search and the highest g + logits + sigma(q).
Below the root the action is chosen deterministically by the improved policy:
argmax softmax(logits + sigma(completed Q)) - N(a) / (1 + sum N). The training target is the
improved policy softmax(logits + sigma(completed Q)) at the root.

sigma (mctx's qtransform_completed_by_mix_value): an unvisited child's Q is the mixed value
(raw network value and the prior-weighted mean Q of the visited children); Q is rescaled to
[0, 1] by the min and max over the children and scaled by (c_visit + max_a N(a)) * c_scale.
Values are for the side to move at the node (the tree's convention: value_sum[c] / visits[c]).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from rlgo.search.tree import ROOT

MIN_PRIOR = 1e-30
"""Priors are floored here before the log (a zero prior is a very negative logit, not -inf)."""


@njit(cache=True)
def considered_visits(k, n, out):
    """Sequential halving schedule: out[i] (int32 [>= n]) = visits of this search that the action
    considered at simulation i has (mctx seq_halving.get_sequence_of_considered_visits)."""
    if k <= 1:
        for i in range(n):
            out[i] = i
        return
    log2max = int(math.ceil(math.log2(k)))
    visits = np.zeros(k, np.int64)
    considered = k
    length = 0
    while length < n:
        extra = max(1, int(n / (log2max * considered)))
        for _ in range(extra):
            for i in range(considered):
                if length < n:
                    out[length] = visits[i]
                    length += 1
                visits[i] += 1
        considered = max(2, considered // 2)


@njit(cache=True)
def sigma_q(t, node, c_visit, c_scale, out):
    """out[k] (float64 [>= children]) = sigma(completed Q) of the node's k-th child (see module docstring)."""
    first = t.first_child[node]
    count = t.num_children[node]
    visited_n = 0
    prior_sum = 0.0
    max_n = 0
    for k in range(count):
        ch = first + k
        if t.visits[ch] > 0:
            visited_n += t.visits[ch]
            prior_sum += max(t.prior[ch], MIN_PRIOR)
            max_n = max(max_n, t.visits[ch])
    weighted_q = 0.0
    for k in range(count):
        ch = first + k
        if t.visits[ch] > 0:
            weighted_q += max(t.prior[ch], MIN_PRIOR) * (t.value_sum[ch] / t.visits[ch]) / prior_sum
    mixed = (t.raw_value[node] + visited_n * weighted_q) / (visited_n + 1)
    low, high = np.inf, -np.inf
    for k in range(count):
        ch = first + k
        q = t.value_sum[ch] / t.visits[ch] if t.visits[ch] > 0 else mixed
        out[k] = q
        low = min(low, q)
        high = max(high, q)
    scale = (c_visit + max_n) * c_scale / max(high - low, 1e-8)
    for k in range(count):
        out[k] = (out[k] - low) * scale


@njit(cache=True)
def improved_policy(t, node, c_visit, c_scale, out):
    """out[k] = softmax(logits + sigma(completed Q)) over the node's children (the improved policy)."""
    count = t.num_children[node]
    sigma_q(t, node, c_visit, c_scale, out)
    first = t.first_child[node]
    top = -np.inf
    for k in range(count):
        out[k] += math.log(max(t.prior[first + k], MIN_PRIOR))
        top = max(top, out[k])
    total = 0.0
    for k in range(count):
        out[k] = math.exp(out[k] - top)
        total += out[k]
    for k in range(count):
        out[k] /= total


@njit(cache=True)
def select_interior(t, node, c_visit, c_scale, scratch):
    """The child maximising improved_policy - (N + in flight) / (1 + sum of them) (deterministic)."""
    improved_policy(t, node, c_visit, c_scale, scratch)
    first = t.first_child[node]
    count = t.num_children[node]
    total = 0
    for k in range(count):
        total += t.visits[first + k] + t.virtual_loss[first + k]
    best, best_score = first, -np.inf
    for k in range(count):
        ch = first + k
        score = scratch[k] - (t.visits[ch] + t.virtual_loss[ch]) / (1.0 + total)
        if score > best_score:
            best_score, best = score, ch
    return best


@njit(cache=True)
def root_scores(t, gumbel, base, considered, in_flight, c_visit, c_scale, out):
    """out[k] = g + logits + sigma(q) of the root's k-th child, -inf unless its visits of this search
    (visits - base[move], plus in-flight ones when `in_flight`) equal `considered` (-1: any)."""
    sigma_q(t, ROOT, c_visit, c_scale, out)
    first = t.first_child[ROOT]
    for k in range(t.num_children[ROOT]):
        ch = first + k
        mv = t.move[ch]
        n = t.visits[ch] - base[mv] + (t.virtual_loss[ch] if in_flight else 0)
        if considered >= 0 and n != considered:
            out[k] = -np.inf
        else:
            out[k] += gumbel[mv] + math.log(max(t.prior[ch], MIN_PRIOR))


@njit(cache=True)
def select_root(t, gumbel, base, considered, c_visit, c_scale, scratch):
    """Sequential halving's child for the next simulation (the best-scored considered child; if no
    child has `considered` visits, the best-scored among all)."""
    root_scores(t, gumbel, base, considered, True, c_visit, c_scale, scratch)
    first = t.first_child[ROOT]
    count = t.num_children[ROOT]
    best, best_score = -1, -np.inf
    for k in range(count):
        if scratch[k] > best_score:
            best_score, best = scratch[k], first + k
    if best < 0:
        root_scores(t, gumbel, base, -1, True, c_visit, c_scale, scratch)
        for k in range(count):
            if scratch[k] > best_score:
                best_score, best = scratch[k], first + k
    return best
