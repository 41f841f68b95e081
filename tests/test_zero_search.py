"""BatchedSearch (rlgo.train.zero.multisearch): same trees as the MCTS class, batch independence, re-rooting,
network routing in matches, root noise."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rlgo.go.rules import Rules
from rlgo.go.state import BLACK, WHITE, GameState
from rlgo.search.config import SearchConfig
from rlgo.search.evaluator import NetworkEvaluator
from rlgo.search.mcts import MCTS
from rlgo.search.tree import ROOT
from rlgo.train.zero.multisearch import BatchedSearch

SIZE = 5


class LinearNet:
    """A fixed random affine 'network' on the planes: a pure function of each position, so any batching
    of the same leaves gives the same results. Counts the positions it evaluated by side to move.

    The policy bias keeps priors distinct even where every plane is zero (White to move after a
    pass on the empty board): equal priors would leave the choice among unvisited children to each
    tree's random child order, which the two searches compared here do not share."""

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


def searched(search: BatchedSearch, games, playouts: int) -> None:
    for g in games:
        search.begin(g, playouts)
    while not all(g.done for g in games):
        search.step(games)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), moves=st.integers(0, 14), playouts=st.integers(2, 60))
def test_one_leaf_per_step_builds_the_mcts_class_tree(seed, moves, playouts):
    state = random_position(seed, moves)
    net = LinearNet(seed)
    reference = MCTS(SIZE, NetworkEvaluator(net, board_size=SIZE),
                     SearchConfig(playouts=playouts, batch_size=1, c_puct=1.5, fpu=0.25, seed=seed))
    reference.search(state)
    batched = BatchedSearch(SIZE, [net], state.rules, playouts, 1, 1, c_puct=1.5, fpu=0.25)
    game = batched.new_game(state.copy())
    searched(batched, [game], playouts)
    assert np.array_equal(game.visit_counts(), reference.visit_counts())
    assert game.root_value() == pytest.approx(reference.root_value())


def test_games_stepped_together_search_as_if_alone():
    net = LinearNet(1)
    states = [random_position(s, m) for s, m in ((1, 0), (2, 6), (3, 11))]
    together = BatchedSearch(SIZE, [net], Rules(), 40, 4, len(states))
    games = [together.new_game(s.copy(), seed=i) for i, s in enumerate(states)]
    searched(together, games, 40)
    for i, s in enumerate(states):
        alone = BatchedSearch(SIZE, [net], Rules(), 40, 4, 1)
        game = alone.new_game(s.copy(), seed=i)
        searched(alone, [game], 40)
        assert np.array_equal(game.visit_counts(), games[i].visit_counts())
        assert game.visit_counts().sum() == 40 - 1  # the root's own evaluation is no child visit


def test_play_keeps_the_subtree_of_the_move():
    net = LinearNet(2)
    search = BatchedSearch(SIZE, [net], Rules(), 80, 4, 1)
    game = search.new_game(random_position(5, 4))
    searched(search, [game], 80)
    move = game.choose(np.random.default_rng(0), proportional=False)
    child_visits = game.visit_counts()[move]
    assert child_visits == game.visit_counts().max()
    search.play(game, move)
    assert game.tree.visits[ROOT] == child_visits
    assert game.visit_counts().sum() == child_visits - 1
    search.begin(game, 10)
    assert game.target == child_visits + 10


def test_each_side_is_searched_by_its_own_network():
    nets = [LinearNet(3), LinearNet(4)]
    search = BatchedSearch(SIZE, nets, Rules(), 30, 4, 1)
    game = search.new_game(GameState(SIZE, Rules()), nets=(0, 1))
    searched(search, [game], 30)
    assert sum(nets[0].calls.values()) > 0 and sum(nets[1].calls.values()) == 0
    search.play(game, game.choose(np.random.default_rng(0), proportional=False))
    assert game.state.to_play == WHITE
    before = dict(nets[0].calls)
    searched(search, [game], 30)
    assert nets[0].calls == before and sum(nets[1].calls.values()) > 0


def test_root_noise_changes_priors_once_and_keeps_them_normalised():
    net = LinearNet(5)
    search = BatchedSearch(SIZE, [net], Rules(), 20, 4, 2, alpha=0.3, seed=9)
    clean, noisy = (search.new_game(GameState(SIZE, Rules())) for _ in range(2))
    search.begin(clean, 20)
    search.begin(noisy, 20, noise_epsilon=0.5)
    search.step([clean, noisy])  # expands both roots, then mixes noise into the second
    count = int(clean.tree.num_children[ROOT])
    p_clean = clean.tree.prior[1:1 + count]
    p_noisy = noisy.tree.prior[1:1 + count]
    assert p_noisy.sum() == pytest.approx(1.0, abs=1e-5)
    assert not np.allclose(np.sort(p_clean), np.sort(p_noisy))
    assert noisy.noise_epsilon == 0.0
    again = p_noisy.copy()
    searched(search, [noisy], 20)
    assert np.array_equal(noisy.tree.prior[1:1 + count], again)


def test_pass_guard_plays_on_while_the_count_favours_the_opponent():
    def loves_pass(planes, legal):
        priors = np.where(legal, 1e-3, 0.0)
        priors[:, -1] = 1.0
        return (priors / priors.sum(axis=1, keepdims=True)).astype(np.float32), np.zeros(len(legal), np.float32)

    state = GameState(SIZE, Rules(komi=2.5))
    state.play(12)  # one black stone: Black owns the whole board, White to move is behind
    search = BatchedSearch(SIZE, [loves_pass], state.rules, 20, 4, 1)
    game = search.new_game(state)
    searched(search, [game], 20)
    rng = np.random.default_rng(0)
    assert game.choose(rng, proportional=False) == state.pass_move
    guarded = game.choose(rng, proportional=False, pass_guard=True)
    assert guarded != state.pass_move and state.is_legal(guarded)
    assert all(game.choose(rng, proportional=True, pass_guard=True) != state.pass_move for _ in range(20))
    state.play(guarded)
    state.play(state.pass_move)  # Black passes; now White leads on the count and may pass
    ahead = search.new_game(state)
    searched(search, [ahead], 20)
    assert state.area_score() < 0 and ahead.choose(rng, proportional=False, pass_guard=True) == state.pass_move
