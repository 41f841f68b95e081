"""The one time control: budgets stay inside the clock, shrink with it, fit byo-yomi periods, and the
GTP engine's deadline is the budget the agent computes from the same time_settings / time_left."""
from __future__ import annotations

import pytest
from hypothesis import example, given, settings, strategies as st

from agents.mcts_agent import MCTSAgent
from rlgo.go.state import BLACK, EMPTY, WHITE, GameState
from rlgo.gtp import engine as engine_module
from rlgo.gtp.engine import GTPEngine
from rlgo.gtp.protocol import parse_command
from rlgo.search.timecontrol import MIN_MOVES_LEFT, MIN_SECONDS, SAFETY_MARGIN, TimeControl, moves_left
from tests.test_gtp_engine import FirstLegalAgent

seconds = st.floats(0, 3600, allow_nan=False)
stones = st.integers(0, 30)
empties = st.integers(0, 361)


def timed(main: float, byo: float, count: int) -> TimeControl:
    control = TimeControl()
    control.set_time(main, byo, count)
    return control


@given(seconds, seconds, stones, seconds, stones, empties)
def test_a_budget_never_exceeds_the_time_available_minus_the_margin(main, byo, count, left, left_stones, empty):
    control = timed(main, byo, count)
    control.time_left(BLACK, left, left_stones)
    budget = control.budget(BLACK, empty)
    clock = control.clocks.get(BLACK)
    if clock is None:  # GTP's "no time limit": byo-yomi time without stones, or nothing at all
        assert budget is None and ((byo > 0 and count == 0) or main == byo == 0)
        return
    assert MIN_SECONDS <= budget <= max(clock.available() - SAFETY_MARGIN, MIN_SECONDS)


@given(seconds, seconds, st.integers(1, 30), seconds, seconds, stones, empties)
def test_less_time_left_never_gives_a_larger_budget(main, byo, count, more, less, left_stones, empty):
    more, less = max(more, less), min(more, less)
    control = timed(main + 1, byo, count)
    control.time_left(BLACK, more, left_stones)
    control.time_left(WHITE, less, left_stones)
    assert control.budget(WHITE, empty) <= control.budget(BLACK, empty)


@given(st.floats(1, 3600), st.integers(1, 300))
def test_sudden_death_never_spends_more_than_a_tenth_of_what_is_left(main, moves):
    control = timed(main, 0, 0)
    for k in range(moves):
        left = control.clocks[BLACK].main
        budget = control.budget(BLACK, max(81 - k, 0))
        assert budget <= max(left / MIN_MOVES_LEFT - SAFETY_MARGIN, MIN_SECONDS)
        control.spent(BLACK, budget)
        assert control.clocks[BLACK].main >= 0


@given(st.floats(0, 60), st.floats(1, 600), st.integers(1, 25), st.integers(1, 100))
def test_canadian_byo_yomi_budgets_fit_every_period(main, byo, count, moves):
    control = timed(main, byo, count)
    clock = control.clocks[BLACK]
    for _ in range(moves):
        budget = control.budget(BLACK, 40)
        if clock.main == 0 and budget > MIN_SECONDS:  # in byo-yomi: the period's stones all fit in it
            assert budget * clock.byo_stones <= clock.byo_time
        control.spent(BLACK, budget)
        assert clock.main >= 0 and clock.byo_time >= 0 and 1 <= clock.byo_stones <= count


@given(empties, empties)
def test_the_moves_left_estimate_grows_with_the_empty_points_and_has_a_floor(a, b):
    assert moves_left(min(a, b)) <= moves_left(max(a, b))
    assert moves_left(a) == max(0.4 * a, MIN_MOVES_LEFT)


# ----------------------------------------------------------------- GTP engine and agent: one budget
commands = st.one_of(
    st.builds("time_settings {:g} {:g} {}".format, seconds, seconds, stones),
    st.builds("kgs-time_settings canadian {:g} {:g} {}".format, seconds, seconds, stones),
    st.builds("kgs-time_settings byoyomi {:g} {:g} {}".format, seconds, seconds, stones),
    st.builds("kgs-time_settings absolute {:g}".format, seconds),
    st.just("kgs-time_settings none"),
    st.builds("time_left {} {:g} {}".format, st.sampled_from("bw"), seconds, stones),
    st.just("clear_board"),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(commands, max_size=8), empties)
@example(["time_settings 60 0 0", "time_left b 10 0", "clear_board"], 81)  # a new game refills both clocks
def test_gtp_time_commands_give_the_engine_and_a_search_agent_the_same_budget(lines, empty):
    agent = MCTSAgent(seconds_per_move=2.0)
    engine = GTPEngine(agent, size=9)
    for line in lines:
        ok, answer = engine.handle(parse_command(line))
        assert ok, (line, answer)
    for color in (BLACK, WHITE):
        deadline, budget = engine.clock.budget(color, empty), agent.clock.budget(color, empty)
        assert budget == (2.0 - SAFETY_MARGIN if deadline is None else deadline)


class ClockedAgent(FirstLegalAgent):
    """Keeps a TimeControl as a search agent does and records its budget at every move."""

    def __init__(self):
        self.clock = TimeControl()
        self.budgets: list[float | None] = []

    def reset(self):
        self.clock.reset()

    def set_time(self, main_time, byo_yomi_time, byo_yomi_stones):
        self.clock.set_time(main_time, byo_yomi_time, byo_yomi_stones)

    def time_left(self, color, seconds, stones):
        self.clock.time_left(color, seconds, stones)

    def select_move(self, state: GameState) -> int:
        self.budgets.append(self.clock.budget(state.to_play, int((state.board() == EMPTY).sum())))
        return super().select_move(state)


def test_the_engine_stops_the_agent_at_the_agents_own_budget(monkeypatch):
    deadlines = []

    class RecordingTimer:  # the engine's deadline, without waiting for it
        def __init__(self, interval, function):
            deadlines.append(interval)

        def start(self):
            pass

        def cancel(self):
            pass

    monkeypatch.setattr(engine_module.threading, "Timer", RecordingTimer)
    agent = ClockedAgent()
    engine = GTPEngine(agent, size=9)
    script = ["time_settings 60 10 5", "genmove b", "time_left b 30 0", "genmove b", "time_left b 8 3",
              "genmove b", "clear_board", "genmove b", "time_left w 0.1 1", "genmove w",
              "kgs-time_settings none", "genmove b"]
    for line in script:
        ok, answer = engine.handle(parse_command(line))
        assert ok, (line, answer)
    assert agent.budgets[-1] is None and len(deadlines) == 5  # no time limit: no deadline
    assert deadlines == pytest.approx(agent.budgets[:-1], rel=1e-12)
    assert deadlines[0] > deadlines[1] > deadlines[2] > deadlines[4] == MIN_SECONDS
    assert deadlines[3] == deadlines[0]  # a new game starts with full clocks
