"""MCTSAgent with random rollouts: 9x9 tactics, endgames, stop/ponder/analysis, time control, evaluators."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from agents.base import pass_is_safe
from agents.mcts_agent import DEFAULT_SECONDS, ROLLOUT_CONFIG, MCTSAgent, PlayPolicy, PlayPolicyError
from agents.specs import make_agent
from rlgo.go import coords, kernels as K
from rlgo.go.coords import RESIGN
from rlgo.go.rules import Rules
from rlgo.go.state import BLACK, WHITE, GameState
from rlgo.search.config import SearchConfigError
from rlgo.search.evaluator import LeafBatch, MixedEvaluator, UniformRolloutEvaluator
from rlgo.search.mcts import MCTS, UNLIMITED, may_pass
from rlgo.search.rollout import UniformRolloutPolicy
from rlgo.search.timecontrol import TimeControl
from tests.conftest import board_from_ascii

TACTICS = {
    # the 8 white stones have one liberty, F5; White playing there would connect them to the south
    "capture": ("""
        . . . . . . . . .
        . . X X X X . . .
        . X O O O O X . .
        . X O O O O X . .
        X X X X X . X X X
        O O O O O . O O O
        . . . . . O . . .
        . . . . . . . . .
        . . . . . . . . .
    """, "F5"),
    # Black's 8 stones are in atari: F5 joins them to the wall below
    "save": ("""
        . . . . . . . . .
        . . O O O O . . .
        . O X X X X O . .
        . O X X X X O . .
        O O O O O . X X X
        X X X X X X X X X
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
    """, "F5"),
    # two liberties, but only F5 connects the group home; White F5 would leave it in atari
    "connect": ("""
        . . . . . . . . .
        . . . O O O . . .
        . O X X X X O . .
        . O X X X X O . .
        O O O O O . X X X
        X X X X X X X X X
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
    """, "F5"),
}

# Black owns columns A-E (45 points), White F-J (36 + 7.5 komi): Black is 1.5 points ahead.
SETTLED = """
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
"""
# Black owns columns A-F (54 points, single-point eyes only), White H-J (27 + 7.5): White is far behind.
HOPELESS = """
    . X . X . X O . .
    X X X X X X O . .
    . X . X . X O . .
    X X X X X X O . .
    . X . X . X O . .
    X X X X X X O . .
    . X . X . X O . .
    X X X X X X O . .
    . X . X . X O . .
"""


def after_pass(diagram: str, to_play: int) -> GameState:
    """The diagram with `to_play` to move just after the opponent passed."""
    state = board_from_ascii(diagram, to_play=3 - to_play)
    state.play(state.pass_move)
    return state


@pytest.mark.parametrize("name", sorted(TACTICS))
@pytest.mark.parametrize("settings", [{"seed": 0}, {"seed": 1}, {"seed": 0, "rave": 0.0, "c_uct": 0.8}],
                         ids=["rave-seed0", "rave-seed1", "plain-uct"])
def test_rollout_search_finds_the_deciding_move(name, settings):
    diagram, answer = TACTICS[name]
    state = board_from_ascii(diagram, to_play=BLACK)
    agent = MCTSAgent(simulations=2000, **settings)
    assert coords.to_gtp(agent.select_move(state), 9) == answer


def test_a_won_game_is_ended_by_passing_after_the_opponent_passed():
    state = after_pass(SETTLED, BLACK)
    assert MCTSAgent(simulations=500).select_move(state) == state.pass_move


def test_the_pass_rule_counts_with_dead_stones_removed():
    rows = SETTLED.strip("\n").split("\n")
    rows[4] = rows[4].replace(". . . . X", ". O . . X", 1)  # a lone dead White stone in Black's area
    state = after_pass("\n".join(rows), BLACK)
    assert state.area_score() < 0 and not may_pass(state)  # standing, it spoils Black's whole area
    assert pass_is_safe(state)  # removed, Black is 1.5 points ahead
    assert MCTSAgent(simulations=300).select_move(state) == state.pass_move


def test_the_search_alone_scores_the_final_pass_exactly():
    state = after_pass(SETTLED, WHITE)
    agent = MCTSAgent(simulations=500, resign_winrate=0.0)
    agent.select_move(state)
    passing = [c for c in agent.search.candidates(limit=82) if c.move == state.pass_move]
    assert passing and passing[0].winrate == 0.0  # two passes: White loses by 1.5, no rollout involved


# 5x5, komi 4: Black has two stones inside its own area. By area Black leads 15 - 10 (+1 with komi);
# by territory 8 - 5 (-1): the stones filling Black's area cost it a point each.
FILLED = """
    X . X O .
    . . X O .
    X . X O .
    . . X O .
    . . X O .
"""


@pytest.mark.parametrize("scoring, winrate", [("area", 1.0), ("territory", 0.0)])
def test_the_final_pass_is_scored_under_the_games_rules(scoring, winrate):
    state = board_from_ascii(FILLED, Rules(ko="simple", scoring=scoring, komi=4.0), to_play=WHITE)
    state.play(state.pass_move)
    assert (state.score() > 0) == (scoring == "area")
    search = MCTS(5, UniformRolloutEvaluator(), ROLLOUT_CONFIG.replace(simulations=300))
    search.search(state)
    passing = [c for c in search.candidates(limit=26) if c.move == state.pass_move]
    assert passing and passing[0].winrate == winrate  # two passes end it: no rollout involved


def test_a_lost_game_is_not_given_up_by_passing():
    state = after_pass(SETTLED, WHITE)
    move = MCTSAgent(simulations=1000, resign_winrate=0.0).select_move(state)
    assert move != state.pass_move and state.is_legal(move)


def test_a_hopeless_game_is_resigned_after_several_lost_searches():
    state = after_pass(HOPELESS, WHITE)
    agent = MCTSAgent(simulations=1000)
    answers = [agent.select_move(state) for _ in range(agent.policy.resign_moves)]
    assert RESIGN not in answers[:-1] and answers[-1] == RESIGN


class WhiteIsLost:
    """Uniform priors; every position is a 99% win for Black (values for the side to move)."""

    feature_set, history_length = None, 0

    def evaluate(self, batch):
        black = batch.m[:, K.M_TOPLAY] == BLACK
        return batch.legal / batch.legal.sum(1, keepdims=True), np.where(black, 0.98, -0.98).astype(np.float32)


def test_resignation_needs_consecutive_lost_searches_with_enough_visits():
    white, black = GameState(9), GameState(9)
    white.play_gtp("E5")
    agent = MCTSAgent(evaluator=WhiteIsLost(), simulations=300, resign_visits=200, resign_moves=3)
    assert [agent.select_move(white) == RESIGN for _ in range(2)] == [False, False]
    assert agent.select_move(black) != RESIGN  # a good search in between starts the count again
    assert [agent.select_move(white) == RESIGN for _ in range(3)] == [False, False, True]
    few = MCTSAgent(evaluator=WhiteIsLost(), simulations=100, resign_visits=10_000, resign_moves=3)
    assert all(few.select_move(white) != RESIGN for _ in range(5))  # too few visits to trust


def test_rollout_agent_plays_a_whole_game_legally():
    state = GameState(5)
    agent = MCTSAgent(simulations=100, seed=3)
    while not state.is_over and state.move_number < 60:
        move = agent.select_move(state)
        if move == RESIGN:
            break
        state.play(move)
    assert state.move_number > 5


# ----------------------------------------------------------------- stop, ponder, analysis
def _when_searching(agent, action) -> threading.Thread:
    """Run action() in a thread once the agent's search has visits (a timer could fire before it starts)."""
    def wait_then_act():
        while not agent.analysis():
            time.sleep(0.01)
        action()

    thread = threading.Thread(target=wait_then_act, daemon=True)
    thread.start()
    return thread


def test_stop_makes_an_unbounded_search_answer():
    agent = MCTSAgent(simulations=UNLIMITED)  # only stop() can end it: the test would hang otherwise
    state = GameState(9)
    stopper = _when_searching(agent, agent.stop)
    move = agent.select_move(state)
    stopper.join()
    assert agent.last_result.reason == "stopped" and state.is_legal(move)


def test_ponder_streams_analysis_until_stopped():
    agent = MCTSAgent()
    state = GameState(9)
    state.play_gtp("E5")
    thread = threading.Thread(target=agent.ponder, args=(state,))
    thread.start()
    snapshots = []
    # until the analysis has grown (the first snapshot may already be large on a fast machine);
    # the top move's visits never shrink while pondering, so this ends on any machine
    while len(snapshots) < 2 or snapshots[-1][0].visits <= snapshots[0][0].visits:
        assert thread.is_alive(), "ponder ended before stop()"
        time.sleep(0.01)
        infos = agent.analysis()
        if infos:
            snapshots.append(infos)
    agent.stop()
    thread.join(10)
    assert not thread.is_alive() and snapshots
    for infos in snapshots:
        visits = [i.visits for i in infos]
        assert visits == sorted(visits, reverse=True)
        for info in infos:
            assert state.is_legal(info.move) and 0 <= info.winrate <= 1 and info.pv[0] == info.move
    assert snapshots[-1][0].visits > snapshots[0][0].visits
    visits = agent.search.root_visits()
    assert agent.search.set_root(state) and agent.search.root_visits() == visits  # kept for the next move


def test_the_default_spec_thinks_for_the_seconds_it_advertises():
    agent = make_agent("mcts", 9)
    assert agent.config.simulations == UNLIMITED and agent.clock.seconds_per_move == DEFAULT_SECONDS
    assert make_agent("mcts:simulations=50", 9).clock.seconds_per_move is None


def test_agent_follows_the_board_size_and_spec():
    agent = make_agent("mcts:simulations=50,seed=2", 9)
    assert agent.config.simulations == 50 and agent.config.seed == 2
    for size in (5, 7):
        state = GameState(size)
        assert state.is_legal(agent.select_move(state))
        assert agent.search.size == size


def test_time_limit_ends_the_search():
    agent = make_agent("mcts:time=0.4", 9)  # no simulation cap: only the clock can end it
    agent.select_move(GameState(9))
    assert agent.last_result.reason == "time"


# ----------------------------------------------------------------- time control
def test_seconds_per_move_keep_a_safety_margin():
    assert TimeControl(2.0, safety_margin=0.3).budget(BLACK, 81) == pytest.approx(1.7)
    assert TimeControl().budget(BLACK, 81) is None


def test_main_time_is_spread_over_the_moves_left():
    clock = TimeControl(safety_margin=0.0)
    clock.set_time(300, 0, 0)
    early, late = clock.budget(BLACK, 80), clock.budget(BLACK, 10)
    assert early == pytest.approx(300 / 32) and late == pytest.approx(30)
    clock.spent(BLACK, 100)
    assert clock.budget(BLACK, 80) == pytest.approx(200 / 32)
    assert clock.budget(WHITE, 80) == pytest.approx(300 / 32)


def test_canadian_byo_yomi_budget_and_periods():
    clock = TimeControl(safety_margin=0.5)
    clock.set_time(10, 60, 5)
    clock.spent(BLACK, 12)  # main time gone, 2 s taken from the first period
    assert clock.clocks[BLACK].byo_stones == 4 and clock.clocks[BLACK].byo_time == pytest.approx(58)
    assert clock.budget(BLACK, 50) == pytest.approx(58 / 4 - 0.5)
    for _ in range(4):
        clock.spent(BLACK, 1)
    assert clock.clocks[BLACK].byo_stones == 5 and clock.clocks[BLACK].byo_time == 60  # a new period
    clock.time_left(BLACK, 20, 2)  # the controller's word wins
    assert clock.budget(BLACK, 50) == pytest.approx(9.5)


def test_gtp_no_time_limit_and_bad_settings():
    clock = TimeControl(seconds_per_move=1.0)
    clock.set_time(0, 1, 0)
    assert clock.budget(BLACK, 81) == pytest.approx(0.8)  # unlimited clock: seconds_per_move still applies
    with pytest.raises(SearchConfigError, match="-1"):
        clock.set_time(-1, 0, 0)
    with pytest.raises(SearchConfigError, match="seconds_per_move"):
        TimeControl(0)


# ----------------------------------------------------------------- evaluators
def leaf_batch(states: list[GameState]) -> LeafBatch:
    n = states[0].size
    legal = np.stack([s.legal_mask() for s in states])
    return LeafBatch(n, np.stack([s.b for s in states]), np.stack([s.m for s in states]), legal,
                     np.zeros((len(states), 0, (n + 2) ** 2), np.int8), None, states[0].zob, states[0].rules.komi,
                     np.zeros((len(states), 0), np.int8))


def test_rollouts_of_a_decided_position_are_won_by_the_owner():
    black = board_from_ascii(HOPELESS, to_play=BLACK)
    white = board_from_ascii(HOPELESS, to_play=WHITE)
    batch = leaf_batch([black, white])
    values = UniformRolloutPolicy(seed=1, rollouts=8).rollout_values(batch.b, batch.m, batch.zob, batch.komi)
    assert values.tolist() == [1.0, -1.0]
    assert (batch.b == np.stack([black.b, white.b])).all()  # the leaves themselves are untouched


def test_rollout_evaluator_is_seeded():
    batch = leaf_batch([GameState(9)] * 32)
    a = UniformRolloutEvaluator(seed=5).evaluate(batch)[1]
    b = UniformRolloutEvaluator(seed=5).evaluate(batch)[1]
    assert (a == b).all() and set(np.unique(a)) <= {-1.0, 1.0} and len(np.unique(a)) == 2


def test_mixed_evaluator_blends_network_and_rollout_values():
    class Net:
        feature_set, history_length = None, 0

        def evaluate(self, batch):
            priors = np.zeros(batch.legal.shape, np.float32)
            priors[:, 40] = 1
            return priors, np.full(len(batch.b), 0.5, np.float32)

    class Loses:
        def rollout_values(self, b, m, zob, komi):
            return np.full(len(b), -1.0, np.float32)

    batch = leaf_batch([GameState(9)] * 3)
    priors, values = MixedEvaluator(Net(), Loses(), lam=0.25).evaluate(batch)
    assert np.allclose(values, 0.75 * 0.5 - 0.25) and (priors[:, 40] == 1).all()
    assert np.allclose(MixedEvaluator(Net(), Loses(), lam=0.0).evaluate(batch)[1], 0.5)
    with pytest.raises(ValueError, match="1.5"):
        MixedEvaluator(Net(), Loses(), lam=1.5)


def test_the_search_reads_leaf_boards_it_can_replay():
    """Rollout evaluators get kernel boards: each leaf is the root plus legal moves (stone count check)."""
    seen = []

    class Recorder:
        feature_set, history_length = None, 0

        def evaluate(self, batch):
            seen.extend(int(m[K.M_MOVENUM]) for m in batch.m)
            return batch.legal / batch.legal.sum(1, keepdims=True), np.zeros(len(batch.b), np.float32)

    agent = MCTSAgent(evaluator=Recorder(), simulations=300, batch_size=8)
    state = GameState(9)
    state.play_gtp("C3")
    agent.select_move(state)
    assert min(seen) == 1 and max(seen) > 2


@pytest.mark.slow
def test_beats_the_random_agent():
    from agents.random_agent import RandomAgent
    from rlgo.arena.game import GameConfig, play_game
    for game in range(4):
        ours, theirs = MCTSAgent(simulations=300, seed=game), RandomAgent(seed=game)
        ours_black = game % 2 == 0
        result = play_game(*((ours, theirs) if ours_black else (theirs, ours)), GameConfig(seed=game))
        assert result.winner == (BLACK if ours_black else WHITE), result.result  # P(a loss) is tiny


@pytest.mark.parametrize("fields, text", [({"temperature_moves": -1}, "temperature_moves"),
                                          ({"resign_winrate": 1.0}, "resign_winrate"),
                                          ({"resign_moves": 0}, "resign_moves"), ({"resign_visits": -1}, "resign_visits")])
def test_bad_play_policy_is_named(fields, text):
    with pytest.raises(PlayPolicyError, match=f"PlayPolicy.{text}"):
        PlayPolicy(**fields)
    with pytest.raises(PlayPolicyError, match=text):
        MCTSAgent(simulations=10, **fields)


def test_agent_keywords_go_to_the_search_or_the_play_policy():
    agent = MCTSAgent(simulations=50, temperature_moves=4, resign_moves=2)
    assert (agent.config.simulations, agent.policy.temperature_moves, agent.policy.resign_moves) == (50, 4, 2)
    assert agent.policy.resign_winrate == 0.05  # the rest of ROLLOUT_POLICY is kept


SEARCH_BY_TIME_OF_FINISHED_GAMES = """\
import sys
sys.path.insert(0, ".")
from agents.mcts_agent import ROLLOUT_CONFIG
from rlgo.go.state import WHITE
from rlgo.search.evaluator import UniformRolloutEvaluator
from rlgo.search.mcts import MCTS, UNLIMITED
from tests.conftest import board_from_ascii
state = board_from_ascii(\"\"\"
. X X
X X X
X X .
\"\"\", to_play=WHITE)
state.play(state.pass_move)  # White passes; Black's only moves fill its own eyes, which the search leaves out
search = MCTS(3, UniformRolloutEvaluator(), ROLLOUT_CONFIG)
result = search.search(state, simulations=UNLIMITED, seconds=0.3)
print(result.reason, result.simulations)
"""


def test_a_search_by_time_whose_descents_all_end_in_finished_games_returns_at_its_deadline():
    """Every descent is pass -> two passes, backed up in the gather kernel with no leaf to evaluate; the
    search must still come back to its clock (it once spun in one gather forever)."""
    out = subprocess.run([sys.executable, "-c", SEARCH_BY_TIME_OF_FINISHED_GAMES], capture_output=True, text=True,
                         timeout=120, cwd=str(Path(__file__).resolve().parents[1]))
    assert out.returncode == 0, out.stderr
    reason, simulations = out.stdout.split()
    assert reason == "time" and int(simulations) > 0
