"""SPRT: clear records decide, simulated streams keep Wald's error rates."""
from __future__ import annotations

import math

import numpy as np
import pytest

from rlgo.stats.elo import expected_score
from rlgo.stats.sprt import ACCEPT_H0, ACCEPT_H1, CONTINUE, SPRT, SPRTError, sprt


def test_clear_records_decide_and_short_ones_continue():
    assert sprt(60, 0, 20, elo0=0, elo1=50).decision == ACCEPT_H1
    assert sprt(20, 0, 60, elo0=0, elo1=50).decision == ACCEPT_H0
    assert sprt(3, 0, 2, elo0=0, elo1=50).decision == CONTINUE
    result = sprt(0, 0, 0)
    assert result.llr == 0 and result.decision == CONTINUE
    assert result.lower == pytest.approx(math.log(0.05 / 0.95)) and result.upper == pytest.approx(math.log(0.95 / 0.05))


def test_llr_grows_with_wins_and_a_draw_is_half_of_each():
    values = [sprt(w, 0, 10).llr for w in range(0, 30, 3)]
    assert values == sorted(values)
    assert sprt(5, 2, 5).llr == pytest.approx(sprt(6, 0, 6).llr)


def decisions(true_elo: float, runs: int, rng, elo0=0.0, elo1=40.0, alpha=0.05, beta=0.05, max_games=20000):
    """Decisions of `runs` simulated tests with the candidate `true_elo` stronger."""
    p = float(expected_score(true_elo))
    p0, p1 = float(expected_score(elo0)), float(expected_score(elo1))
    win, loss = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))
    lower, upper = math.log(beta / (1 - alpha)), math.log((1 - beta) / alpha)
    out = []
    for _ in range(runs):
        llr = np.cumsum(np.where(rng.random(max_games) < p, win, loss))
        crossed = np.flatnonzero((llr >= upper) | (llr <= lower))
        out.append(CONTINUE if not len(crossed) else ACCEPT_H1 if llr[crossed[0]] >= upper else ACCEPT_H0)
    return out


def test_simulated_error_rates_respect_alpha_and_beta():
    rng = np.random.default_rng(11)
    at_h0 = decisions(0.0, 400, rng)
    at_h1 = decisions(40.0, 400, rng)
    assert at_h0.count(ACCEPT_H1) / 400 <= 0.05 + 0.03
    assert at_h1.count(ACCEPT_H0) / 400 <= 0.05 + 0.03
    assert decisions(150.0, 100, rng).count(ACCEPT_H1) >= 99
    assert decisions(-100.0, 100, rng).count(ACCEPT_H0) >= 99


def test_streaming_test_matches_the_function_and_stops_the_same_game():
    rng = np.random.default_rng(5)
    test = SPRT(elo0=0, elo1=40)
    wins = draws = losses = 0
    for _ in range(5000):
        score = rng.choice([1.0, 0.5, 0.0], p=[0.55, 0.05, 0.40])
        decision = test.add(score)
        wins += score == 1
        draws += score == 0.5
        losses += score == 0
        assert decision == sprt(wins, draws, losses, 0, 40).decision
        if decision != CONTINUE:
            break
    assert decision == ACCEPT_H1


@pytest.mark.parametrize("kwargs", [dict(elo0=10, elo1=10), dict(elo0=20, elo1=0), dict(alpha=0), dict(beta=0.5)])
def test_bad_parameters(kwargs):
    with pytest.raises(SPRTError):
        sprt(1, 0, 1, **kwargs)
    with pytest.raises(SPRTError):
        SPRT(**kwargs)


def test_bad_game_score():
    with pytest.raises(SPRTError, match="0.3"):
        SPRT().add(0.3)
