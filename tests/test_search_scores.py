"""Score statistics of the search: final margins backed up beside the values (rollout search), per node and at
the root, and what kata-analyze makes of them."""
from __future__ import annotations

import numpy as np
import pytest

from agents.mcts_agent import MCTSAgent
from rlgo.go.state import BLACK, WHITE, GameState
from rlgo.gtp.analysis import AnalyzeRequest, Judged, complete
from rlgo.search.config import SearchConfig
from rlgo.search.evaluator import NetworkEvaluator
from rlgo.search.mcts import MCTS
from rlgo.search.tree import NO_NODE, ROOT
from tests.analysis_formats import parse_kata_line
from tests.conftest import board_from_ascii
from tests.test_gtp_gui import SETTLED, SETTLED_LEAD


class KnownScores:
    """Equal priors (none on pass), values 0, and a drawn (mean, mean square) per leaf, recorded by tree node."""

    feature_set, history_length, scores = None, 0, True

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.search = None
        self.seen: list[tuple[int, float, float]] = []  # (leaf node, mean, mean square) for its side to move

    def evaluate(self, batch):
        n = len(batch.b)
        mean = self.rng.normal(3.0, 10.0, n)
        square = mean ** 2 + self.rng.uniform(0, 20, n)
        batch.score[:, 0], batch.score[:, 1] = mean, square
        for row in range(n):
            self.seen.append((int(self.search._leaves.rows[row, 1]), float(batch.score[row, 0]),
                              float(batch.score[row, 1])))
        priors = batch.legal.astype(np.float32)
        priors[:, -1] = 0.0
        return priors, np.zeros(n, np.float32)


def depth_of(tree, node: int) -> int:
    depth = 0
    while tree.parent[node] != NO_NODE:
        node, depth = int(tree.parent[node]), depth + 1
    return depth


@pytest.mark.parametrize("seed,batch", [(0, 1), (1, 4), (2, 8)])
def test_a_nodes_score_statistics_are_those_of_the_leaves_under_it(seed, batch):
    evaluator = KnownScores(seed)
    search = evaluator.search = MCTS(5, evaluator, SearchConfig(simulations=150, batch_size=batch))
    search.search(GameState(5))
    tree = search.tree
    used = int(tree.meta[0])
    under = {node: [] for node in range(used)}
    for leaf, mean, square in evaluator.seen:
        node, flips = leaf, 0
        while node != NO_NODE:
            # the mover into `node` sees the leaf's side to move's margin with sign (-1) ** (flips + 1)
            under[node].append(((-1) ** (flips + 1) * mean, square))
            node, flips = int(tree.parent[node]), flips + 1
    checked = 0
    for node in range(used):
        if tree.visits[node] == 0:
            continue
        means, squares = zip(*under[node])
        assert len(means) == tree.visits[node]
        assert tree.score_sum[node] / tree.visits[node] == pytest.approx(np.mean(means), abs=1e-4)
        assert tree.score_sq[node] / tree.visits[node] == pytest.approx(np.mean(squares), rel=1e-5)
        checked += depth_of(tree, node) >= 2
    assert checked > 0
    mean, stdev = search.root_score()
    root_means = [-m for m, _ in under[ROOT]]
    assert mean == pytest.approx(np.mean(root_means), abs=1e-4)
    assert stdev == pytest.approx(np.sqrt(np.mean([s for _, s in under[ROOT]]) - np.mean(root_means) ** 2), rel=1e-4)
    for c in search.candidates(limit=30):
        child = next(ch for ch in range(used) if tree.parent[ch] == ROOT and tree.move[ch] == c.move)
        assert c.score_mean == pytest.approx(np.mean([m for m, _ in under[child]]), abs=1e-4)


@pytest.mark.parametrize("to_play", [BLACK, WHITE])
def test_rollout_search_scores_a_settled_lead_from_the_tree(to_play):
    agent = MCTSAgent(simulations=64, seed=1)
    state = board_from_ascii(SETTLED, to_play=to_play)
    agent.ponder(state, visits=64)
    sign = 1 if to_play == BLACK else -1
    mean, stdev = agent.search.root_score()
    assert mean == pytest.approx(sign * SETTLED_LEAD) and stdev == pytest.approx(0.0, abs=1e-6)
    infos = agent.analysis()
    assert infos and all(i.score_lead == pytest.approx(sign * SETTLED_LEAD) for i in infos)


def test_kata_analyze_takes_visited_scores_from_the_tree_without_fresh_rollouts():
    agent = MCTSAgent(simulations=200, seed=3)
    state = GameState(9)
    agent.select_move(state)
    judged = Judged(agent, state)
    request = AnalyzeRequest(None, 10, 0, flags=frozenset({"rootInfo"}))
    shown = complete(agent.analysis(), judged, request)
    assert shown and judged.children == {}  # no position after a visited move was judged afresh
    by_move = {c.move: c for c in agent.search.candidates(limit=82)}
    for s in shown:
        assert s.score_lead == pytest.approx(by_move[s.move].score_mean)
    from rlgo.gtp.analysis import format_info, format_root
    line = format_info(shown, 9, True) + format_root(agent.analysis(), judged, request)
    parsed = parse_kata_line(line, 9)
    root_mean, root_stdev = agent.search.root_score()
    assert parsed["rootInfo"]["scoreLead"] == pytest.approx(root_mean, abs=0.5)  # the root's own first rollout aside
    assert parsed["rootInfo"]["scoreStdev"] == pytest.approx(root_stdev, rel=0.05)


def test_a_search_without_score_evaluators_keeps_no_scores():
    net = NetworkEvaluator(lambda planes, legal: (legal.astype(np.float32), np.zeros(len(legal), np.float32)),
                           feature_set="agz")
    search = MCTS(5, net, SearchConfig(simulations=20))
    search.search(GameState(5))
    assert not search.scores and search.root_score() is None
    assert all(c.score_mean is None and c.score_stdev is None for c in search.candidates())
    assert search.forest.scores.shape[2] == 0
