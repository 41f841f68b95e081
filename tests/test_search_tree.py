"""MCTS core with deterministic fake evaluators: convergence, virtual loss, reuse, budget, legality."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rlgo.go import coords, features, kernels as K
from rlgo.go.rules import Rules
from rlgo.go.state import BLACK, WHITE, GameState
from rlgo.search.config import BoardSizeError, SearchConfig, SearchConfigError, SearchError
from rlgo.search.evaluator import EvaluatorError, NetworkEvaluator, uniform_priors
from rlgo.search.mcts import MCTS
from rlgo.search.tree import ROOT, UNEXPANDED, bytes_per_node
from tests.conftest import board_from_ascii


class FakeEvaluator:
    """Deterministic evaluator: `value(b, m)` for the side to move, priors from `prior(legal)` (default uniform)."""

    feature_set = None
    history_length = 0

    def __init__(self, value=None, prior=None):
        self.value = value or (lambda b, m: 0.0)
        self.prior = prior or uniform_priors
        self.batches: list[int] = []
        self.search: MCTS | None = None  # set by tests that inspect the leaves of each batch
        self.leaves: list[np.ndarray] = []

    def evaluate(self, batch):
        self.batches.append(len(batch.b))
        if self.search is not None:
            self.leaves.append(self.search._leaves.rows[:len(batch.b), 1].copy())
        values = np.array([self.value(batch.b[i], batch.m[i]) for i in range(len(batch.b))], np.float32)
        return self.prior(batch.legal), values


def point_value(point: int, color: int, size: int = 9):
    """+1 for `color` when it holds `point`, -1 when the opponent does, else 0 (for the leaf's side to move).

    Whoever takes the point first wins: `color` to move at the root wins by playing it, and every
    other root move is refuted by the opponent taking it.
    """
    vertex = coords.to_vertex(point, size)

    def value(b, m):
        stone = b[K.COL, vertex]
        v = 1.0 if stone == color else -1.0 if stone == 3 - color else 0.0
        return v if m[K.M_TOPLAY] == color else -v
    return value


def fixed_prior(weights: dict[int, float]):
    """Priors `weights` on some points (0 elsewhere, pass included), masked to the legal moves."""
    def prior(legal):
        p = np.zeros(legal.shape, np.float32)
        for point, w in weights.items():
            p[:, point] = w
        return p * legal
    return prior


def tree_invariants(search: MCTS) -> None:
    """No virtual loss left, |Q| <= 1, and visits(node) = own evaluation + children's visits."""
    t = search.tree
    used = int(t.meta[0])
    assert used <= search.config.node_budget
    assert not t.virtual_loss[:used].any()
    assert (np.abs(t.value_sum[:used]) <= t.visits[:used] + 1e-6).all()
    for node in range(used):
        first = t.first_child[node]
        if first != UNEXPANDED:
            kids = t.visits[first:first + t.num_children[node]].sum()
            assert t.visits[node] == kids + search.config.expand_visits
            assert (t.parent[first:first + t.num_children[node]] == node).all()


# ----------------------------------------------------------------- convergence
def test_the_only_winning_child_gets_almost_all_visits():
    good = coords.from_gtp("E5", 9)
    search = MCTS(9, FakeEvaluator(point_value(good, BLACK)), SearchConfig(simulations=800, batch_size=1, fpu=0.0))
    search.search(GameState(9))
    visits = search.visit_counts()
    assert visits.argmax() == good and search.choose_move() == good
    assert visits[good] > 0.8 * visits.sum()
    tree_invariants(search)


@pytest.mark.parametrize("seed", [0, 9, 27])
def test_equal_values_make_puct_visits_follow_the_priors(seed):
    """Every other point gets a tiny prior and pass none, so that no line runs out of moves into a scored
    finished game, which would make the values unequal."""
    weights = {10: 0.4, 20: 0.3, 30: 0.15, 40: 0.1, 50: 0.05}
    weighted = fixed_prior(weights)

    def prior(legal):
        p = np.maximum(weighted(legal), 1e-7) * legal
        p[:, -1] = 0.0
        return p
    config = SearchConfig(simulations=2000, batch_size=1, fpu=0.0, seed=seed)
    search = MCTS(9, FakeEvaluator(prior=prior), config)
    search.search(GameState(9))
    visits = search.visit_counts()
    total = visits.sum()
    assert total == 1999  # the first simulation evaluated the root itself
    for point, p in weights.items():
        assert abs(visits[point] / total - p) < 0.005
    assert visits.sum() == sum(visits[p] for p in weights)  # the tiny-prior moves are never chosen


def test_uct_tries_every_child_before_revisiting_one():
    search = MCTS(5, FakeEvaluator(), SearchConfig(simulations=27, selection="uct", batch_size=1))
    search.search(GameState(5))
    assert (search.visit_counts() == 1).all()  # 25 points + pass, one visit each after 26 children


# ----------------------------------------------------------------- batching
def test_virtual_loss_spreads_a_batch_over_distinct_leaves():
    evaluator = FakeEvaluator(point_value(40, BLACK))
    search = MCTS(9, evaluator, SearchConfig(simulations=400, batch_size=16))
    evaluator.search = search
    search.search(GameState(9))
    assert evaluator.batches[0] == 1  # only the root exists: the other descents collide and are dropped
    assert np.mean(evaluator.batches[1:-1]) > 15
    for leaves in evaluator.leaves:
        assert len(set(leaves.tolist())) == len(leaves)
    tree_invariants(search)


def test_colliding_descents_are_dropped_on_a_tiny_tree():
    # 2x2 board: most descents of a batch end on leaves already taken
    evaluator = FakeEvaluator()
    search = MCTS(2, evaluator, SearchConfig(simulations=300, batch_size=64))
    evaluator.search = search
    result = search.search(GameState(2, Rules(komi=0.5)))
    assert result.simulations == 300
    assert evaluator.batches[0] == 1
    for leaves in evaluator.leaves:
        assert len(set(leaves.tolist())) == len(leaves)
    tree_invariants(search)


# ----------------------------------------------------------------- tree reuse and budget
def test_subtree_reuse_keeps_the_counts_of_the_chosen_child():
    state = GameState(9)
    search = MCTS(9, FakeEvaluator(point_value(40, BLACK)), SearchConfig(simulations=600, batch_size=4))
    search.search(state)
    t = search.tree
    first = t.first_child[ROOT]
    child = first + int(np.argmax(t.visits[first:first + t.num_children[ROOT]]))
    move, child_visits, child_sum = int(t.move[child]), int(t.visits[child]), float(t.value_sum[child])
    grand = np.zeros(82, np.int64)
    for g in range(t.first_child[child], t.first_child[child] + t.num_children[child]):
        grand[t.move[g]] = t.visits[g]
    state.play(move)
    assert search.set_root(state)
    assert search.root_visits() == child_visits and search.tree.value_sum[ROOT] == child_sum
    assert (search.visit_counts() == grand).all()
    search.search(state, simulations=8)
    assert search.root_visits() == child_visits + 8
    assert search.visit_counts().sum() - grand.sum() == 8
    tree_invariants(search)


def test_a_position_from_another_game_starts_a_fresh_tree():
    search = MCTS(9, FakeEvaluator(), SearchConfig(simulations=100, batch_size=4))
    state = GameState(9)
    state.play(40)
    search.search(state)
    other = GameState(9)
    other.play(41)
    search.search(other, simulations=8)
    assert search.root_visits() == 8


def test_node_budget_exhaustion_stops_gracefully_and_resets_cleanly():
    config = SearchConfig(simulations=1000, batch_size=4, node_budget=400)
    search = MCTS(9, FakeEvaluator(point_value(40, BLACK)), config)
    state = GameState(9)
    result = search.search(state)
    assert result.reason == "full" and result.simulations < 1000
    assert int(search.tree.meta[0]) <= 400
    assert state.is_legal(search.choose_move())
    tree_invariants(search)
    search.reset()
    assert search.root_visits() == 0 and search.tree.first_child[ROOT] == UNEXPANDED
    again = search.search(state)
    assert again.reason == "full" and 0 < again.simulations < 1000


def test_bytes_per_node_counts_every_node_array():
    assert bytes_per_node(MCTS(9, FakeEvaluator(), SearchConfig(node_budget=1000)).forest) == 48



def _puct_reference(tree, node, c, fpu):
    """PUCT's choice at `node` by a direct numpy scan of every child (first maximum)."""
    ch = np.arange(tree.first_child[node], tree.first_child[node] + tree.num_children[node])
    n = (tree.visits[ch] + tree.virtual_loss[ch]).astype(np.float64)
    parent_n = tree.visits[node] + tree.virtual_loss[node]
    fpu_q = (-tree.value_sum[node] / tree.visits[node] if tree.visits[node] else 0.0) - fpu
    q = np.where(n == 0, fpu_q, (tree.value_sum[ch] - tree.virtual_loss[ch]) / np.maximum(n, 1))
    score = q + c * np.sqrt(max(parent_n, 1)) * tree.prior[ch].astype(np.float64) / (1 + n)
    return int(ch[np.argmax(score)])


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31), batch=st.sampled_from([1, 8]), simulations=st.integers(20, 400))
def test_puct_below_the_root_picks_what_a_scan_of_every_child_picks(seed, batch, simulations):
    """select_child scans a non-root node's children only up to the first one never selected: they are kept
    as a prefix of selected children followed by the best prior of the rest. Checked against a full scan at
    every expanded node after searches with random priors (ties included) and values."""
    from rlgo.search.tree import select_child
    rng = np.random.default_rng(seed)

    def prior(legal):
        return (rng.integers(1, 4, legal.shape) * legal).astype(np.float32)  # few distinct values: ties

    config = SearchConfig(simulations=simulations, batch_size=batch, seed=seed)
    search = MCTS(9, FakeEvaluator(lambda b, m: float(rng.uniform(-1, 1)), prior), config)
    search.search(GameState(9))
    tree = search.tree_arrays()
    noise = np.zeros(82, np.float32)
    for node in np.flatnonzero(tree.first_child[:int(tree.meta[0])] != UNEXPANDED):
        if node == ROOT:
            continue
        ch = np.arange(tree.first_child[node], tree.first_child[node] + tree.num_children[node])
        touched = tree.visits[ch] + tree.virtual_loss[ch] > 0
        k = int(touched.sum())
        assert touched[:k].all()  # the selected children come first
        if k < len(ch):
            assert tree.prior[ch[k]] == tree.prior[ch[k:]].max()
        expected = _puct_reference(tree, node, config.c_puct, config.fpu)
        assert select_child(tree, node, False, config.c_puct, config.fpu, 0.0, noise, 0.0) == expected

# ----------------------------------------------------------------- determinism, noise, temperature
@pytest.mark.parametrize("selection", ["puct", "uct"])
def test_same_seed_same_visit_counts(selection):
    def run(seed):
        value = point_value(30, WHITE)
        search = MCTS(9, FakeEvaluator(value), SearchConfig(simulations=300, batch_size=8, selection=selection,
                                                             seed=seed, dirichlet_epsilon=0.25))
        search.search(GameState(9))
        return search.visit_counts()
    assert (run(3) == run(3)).all()
    assert not (run(3) == run(4)).all()


def test_root_noise_changes_the_search_but_not_the_stored_priors():
    weights = {10: 0.5, 20: 0.3, 30: 0.2}
    plain = MCTS(9, FakeEvaluator(prior=fixed_prior(weights)), SearchConfig(simulations=400, fpu=0.0))
    noisy = MCTS(9, FakeEvaluator(prior=fixed_prior(weights)),
                 SearchConfig(simulations=400, fpu=0.0, dirichlet_epsilon=0.5, dirichlet_alpha=0.3))
    plain.search(GameState(9))
    noisy.search(GameState(9))
    assert (noisy.visit_counts() != plain.visit_counts()).any()
    assert noisy.visit_counts()[[p for p in range(82) if p not in weights]].sum() > 0  # noise reached them
    t = noisy.tree
    first, count = t.first_child[ROOT], t.num_children[ROOT]
    priors = {int(t.move[c]): float(t.prior[c]) for c in range(first, first + count)}
    assert all(abs(priors[p] - w) < 1e-6 for p, w in weights.items())


def test_proportional_choice_follows_the_visit_counts():
    search = MCTS(9, FakeEvaluator(prior=fixed_prior({10: 0.6, 20: 0.4})), SearchConfig(simulations=500, fpu=0.0))
    search.search(GameState(9))
    visits = search.visit_counts()
    draws = np.bincount([search.choose_move(proportional=True) for _ in range(3000)], minlength=82)
    expected = visits / visits.sum()
    assert np.abs(draws / 3000 - expected).max() < 0.04


# ----------------------------------------------------------------- errors before searching
class Untouchable(FakeEvaluator):
    def evaluate(self, batch):
        raise AssertionError("the search must not start")


@pytest.mark.parametrize("fields, text", [
    ({"simulations": 0}, "simulations"), ({"simulations": -5}, "-5"), ({"c_puct": -1.0}, "c_puct"),
    ({"batch_size": 64, "node_budget": 32}, "exceeds node_budget"), ({"selection": "ucb"}, "'ucb'"),
    ({"dirichlet_epsilon": 1.5}, "1.5"), ({"expand_visits": 0}, "expand_visits"),
])
def test_bad_config_raises_a_specific_error(fields, text):
    with pytest.raises(SearchConfigError, match=text):
        SearchConfig(**fields)


@pytest.mark.parametrize("name", ["temperature_moves", "resign_winrate", "resign_moves", "resign_visits",
                                  "rollout_lambda"])
def test_agent_policy_is_no_search_setting(name):
    with pytest.raises(SearchConfigError, match=f"unknown SearchConfig fields \\['{name}'\\]"):
        SearchConfig().replace(**{name: 1})


def test_bad_inputs_raise_before_any_search():
    search = MCTS(9, Untouchable(), SearchConfig(simulations=10))
    with pytest.raises(BoardSizeError, match="13x13"):
        search.search(GameState(13))
    with pytest.raises(SearchConfigError, match="simulations"):
        search.search(GameState(9), simulations=0)
    finished = GameState(9)
    finished.play(81)
    finished.play(81)
    with pytest.raises(SearchError, match="finished"):
        search.search(finished)
    with pytest.raises(SearchConfigError, match="node_budget 50"):
        MCTS(9, Untouchable(), SearchConfig(node_budget=50))
    net = NetworkEvaluator(lambda planes, legal: None, board_size=19)
    with pytest.raises(BoardSizeError, match="19x19"):
        MCTS(9, net)
    with pytest.raises(SearchConfigError, match="unknown"):
        SearchConfig().replace(visits=3)


def test_a_broken_evaluator_is_reported():
    class Broken(FakeEvaluator):
        def evaluate(self, batch):
            return np.zeros((len(batch.b), 3), np.float32), np.zeros(len(batch.b), np.float32)
    with pytest.raises(EvaluatorError, match=r"\[1, 82\]"):
        MCTS(9, Broken()).search(GameState(9))


# ----------------------------------------------------------------- legality in the tree
def test_every_move_illegal_but_pass():
    state = board_from_ascii("""
        . X .
        X X X
        . X .
    """, to_play=WHITE)
    assert state.legal_mask().sum() == 1
    evaluator = FakeEvaluator(prior=lambda legal: np.ones(legal.shape, np.float32))  # priors on illegal moves too
    search = MCTS(3, evaluator, SearchConfig(simulations=50, batch_size=4))
    result = search.search(state)
    assert search.choose_move() == 9
    assert search.visit_counts().tolist() == [0] * 9 + [search.root_visits() - 1]
    assert result.simulations == 50
    # after White's pass, Black's pass ends the game: an exact win for Black (area 9 - 0 - 7.5)
    state.play(9)
    search.search(state, simulations=20)
    pass_child = [c for c in search.candidates() if c.move == 9][0]
    assert pass_child.winrate == 1.0


def random_game(size: int, rules: Rules, moves: list[int]) -> GameState:
    """A game of the given move choices (indices into the legal moves, passes avoided when possible)."""
    state = GameState(size, rules)
    for choice in moves:
        legal = np.flatnonzero(state.legal_mask()[:-1])
        if state.is_over or len(legal) == 0:
            break
        state.play(int(legal[choice % len(legal)]))
    return state


@settings(max_examples=30, deadline=None)
@given(size=st.integers(2, 5), ko=st.sampled_from(["simple", "positional", "situational"]),
       moves=st.lists(st.integers(0, 1000), min_size=0, max_size=60))
def test_tree_moves_match_the_game_rules_including_superko(size, ko, moves):
    state = random_game(size, Rules(ko=ko, komi=0.5), moves)
    if state.is_over:
        return
    search = MCTS(size, FakeEvaluator(), SearchConfig(simulations=300, batch_size=4, node_budget=20_000))
    search.search(state)
    t = search.tree
    stack = [(ROOT, state)]  # every expanded node: its children are the legal moves of its position
    while stack:
        node, position = stack.pop()
        first, count = t.first_child[node], t.num_children[node]
        kids = t.move[first:first + count].tolist()
        assert sorted(kids) == np.flatnonzero(position.legal_mask()).tolist()
        for child, move in zip(range(first, first + count), kids):
            if t.first_child[child] != UNEXPANDED:
                after = position.copy()
                after.play(move)
                stack.append((child, after))


# ----------------------------------------------------------------- network plumbing
def test_network_evaluator_sees_the_feature_planes_of_each_leaf():
    state = GameState(9)
    for gtp in ("E5", "C3", "G7"):
        state.play_gtp(gtp)
    seen = []

    def net(planes, legal):
        seen.append(planes.copy())
        return uniform_priors(legal), np.zeros(len(planes), np.float32)

    search = MCTS(9, NetworkEvaluator(net, "agz"), SearchConfig(simulations=40, batch_size=8, fpu=0.0))
    search.search(state)
    assert seen[0].shape == (1, features.feature_planes("agz"), 9, 9)
    assert np.array_equal(seen[0][0], features.encode(state, "agz"))  # the root's own history
    expected = {}
    for move in np.flatnonzero(state.legal_mask()):
        after = state.copy()
        after.play(int(move))
        expected[int(move)] = features.encode(after, "agz")
    depth_one = [planes for batch in seen[1:] for planes in batch
                 if any(np.array_equal(planes, e) for e in expected.values())]
    assert len(depth_one) == sum(len(batch) for batch in seen[1:])  # 39 simulations: all depth-one leaves


# ----------------------------------------------------------------- RAVE
def test_amaf_backup_credits_moves_first_played_by_the_same_side():
    from rlgo.search.simulate import amaf_backup
    from rlgo.search.tree import expand, find_child, new_tree
    a, b, c, d, e = 10, 11, 12, 13, 14
    t = new_tree(100)
    expand(t, ROOT, np.array([a, b, c]), np.full(3, 1 / 3, np.float32), 3)  # Black to move at the root
    node_a = find_child(t, ROOT, a)
    expand(t, node_a, np.array([d, e]), np.full(2, 0.5, np.float32), 2)  # White to move
    node_d = find_child(t, node_a, d)
    first = np.zeros(81, np.int8)
    first[b] = BLACK
    first[e] = WHITE
    first[d] = BLACK  # in the rollout Black played D, but White played it earlier, in the tree
    first[c] = WHITE
    amaf_backup(t, node_d, first, BLACK, 1.0)  # Black to move at the leaf, and Black won
    credited = {mv: (int(t.amaf_visits[find_child(t, parent, mv)]), float(t.amaf_sum[find_child(t, parent, mv)]))
                for parent, moves in ((ROOT, (a, b, c)), (node_a, (d, e))) for mv in moves}
    assert credited == {a: (1, 1.0), b: (1, 1.0), c: (0, 0.0), d: (1, -1.0), e: (1, -1.0)}


def test_rave_needs_uct_and_a_non_negative_k():
    with pytest.raises(SearchConfigError, match="needs selection 'uct'"):
        SearchConfig(rave=100.0)
    with pytest.raises(SearchConfigError, match="-1"):
        SearchConfig(rave=-1.0, selection="uct")


def test_non_finite_evaluator_outputs_are_reported():
    class NaN(FakeEvaluator):
        def evaluate(self, batch):
            priors, values = super().evaluate(batch)
            values[-1] = np.nan
            return priors, values
    with pytest.raises(EvaluatorError, match="non-finite"):
        MCTS(9, NaN()).search(GameState(9))
