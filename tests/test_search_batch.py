"""The batch of trees (rlgo.search.mcts.MCTS with trees > 1): batch independence, re-rooting, evaluator
routing in matches, per-tree root noise, the pass rule."""
from __future__ import annotations

import numpy as np
import pytest

from rlgo.go.rules import Rules
from rlgo.go.state import BLACK, WHITE, GameState
from rlgo.search.config import SearchConfig, SearchConfigError
from rlgo.search.evaluator import NetworkEvaluator
from rlgo.search.mcts import MCTS, may_pass
from rlgo.search.tree import ROOT

SIZE = 5


class LinearNet:
    """A fixed random affine 'network' on the planes: a pure function of each position, so any batching
    of the same leaves gives the same results. Counts the positions it evaluated by side to move.

    The policy bias keeps priors distinct even where every plane is zero (White to move after a
    pass on the empty board)."""

    def __init__(self, seed: int, size: int = SIZE):
        rng = np.random.default_rng(seed)
        self.b_policy = rng.normal(size=size * size + 1).astype(np.float32)
        self.w_policy = rng.normal(size=(17 * size * size, size * size + 1)).astype(np.float32)
        self.w_value = rng.normal(size=17 * size * size).astype(np.float32) * 0.1
        self.calls = {BLACK: 0, WHITE: 0}

    def __call__(self, planes, legal):
        x = planes.reshape(len(planes), -1)
        logits = np.where(legal, x @ self.w_policy + self.b_policy, -np.inf)
        priors = np.exp(logits - logits.max(axis=1, keepdims=True))
        black = planes[:, 16, 0, 0] == 1
        self.calls[BLACK] += int(black.sum())
        self.calls[WHITE] += int((~black).sum())
        return (priors / priors.sum(axis=1, keepdims=True)).astype(np.float32), np.tanh(x @ self.w_value)


def evaluator(net) -> NetworkEvaluator:
    return NetworkEvaluator(net, board_size=SIZE)


def random_position(seed: int, moves: int, size: int = SIZE) -> GameState:
    """A game after up to `moves` random legal non-pass moves."""
    rng = np.random.default_rng(seed)
    state = GameState(size, Rules())
    for _ in range(moves):
        legal = np.flatnonzero(state.legal_mask()[:-1])
        if not legal.size:
            break
        state.play(int(rng.choice(legal)))
    return state


def run(search: MCTS) -> None:
    while any(search.searching(t) for t in range(search.trees)):
        search.step()


def config(**changes) -> SearchConfig:
    return SearchConfig(**{"simulations": 40, "batch_size": 4, "node_budget": 20_000, **changes})


@pytest.mark.parametrize("root", ["puct", "gumbel"])
def test_trees_stepped_together_search_as_if_alone(root):
    net = LinearNet(1)
    states = [random_position(s, m) for s, m in ((1, 0), (2, 6), (3, 11))]
    together = MCTS(SIZE, evaluator(net), config(root=root, gumbel_scale=0.0), trees=len(states))
    for t, s in enumerate(states):
        together.reset(t, seed=t)
        together.begin(s, 40, t)
    run(together)
    for t, s in enumerate(states):
        alone = MCTS(SIZE, evaluator(net), config(root=root, gumbel_scale=0.0))
        alone.reset(0, seed=t)
        alone.begin(s, 40)
        run(alone)
        assert np.array_equal(alone.visit_counts(), together.visit_counts(t))
        assert alone.visit_counts().sum() == 40 - 1  # the root's own evaluation is no child visit
        assert alone.choose_move() == together.choose_move(t)
        assert np.allclose(alone.policy_target(), together.policy_target(t))


def test_re_rooting_one_tree_keeps_its_subtree_and_leaves_the_others_alone():
    search = MCTS(SIZE, evaluator(LinearNet(2)), config(simulations=80), trees=2)
    states = [random_position(5, 4), random_position(6, 3)]
    for t, s in enumerate(states):
        search.begin(s, 80, t)
    run(search)
    other = search.visit_counts(1).copy()
    move = search.choose_move(0)
    child_visits = search.visit_counts(0)[move]
    assert child_visits == search.visit_counts(0).max()
    states[0].play(move)
    assert search.begin(states[0], 10, 0)
    assert search.root_visits(0) == child_visits
    run(search)
    assert search.root_visits(0) == child_visits + 10 and search.done_simulations(0) == 10
    assert np.array_equal(search.visit_counts(1), other)


def test_each_tree_is_searched_by_its_own_evaluator():
    nets = [LinearNet(3), LinearNet(4)]
    search = MCTS(SIZE, [evaluator(n) for n in nets], config(simulations=30), trees=2, evaluator_of=[0, 1])
    state = GameState(SIZE, Rules())
    search.begin(state, 30, 0)
    run(search)
    assert sum(nets[0].calls.values()) > 0 and sum(nets[1].calls.values()) == 0
    state.play(search.choose_move(0))
    before = dict(nets[0].calls)
    search.begin(state, 30, 1)
    search.begin(random_position(9, 5), 30, 0)  # both trees in one step: one call per evaluator
    run(search)
    assert 0 < sum(nets[0].calls.values()) - sum(before.values()) <= 30  # tree 0's leaves only
    assert 0 < sum(nets[1].calls.values()) <= 30  # tree 1's
    with pytest.raises(SearchConfigError, match="evaluator_of"):
        MCTS(SIZE, [evaluator(n) for n in nets], config(), trees=2, evaluator_of=[0, 2])


def test_root_noise_of_one_tree_changes_only_that_search_and_no_stored_prior():
    net = LinearNet(5)
    noisy_config = config(simulations=60, dirichlet_epsilon=0.5, dirichlet_alpha=0.3, fpu=0.0)
    search = MCTS(SIZE, evaluator(net), noisy_config, trees=2)
    clean = MCTS(SIZE, evaluator(net), noisy_config)
    for s, t, noise in ((search, 0, False), (search, 1, True), (clean, 0, False)):
        s.reset(t, seed=7)
        s.begin(GameState(SIZE, Rules()), 60, t, noise=noise)
    run(search)
    run(clean)
    assert np.array_equal(search.visit_counts(0), clean.visit_counts())
    assert not np.array_equal(search.visit_counts(1), clean.visit_counts())
    priors = [search.tree_arrays(t).prior[1:1 + int(search.tree_arrays(t).num_children[ROOT])] for t in (0, 1)]
    moves = [search.tree_arrays(t).move[1:1 + len(priors[t])] for t in (0, 1)]
    assert np.allclose(priors[0][np.argsort(moves[0])], priors[1][np.argsort(moves[1])])


def test_pass_rule_plays_on_while_the_count_favours_the_opponent():
    def loves_pass(planes, legal):
        priors = np.where(legal, 1e-3, 0.0)
        priors[:, -1] = 1.0
        return (priors / priors.sum(axis=1, keepdims=True)).astype(np.float32), np.zeros(len(legal), np.float32)

    state = GameState(SIZE, Rules(komi=2.5))
    state.play(12)  # one black stone: Black owns the whole board, White to move is behind
    search = MCTS(SIZE, evaluator(loves_pass), config(simulations=20))
    search.search(state)
    assert not may_pass(state)
    assert search.choose_move() == state.pass_move
    guarded = search.choose_move(allow_pass=False)
    assert guarded != state.pass_move and state.is_legal(guarded)
    assert all(search.choose_move(proportional=True, allow_pass=False) != state.pass_move for _ in range(20))
    state.play(guarded)
    state.play(state.pass_move)  # Black passes; now White leads on the count and may pass
    assert state.area_score() < 0 and may_pass(state)
    search.search(state)
    assert search.choose_move(allow_pass=True) == state.pass_move
