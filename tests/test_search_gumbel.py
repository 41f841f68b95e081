"""The Gumbel root (rlgo.search.gumbel): the halving schedule spends exactly the budget, the move played
maximises g + logits + sigma(q) among the survivors, the improved policy is the paper's formula, and
with two simulations the move is never worse than the prior's own sample by the evaluator's values."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rlgo.go.rules import Rules
from rlgo.go.state import GameState
from rlgo.search.config import SearchConfig, SearchConfigError
from rlgo.search.gumbel import considered_visits, improved_policy
from rlgo.search.mcts import MCTS
from rlgo.search.tree import ROOT, expand, new_tree

SIZE = 5


def mctx_sequence(m: int, n: int) -> list[int]:
    """mctx seq_halving.get_sequence_of_considered_visits, transcribed."""
    if m <= 1:
        return list(range(n))
    log2max = int(math.ceil(math.log2(m)))
    sequence, visits, considered = [], [0] * m, m
    while len(sequence) < n:
        extra = max(1, int(n / (log2max * considered)))
        for _ in range(extra):
            sequence.extend(visits[:considered])
            for i in range(considered):
                visits[i] += 1
        considered = max(2, considered // 2)
    return sequence[:n]


def reference_sigma(prior, visits, value_sum, raw, c_visit=50.0, c_scale=0.1):
    """sigma(completed Q) of the paper (appendix D, mixed value approximation), in plain numpy."""
    prior = np.maximum(prior.astype(np.float64), 1e-30)
    visited = visits > 0
    q = np.where(visited, value_sum / np.maximum(visits, 1), 0.0)
    weighted = (prior[visited] * q[visited]).sum() / prior[visited].sum() if visited.any() else 0.0
    mixed = (raw + visits.sum() * weighted) / (visits.sum() + 1)
    completed = np.where(visited, q, mixed)
    rescaled = (completed - completed.min()) / max(completed.max() - completed.min(), 1e-8)
    return (c_visit + visits.max()) * c_scale * rescaled


class HashValues:
    """Priors and values that are fixed random functions of the position (its Zobrist hash)."""

    feature_set = None
    history_length = 0

    def __init__(self, seed: int):
        self.seed = seed

    def _rng(self, m):
        return np.random.default_rng([self.seed, int(m[0]) & (2**63 - 1), int(m[1]) & 0xFFFF])

    def evaluate(self, batch):
        priors = np.zeros(batch.legal.shape, np.float32)
        values = np.zeros(len(batch.b), np.float32)
        for i in range(len(batch.b)):
            rng = self._rng(batch.m[i])
            priors[i] = rng.dirichlet(np.full(batch.legal.shape[1], 0.5)) * batch.legal[i]
            values[i] = rng.uniform(-1, 1)
        return priors, values


def gumbel_search(seed: int, simulations: int, **changes) -> MCTS:
    cfg = SearchConfig(**{"simulations": simulations, "root": "gumbel", "gumbel_m": 8, "batch_size": 1, "seed": seed,
                          "node_budget": 50_000, **changes})
    search = MCTS(SIZE, HashValues(seed), cfg)
    search.search(GameState(SIZE, Rules(komi=0.5)))
    return search


def root_children(search: MCTS):
    t = search.tree
    first, count = int(t.first_child[ROOT]), int(t.num_children[ROOT])
    kids = slice(first, first + count)
    return (t.move[kids].astype(np.int64), t.visits[kids].astype(np.int64), t.value_sum[kids], t.prior[kids],
            float(t.raw_value[ROOT]))


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 40), n=st.integers(1, 300))
def test_schedule_is_mctx_sequential_halving(m, n):
    out = np.zeros(n, np.int32)
    considered_visits(m, n, out)
    assert out.tolist() == mctx_sequence(m, n)


@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("simulations", [2, 9, 50, 200])
def test_halving_spends_exactly_the_budget(simulations, batch_size):
    search = gumbel_search(3, simulations + 1, batch_size=batch_size)  # + 1: the root's own evaluation
    _, visits, _, _, _ = root_children(search)
    assert search.done_simulations() == simulations + 1 and visits.sum() == simulations
    sequence = mctx_sequence(min(8, len(visits)), simulations)
    expected = [sum(1 for v in set(sequence) if sequence.count(v) > rank) for rank in range(len(visits))]
    assert sorted(visits.tolist(), reverse=True) == expected


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), simulations=st.integers(3, 80))
def test_the_move_maximises_g_plus_logits_plus_sigma_among_the_survivors(seed, simulations):
    search = gumbel_search(seed, simulations)
    moves, visits, sums, prior, raw = root_children(search)
    score = search.gumbel_noise()[moves] + np.log(np.maximum(prior, 1e-30)) + reference_sigma(prior, visits, sums, raw)
    survivors = visits == visits.max()
    assert search.choose_move() == moves[np.argmax(np.where(survivors, score, -np.inf))]
    target = search.policy_target()
    expected = np.exp(score - search.gumbel_noise()[moves] - score.max())
    assert np.allclose(target[moves], expected / expected.sum(), atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), children=st.integers(1, 30))
def test_improved_policy_is_the_papers_formula(seed, children):
    rng = np.random.default_rng(seed)
    tree = new_tree(64)
    priors = rng.dirichlet(np.full(children, 0.3)).astype(np.float32)
    expand(tree, ROOT, np.arange(children, dtype=np.int64), priors.copy(), children)
    kids = slice(1, 1 + children)
    order = tree.move[kids].astype(np.int64)
    visits = np.where(rng.random(children) < 0.5, rng.integers(1, 50, children), 0)
    tree.visits[kids] = visits
    tree.value_sum[kids] = visits * rng.uniform(-1, 1, children)
    tree.raw_value[ROOT] = rng.uniform(-1, 1)
    out = np.zeros(children)
    improved_policy(tree, ROOT, 50.0, 0.1, out)
    logits = np.log(np.maximum(priors[order], 1e-30)) + reference_sigma(
        tree.prior[kids], visits, tree.value_sum[kids], float(tree.raw_value[ROOT]))
    expected = np.exp(logits - logits.max())
    assert np.allclose(out, expected / expected.sum(), atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.sampled_from([0.0, 1.0]))
def test_two_simulations_never_pick_a_move_worse_than_the_priors_sample(seed, scale):
    search = gumbel_search(seed, 3, gumbel_m=16, gumbel_scale=scale)  # the root's evaluation + 2 simulations
    moves, visits, sums, prior, _ = root_children(search)
    assert sorted(visits.tolist())[-2:] == [1, 1] and visits.sum() == 2
    sampled = moves[np.argmax(search.gumbel_noise()[moves] + np.log(np.maximum(prior, 1e-30)))]
    q = dict(zip(moves.tolist(), np.where(visits > 0, sums / np.maximum(visits, 1), np.nan)))
    assert q[search.choose_move()] >= q[int(sampled)]


def test_gumbel_needs_puct_selection_and_a_positive_m():
    with pytest.raises(SearchConfigError, match="needs selection 'puct'"):
        SearchConfig(root="gumbel", selection="uct")
    with pytest.raises(SearchConfigError, match="gumbel_m"):
        SearchConfig(root="gumbel", gumbel_m=0)
    with pytest.raises(SearchConfigError, match="'sampled'"):
        SearchConfig(root="sampled")
