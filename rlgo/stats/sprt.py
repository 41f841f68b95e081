"""Sequential probability ratio test between two agents (gating a new network against the best).

H0: the candidate is elo0 stronger, H1: elo1 stronger (elo1 > elo0). Each game scores 1, 0.5
or 0 for the candidate and is a Bernoulli trial with p = expected_score(elo); a draw counts as
half a win and half a loss. Wald's bounds: accept H1 when the log-likelihood ratio reaches
log((1 - beta) / alpha), H0 when it falls to log(beta / (1 - alpha)).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from rlgo.stats.elo import expected_score

ACCEPT_H1 = "accept H1"
ACCEPT_H0 = "accept H0"
CONTINUE = "continue"


class SPRTError(ValueError):
    """Test parameters that make no sense (elo1 <= elo0, alpha or beta outside (0, 0.5))."""


@dataclass(frozen=True)
class SPRTResult:
    """Where a test stands."""

    llr: float
    """Log-likelihood ratio of H1 against H0 so far."""
    lower: float
    """Accept H0 at or below this."""
    upper: float
    """Accept H1 at or above this."""
    decision: str
    """'accept H1', 'accept H0' or 'continue'."""


def _check(elo0: float, elo1: float, alpha: float, beta: float) -> None:
    if not elo1 > elo0:
        raise SPRTError(f"elo1 must exceed elo0, got elo0={elo0} elo1={elo1}")
    for name, value in (("alpha", alpha), ("beta", beta)):
        if not 0 < value < 0.5:
            raise SPRTError(f"{name} must be in (0, 0.5), got {value}")


def sprt(wins: float, draws: float, losses: float, elo0: float = 0.0, elo1: float = 35.0,
         alpha: float = 0.05, beta: float = 0.05) -> SPRTResult:
    """Test the candidate's record (wins, draws, losses) of games against the reference."""
    _check(elo0, elo1, alpha, beta)
    p0, p1 = float(expected_score(elo0)), float(expected_score(elo1))
    won, lost = wins + 0.5 * draws, losses + 0.5 * draws
    llr = won * math.log(p1 / p0) + lost * math.log((1 - p1) / (1 - p0))
    lower, upper = math.log(beta / (1 - alpha)), math.log((1 - beta) / alpha)
    decision = ACCEPT_H1 if llr >= upper else ACCEPT_H0 if llr <= lower else CONTINUE
    return SPRTResult(llr, lower, upper, decision)


class SPRT:
    """The same test fed one game at a time: `add(score)` -> decision."""

    def __init__(self, elo0: float = 0.0, elo1: float = 35.0, alpha: float = 0.05, beta: float = 0.05):
        _check(elo0, elo1, alpha, beta)
        self.elo0, self.elo1, self.alpha, self.beta = elo0, elo1, alpha, beta
        self.wins = self.draws = self.losses = 0

    def add(self, score: float) -> str:
        """Record one game (1 win, 0.5 draw, 0 loss for the candidate); returns the decision."""
        if score not in (0, 0.5, 1):
            raise SPRTError(f"a game scores 0, 0.5 or 1, got {score!r}")
        if score == 1:
            self.wins += 1
        elif score == 0:
            self.losses += 1
        else:
            self.draws += 1
        return self.result().decision

    def result(self) -> SPRTResult:
        """The test on the games so far."""
        return sprt(self.wins, self.draws, self.losses, self.elo0, self.elo1, self.alpha, self.beta)
