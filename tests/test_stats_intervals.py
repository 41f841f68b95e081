"""Wilson score interval: the interval inverts the score test, so its ends are where that test says |z|."""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlgo.stats.intervals import Z95, wilson


@st.composite
def records(draw):
    games = draw(st.integers(1, 2000))
    return draw(st.integers(0, 2 * games)) / 2, games  # wins count jigo as half


@given(records())
def test_the_interval_holds_the_win_rate_and_its_ends_solve_the_score_test(record):
    wins, games = record
    low, high = wilson(wins, games)
    p = wins / games
    assert 0 <= low <= p <= high <= 1
    for end in (low, high):
        if 0 < end < 1:  # the score test's statistic is exactly Z95 at each inner end
            assert abs(p - end) / math.sqrt(end * (1 - end) / games) == pytest.approx(Z95, rel=1e-6)


@given(records())
def test_the_interval_is_symmetric_in_wins_and_losses(record):
    wins, games = record
    low, high = wilson(wins, games)
    assert wilson(games - wins, games) == pytest.approx((1 - high, 1 - low), abs=1e-12)


@given(st.integers(1, 500), st.integers(2, 10))
def test_more_games_at_the_same_rate_narrow_the_interval(games, factor):
    low, high = wilson(games / 2, games)
    low_more, high_more = wilson(factor * games / 2, factor * games)
    assert high_more - low_more < high - low


def test_no_games_say_nothing():
    assert wilson(0, 0) == (0.0, 1.0)
