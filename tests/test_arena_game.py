"""The referee: game ends, forfeits (illegal move, crash, timeout), scoring modes, the SGF record."""
from __future__ import annotations

import time

import pytest

from agents.base import Agent
from agents.gtp_agent import GTPAgent
from agents.random_agent import RandomAgent
from rlgo.arena.game import GameConfig, play_game
from rlgo.go import coords
from rlgo.go.coords import RESIGN
from rlgo.go.rules import Rules
from rlgo.go.sgf import parse_sgf
from rlgo.go.state import BLACK, EMPTY, WHITE
from tests.test_gtp_client import fake_engine_command


class Scripted(Agent):
    """Plays GTP vertices from a list, then passes (or returns `then` when given)."""

    def __init__(self, vertices, then=None, name="scripted"):
        self.vertices, self.then, self.name = list(vertices), then, name
        self.reset()

    def reset(self):
        self.left = list(self.vertices)

    def select_move(self, state):
        if self.left:
            return coords.from_gtp(self.left.pop(0), state.size)
        return state.pass_move if self.then is None else self.then


class Crasher(Agent):
    def select_move(self, state):
        raise RuntimeError("boom at move %d" % state.move_number)


class Sleeper(Agent):
    """Ignores stop() and thinks for `seconds`."""

    def __init__(self, seconds):
        self.seconds = seconds

    def select_move(self, state):
        time.sleep(self.seconds)
        return state.pass_move


class StopsOnRequest(Agent):
    """Thinks until stop() is called, like a search without a budget."""

    def __init__(self):
        import threading
        self.event = threading.Event()
        self.time_settings = None

    def set_time(self, main, byo, stones):
        self.time_settings = (main, byo, stones)

    def select_move(self, state):
        self.event.wait(30)
        self.event.clear()
        return state.pass_move

    def stop(self):
        self.event.set()


def test_illegal_move_forfeits_and_names_the_move():
    result = play_game(Scripted(["E5"]), Scripted(["E5"]), GameConfig(size=9))
    assert result.reason == "forfeit: illegal move E5" and result.detail == "occupied"
    assert result.winner == BLACK and result.result == "B+F" and result.score is None
    assert result.moves == 1


def test_off_board_answer_forfeits():
    result = play_game(Scripted([], then=500), RandomAgent(0), GameConfig(size=9))
    assert result.reason.startswith("forfeit: illegal move") and result.winner == WHITE


def test_crash_forfeits_with_the_exception_text():
    result = play_game(RandomAgent(1), Crasher(), GameConfig(size=9))
    assert result.reason == "forfeit: crash" and result.winner == BLACK and "boom at move 1" in result.detail


def test_timeout_forfeits_only_past_the_grace():
    config = GameConfig(size=9, time_per_move=0.2)  # grace 0.6 s
    result = play_game(Sleeper(1.2), RandomAgent(0), config)
    assert result.reason == "forfeit: timeout" and result.result == "W+T"
    polite = StopsOnRequest()  # stopped at 1 s, it has 1 s (the grace) to answer, even on a loaded machine
    result = play_game(polite, Scripted(["E5", "pass"]), GameConfig(size=9, time_per_move=1.0, move_cap=4))
    assert not result.reason.startswith("forfeit")
    assert polite.time_settings == (0.0, 1.0, 1)  # told as byo-yomi: one move per second


class ColdStart(Agent):
    """Slow on its first move unless warmed up first, like a JIT compile or a first network call."""

    def __init__(self):
        self.warm = False

    def warm_up(self, state):
        assert state.move_number == 0 and state.size == 9
        time.sleep(COLD_SECONDS)
        self.warm = True

    def select_move(self, state):
        if not self.warm:
            time.sleep(COLD_SECONDS)
            self.warm = True
        return state.pass_move


COLD_SECONDS = 2.5
"""Longer than 1 s per move plus the 1 s grace; warm moves (a pass) take far less on any machine."""


def test_warm_up_runs_before_the_clock():
    config = GameConfig(size=9, time_per_move=1.0, move_cap=6)  # forfeit past 2 s: a cold first move would
    result = play_game(ColdStart(), RandomAgent(0), config)
    assert not result.reason.startswith("forfeit") and result.moves == 6
    assert result.seconds[0] < COLD_SECONDS  # the warm-up is not charged to the player


def test_search_agent_warm_up_leaves_no_tree_behind():
    from agents.mcts_agent import MCTSAgent
    from rlgo.go.state import GameState
    agent = MCTSAgent(simulations=50, seed=1)
    state = GameState(9)
    agent.warm_up(state)
    assert state.move_number == 0 and agent.search.root_visits() == 0  # nothing carried into the game


def test_resignation():
    result = play_game(Scripted(["E5"]), Scripted([], then=RESIGN), GameConfig(size=9))
    assert result.reason == "resign" and result.result == "B+R" and result.winner == BLACK


def test_move_cap_stops_and_scores():
    result = play_game(RandomAgent(1), RandomAgent(2), GameConfig(size=9, move_cap=7))
    assert result.reason == "move cap" and result.moves == 7 and result.score is not None


def _dead_stone_game(scoring):
    # 5x5: black wall on C, white wall on D, a white stone at A3 that cannot live; then both pass
    black = Scripted([f"C{r}" for r in range(1, 6)])
    white = Scripted([f"D{r}" for r in range(1, 6)] + ["A3"])
    return play_game(black, white, GameConfig(size=5, rules=Rules(komi=0.5), scoring=scoring))


def test_two_passes_score_with_dead_stones_removed_or_not():
    estimate = _dead_stone_game("estimate")
    area = _dead_stone_game("area")
    assert estimate.reason == area.reason == "score"
    assert estimate.dead == (coords.from_gtp("A3", 5),) and estimate.score == 4.5 and estimate.winner == BLACK
    assert area.dead == () and area.score == -6.5 and area.winner == WHITE  # Tromp-Taylor counts A3 for White


def test_record_replays_the_game():
    result = play_game(RandomAgent(3), RandomAgent(4), GameConfig(size=7, move_cap=40), "rand-b", "rand-w")
    record = parse_sgf(result.sgf)
    assert (record.black, record.white, record.result, record.size) == ("rand-b", "rand-w", result.result, 7)
    assert len(record.moves) == result.moves == 40
    assert "move cap" in record.root_comment


def test_jigo_is_a_draw():
    # 2x2 board, komi 0: black takes a point, both pass; black owns all 4 points -> B+4, so use komi 4
    result = play_game(Scripted(["A1"]), Scripted([]), GameConfig(size=2, rules=Rules(komi=4.0), scoring="area"))
    assert result.winner == EMPTY and result.result == "0" and result.score == 0


def test_crashing_gtp_engine_forfeits_and_a_restartable_one_does_not(tmp_path):
    crashing = GTPAgent(fake_engine_command(tmp_path, "crash", 2), per_move_timeout=10, restarts=0)
    result = play_game(RandomAgent(0), crashing, GameConfig(size=9, move_cap=20))
    crashing.close()
    assert result.reason == "forfeit: crash" and result.winner == BLACK and "exit code 3" in result.detail
    (tmp_path / "gtp.log.crashed").unlink()
    restarted = GTPAgent(fake_engine_command(tmp_path, "crash", 2), per_move_timeout=10, restarts=1)
    result = play_game(RandomAgent(0), restarted, GameConfig(size=9, move_cap=20))
    restarted.close()
    assert result.reason == "move cap"


def test_hanging_gtp_engine_forfeits_on_time(tmp_path):
    hanging = GTPAgent(fake_engine_command(tmp_path, "hang"), per_move_timeout=0.5)
    result = play_game(RandomAgent(0), hanging, GameConfig(size=9))
    hanging.close()
    assert result.reason == "forfeit: timeout" and result.result == "B+T"


@pytest.mark.gnugo
def test_gnugo_beats_random_in_a_short_game():
    from tests.conftest import have_gnugo
    if not have_gnugo():
        pytest.skip("GNU Go not installed")
    from agents.specs import make_agent
    gnugo = make_agent("gnugo:level=1", size=9)
    result = play_game(gnugo, RandomAgent(0), GameConfig(size=9, move_cap=40))
    gnugo.close()
    assert result.reason in ("move cap", "score", "resign") and result.winner == BLACK


class Intruder(Agent):
    """Plays the listed vertices that are still legal, then passes for good."""

    def __init__(self, vertices):
        self.vertices = vertices
        self.reset()

    def reset(self):
        self.left = list(self.vertices)

    def select_move(self, state):
        while self.left:
            point = coords.from_gtp(self.left.pop(0), state.size)
            if state.is_legal(point):
                return point
        return state.pass_move


@pytest.mark.gnugo
@pytest.mark.parametrize("intrusions", [["C3", "G7", "E5", "C7", "G3", "E3"], ["E5", "D5", "E4", "C6", "G6"]])
def test_dead_stone_estimate_agrees_with_gnugo(intrusions):
    """GNU Go surrounds stones dropped into its area and passes; our estimate must find the same dead stones."""
    from tests.conftest import have_gnugo
    if not have_gnugo():
        pytest.skip("GNU Go not installed")
    from agents.specs import gnugo_command
    from rlgo.gtpclient import GTPClient
    rules = Rules(ko="simple")
    gnugo = GTPAgent(gnugo_command(1, rules) + ["--seed", "1"], per_move_timeout=600, startup_timeout=600)
    result = play_game(gnugo, Intruder(intrusions), GameConfig(size=9, rules=rules, scoring="estimate"))
    gnugo.close()
    assert result.reason == "score" and len(result.dead) >= 3
    judge = GTPClient(gnugo_command(1, rules), timeout=60)
    judge.send("boardsize 9")
    judge.send("komi 7.5")
    for color, point in result.record.moves:
        judge.send(f"play {'b' if color == BLACK else 'w'} {coords.to_gtp(point, 9)}")
    verdict, dead = judge.send("final_score"), judge.send("final_status_list dead")
    judge.close()
    assert verdict == result.result
    assert {coords.from_gtp(v, 9) for v in dead.split()} == set(result.dead)
