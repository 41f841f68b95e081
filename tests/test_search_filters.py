"""avoid / allow restrict the search itself (rlgo.search.filters): banned moves never enter the tree within
their plies, over kata-analyze, kata-genmove_analyze and the JSON analysis engine."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.mcts_agent import MCTSAgent
from rlgo.go import coords
from rlgo.go.state import BLACK, WHITE, GameState
from rlgo.gtp.analysis_config import AnalysisConfig
from rlgo.gtp.analysis_engine import AnalysisEngine
from rlgo.gtp.engine import GTPEngine
from rlgo.gtp.protocol import parse_command
from rlgo.gtp.server import genmove_analyze
from rlgo.search.config import SearchConfig
from rlgo.search.filters import MoveFilter, ban_table
from rlgo.search.mcts import MCTS
from rlgo.search.tree import ROOT, UNEXPANDED

A1, B1 = coords.from_gtp("A1", 9), coords.from_gtp("B1", 9)
CONFIG = SearchConfig(simulations=300, batch_size=1)


class Favours:
    """Priors almost all on `points` (first the most), values 0: an unrestricted search lives on them."""

    feature_set, history_length = None, 0

    def __init__(self, *points):
        self.points = points

    def evaluate(self, batch):
        priors = batch.legal.astype(np.float32)
        for rank, p in enumerate(self.points):
            priors[:, p] *= 1000.0 / (rank + 1)
        return priors, np.zeros(len(batch.b), np.float32)


def edges(tree):
    """(ply, move, visits) of every child in the tree (ply 1 = the root's moves)."""
    out, todo = [], [(ROOT, 0)]
    while todo:
        node, depth = todo.pop()
        first = int(tree.first_child[node])
        if first == UNEXPANDED:
            continue
        for ch in range(first, first + int(tree.num_children[node])):
            out.append((depth + 1, int(tree.move[ch]), int(tree.visits[ch])))
            todo.append((ch, depth + 1))
    return out


def root_children(search) -> dict[int, int]:
    return {move: visits for ply, move, visits in edges(search.tree) if ply == 1}


def analyse(engine: GTPEngine, command: str, visits: int = 300):
    """Run an analyze stream until the agent's tree holds `visits` visits; the agent's search."""
    stream = engine.analyze(parse_command(command), lambda text: None)
    stream.start()
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            search = engine.agent.search
            if search is not None and search.root_visits() >= visits:
                break
            time.sleep(0.01)
    finally:
        stream.stop()
    assert engine.agent.filters == ()  # the stream lifts its filters
    return engine.agent.search


def fake_engine(*points) -> GTPEngine:
    return GTPEngine(MCTSAgent(config=CONFIG, evaluator=Favours(*points)), 9)


def test_without_filters_the_favoured_point_takes_the_search():
    children = root_children(analyse(fake_engine(A1), "kata-analyze 10"))
    assert max(children, key=children.get) == A1


def test_avoid_keeps_the_move_out_of_the_tree():
    search = analyse(fake_engine(A1), "kata-analyze 10 avoid b A1 1")
    children = root_children(search)
    assert A1 not in children and sum(children.values()) >= 299
    assert any(move == A1 for ply, move, _ in edges(search.tree) if ply == 2)  # White may still play it


def test_allow_keeps_only_those_moves_at_the_root():
    children = root_children(analyse(fake_engine(A1), "kata-analyze 10 allow b A1,B1 1"))
    assert set(children) == {A1, B1}


@pytest.mark.parametrize("until,banned_at_ply3", [(3, True), (2, False)])
def test_a_ban_lasts_its_plies_for_its_colour_only(until, banned_at_ply3):
    """Black's A1 and B1 banned: Black never plays them at the root; White takes A1 at ply 2 (not banned for
    White); Black's B1 at ply 3 is banned only while the ban lasts 3 plies."""
    tree = analyse(fake_engine(A1, B1), f"kata-analyze 10 avoid b A1,B1 {until}", visits=400).tree
    seen = edges(tree)
    assert not any(move in (A1, B1) for ply, move, _ in seen if ply == 1)
    assert any(move == A1 for ply, move, _ in seen if ply == 2)
    assert any(move == B1 for ply, move, _ in seen if ply == 3) != banned_at_ply3
    assert any(ply == 3 for ply, _, _ in seen)


def test_genmove_analyze_plays_an_allowed_move():
    engine = fake_engine(A1)
    out = []
    genmove_analyze(engine, parse_command("kata-genmove_analyze b 10 avoid b A1 1"), out.append)
    played = [line for line in "".join(out).splitlines() if line.startswith("play ")]
    assert played and played[0] != "play A1"
    assert A1 not in root_children(engine.agent.search)
    assert engine.agent.filters == ()


def test_json_engine_avoid_moves_restrict_the_search():
    agents = []

    def make(size, rules):
        agents.append(MCTSAgent(config=CONFIG, evaluator=Favours(A1)))
        return agents[-1]

    written = []
    engine = AnalysisEngine(make, written.append, AnalysisConfig(workers=1))
    engine.handle_line(json.dumps({"id": "q", "moves": [], "rules": "tromp-taylor", "komi": 7.5, "boardXSize": 9,
                                   "boardYSize": 9, "maxVisits": 200,
                                   "avoidMoves": [{"player": "B", "moves": ["A1", "pass"], "untilDepth": 1}]}))
    engine.finish()
    response = json.loads(written[-1])
    assert response["id"] == "q" and "A1" not in [i["move"] for i in response["moveInfos"]]
    children = root_children(agents[0].search)
    assert children and A1 not in children and 81 not in children  # pass was avoided too


def test_a_tree_searched_under_filters_is_not_reused_without_them():
    search = MCTS(9, Favours(A1), CONFIG)
    state = GameState(9)
    search.search(state, simulations=100, filters=(MoveFilter(BLACK, frozenset({A1}), 1, False),))
    assert A1 not in root_children(search)
    search.search(state, simulations=100)
    assert A1 in root_children(search)


def test_when_filters_ban_every_move_pass_stays():
    search = MCTS(5, Favours(0), SearchConfig(simulations=50, batch_size=1))
    everything = frozenset(range(26))
    search.search(GameState(5), filters=(MoveFilter(BLACK, everything, 1, False),))
    assert set(root_children(search)) == {25}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([BLACK, WHITE]), st.sets(st.integers(0, 25), max_size=6),
                          st.integers(1, 5), st.booleans()), max_size=4),
       st.sampled_from([BLACK, WHITE]), st.integers(0, 25), st.integers(1, 6))
def test_ban_table_agrees_with_each_clause(clauses, color, move, ply):
    filters = [MoveFilter(c, frozenset(p), d, a) for c, p, d, a in clauses]
    table = ban_table(filters, 5)
    assert (ply <= table[0 if color == BLACK else 1, move]) == any(f.bans(move, color, ply) for f in filters)
