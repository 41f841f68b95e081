"""Maximum-likelihood Elo (Bradley-Terry) over all games, with 95% confidence intervals.

Model: P(a beats b) = 1 / (1 + 10 ** ((r_b - r_a) / 400)); a draw counts half a win for each.
Like BayesElo, every pair that played gets `prior_draws` virtual draws, which keeps 100%
scores finite and barely moves ratings backed by many games. Ratings are fitted by Newton's
method with one agent anchored; the covariance is the inverse Hessian of the negative
log-likelihood, so each interval is relative to the anchor (whose own interval is empty).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from rlgo.stats.intervals import Z95

C = math.log(10) / 400
"""Natural-log units per Elo point."""


class EloError(ValueError):
    """Games that cannot be rated: an unknown anchor, or agents not connected to it by games."""


@dataclass(frozen=True)
class Rating:
    """One agent's fitted rating."""

    name: str
    """Agent label."""
    elo: float
    """Rating (the anchor has its given value)."""
    stderr: float
    """Standard error relative to the anchor."""
    games: int
    """Games played."""
    score: float
    """Points scored (wins + draws / 2)."""

    @property
    def low(self) -> float:
        """Lower end of the 95% confidence interval."""
        return self.elo - Z95 * self.stderr

    @property
    def high(self) -> float:
        """Upper end of the 95% confidence interval."""
        return self.elo + Z95 * self.stderr


def expected_score(elo_diff: float | np.ndarray) -> float | np.ndarray:
    """Expected score of the side `elo_diff` points stronger."""
    return 1.0 / (1.0 + np.exp(-C * np.asarray(elo_diff, dtype=np.float64)))


def elo_from_score(score: float) -> float:
    """Elo difference that gives expected `score` (0 < score < 1)."""
    if not 0 < score < 1:
        raise EloError(f"score must be strictly between 0 and 1, got {score}")
    return math.log(score / (1 - score)) / C


def fit_elo(games: Iterable[tuple[str, str, float]], anchor: str | None = None, anchor_elo: float = 0.0,
            prior_draws: float = 1.0, names: Iterable[str] | None = None, tol: float = 1e-7) -> list[Rating]:
    """Ratings from (a, b, score of a in {0, 0.5, 1}) games, best first.

    `anchor` (default: the first name) is fixed at `anchor_elo`; `names` adds agents that
    may not have played yet (they must still be connected to the anchor to be rated).
    """
    order = list(dict.fromkeys(names or ()))
    games = list(games)
    for a, b, _ in games:
        for name in (a, b):
            if name not in order:
                order.append(name)
    if not order:
        return []
    anchor = order[0] if anchor is None else anchor
    if anchor not in order:
        raise EloError(f"anchor {anchor!r} is not among the agents: {', '.join(order)}")
    index = {name: i for i, name in enumerate(order)}
    k = len(order)
    n = np.zeros((k, k))
    s = np.zeros((k, k))
    for a, b, score in games:
        if a == b:
            raise EloError(f"{a!r} cannot play itself")
        if not 0 <= score <= 1:
            raise EloError(f"score must be in [0, 1], got {score!r} for {a} vs {b}")
        i, j = index[a], index[b]
        n[i, j] += 1
        n[j, i] += 1
        s[i, j] += score
        s[j, i] += 1 - score
    games_played = n.sum(axis=1).astype(int)
    points = s.sum(axis=1)
    _check_connected(order, n, index[anchor])
    played = n > 0
    n_fit = n + prior_draws * played
    s_fit = s + 0.5 * prior_draws * played
    free = np.array([i != index[anchor] for i in range(k)])
    r = np.zeros(k)
    for _ in range(200):
        grad, hess = _derivatives(r, n_fit, s_fit)
        step = np.linalg.solve(hess[np.ix_(free, free)], -grad[free]) if free.any() else np.zeros(0)
        step = np.clip(step, -300.0, 300.0)
        r[free] += step
        if not free.any() or np.max(np.abs(step)) < tol:
            break
    cov = np.zeros((k, k))
    if free.any():
        _, hess = _derivatives(r, n_fit, s_fit)
        cov[np.ix_(free, free)] = np.linalg.inv(hess[np.ix_(free, free)])
    r += anchor_elo - r[index[anchor]]
    ratings = [Rating(name, float(r[i]), float(math.sqrt(max(cov[i, i], 0.0))), int(games_played[i]),
                      float(points[i])) for i, name in enumerate(order)]
    return sorted(ratings, key=lambda x: -x.elo)


def _derivatives(r: np.ndarray, n: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian of the negative log-likelihood in Elo units."""
    p = expected_score(r[:, None] - r[None, :])
    grad = -C * np.sum(s - n * p, axis=1)
    w = C * C * n * p * (1 - p)
    hess = np.diag(w.sum(axis=1)) - w
    return grad, hess


def _check_connected(order: list[str], n: np.ndarray, root: int) -> None:
    seen, stack = {root}, [root]
    while stack:
        i = stack.pop()
        for j in np.flatnonzero(n[i] > 0):
            if int(j) not in seen:
                seen.add(int(j))
                stack.append(int(j))
    missing = [order[i] for i in range(len(order)) if i not in seen]
    if missing:
        raise EloError(f"no games link {', '.join(missing)} to the anchor {order[root]!r}; they cannot be rated")
