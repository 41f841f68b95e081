"""Maximum-likelihood Elo: recovers known ratings within its intervals, matches a reference MM fit."""
from __future__ import annotations

import math

import numpy as np
import pytest

from rlgo.stats.elo import EloError, elo_from_score, expected_score, fit_elo


def simulate(true: dict[str, float], games_per_pair: int, rng: np.random.Generator):
    """Round-robin games drawn from the Elo model (no draws)."""
    names = list(true)
    games = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            p = expected_score(true[a] - true[b])
            for _ in range(games_per_pair):
                games.append((a, b, float(rng.random() < p)))
    return games


TRUE = {"anchor": 0.0, "strong": 250.0, "weak": -180.0, "close": 40.0}


def test_intervals_cover_true_ratings_about_95_percent():
    hits = total = 0
    for seed in range(60):
        ratings = fit_elo(simulate(TRUE, 40, np.random.default_rng(seed)), anchor="anchor", prior_draws=0.5)
        for r in ratings:
            if r.name != "anchor":
                total += 1
                hits += r.low <= TRUE[r.name] <= r.high
    assert 0.88 <= hits / total <= 0.995, hits / total


def test_many_games_recover_ratings_closely():
    ratings = {r.name: r for r in fit_elo(simulate(TRUE, 2000, np.random.default_rng(7)), anchor="anchor")}
    for name, value in TRUE.items():
        assert abs(ratings[name].elo - value) < 25
        assert ratings[name].high - ratings[name].low < 50 or name == "anchor"
    assert ratings["anchor"].elo == 0 and ratings["anchor"].stderr == 0


def reference_mm(games, names, prior_draws, iterations=20000):
    """Hunter's MM iteration for Bradley-Terry strengths (draws = half wins, virtual draws per pair)."""
    k = len(names)
    idx = {n: i for i, n in enumerate(names)}
    n = np.zeros((k, k))
    w = np.zeros((k, k))
    for a, b, s in games:
        i, j = idx[a], idx[b]
        n[i, j] += 1
        n[j, i] += 1
        w[i, j] += s
        w[j, i] += 1 - s
    played = n > 0
    n += prior_draws * played
    w += 0.5 * prior_draws * played
    gamma = np.ones(k)
    for _ in range(iterations):
        denom = (n / (gamma[:, None] + gamma[None, :])).sum(axis=1)
        gamma = w.sum(axis=1) / denom
        gamma /= gamma[0]
    return {name: 400 * math.log10(gamma[idx[name]]) for name in names}


def test_matches_reference_mm_fit_with_prior_and_perfect_scores():
    rng = np.random.default_rng(3)
    games = simulate({"a": 0, "b": 100, "c": -50}, 15, rng)
    games += [("d", "a", 1.0)] * 6 + [("d", "b", 0.5)] * 2  # d never loses: only the prior keeps it finite
    reference = reference_mm(games, ["a", "b", "c", "d"], prior_draws=1.0)
    ours = {r.name: r.elo for r in fit_elo(games, anchor="a", prior_draws=1.0)}
    for name in reference:
        assert ours[name] == pytest.approx(reference[name], abs=0.05)
    assert math.isfinite(ours["d"]) and ours["d"] > ours["a"]


def test_anchor_value_shifts_everything():
    games = simulate(TRUE, 20, np.random.default_rng(1))
    base = {r.name: r for r in fit_elo(games, anchor="weak", anchor_elo=0)}
    moved = {r.name: r for r in fit_elo(games, anchor="weak", anchor_elo=1500)}
    for name in TRUE:
        assert moved[name].elo == pytest.approx(base[name].elo + 1500)
        assert moved[name].stderr == pytest.approx(base[name].stderr)
    assert moved["weak"].elo == 1500 and moved["weak"].stderr == 0


def test_game_order_and_colour_of_listing_do_not_matter():
    games = simulate(TRUE, 10, np.random.default_rng(2))
    flipped = [(b, a, 1 - s) for a, b, s in reversed(games)]
    first = {r.name: r.elo for r in fit_elo(games, anchor="anchor")}
    second = {r.name: r.elo for r in fit_elo(flipped, anchor="anchor")}
    for name in first:
        assert first[name] == pytest.approx(second[name], abs=1e-6)


def test_draws_only_means_equal_ratings_and_counts_half():
    ratings = {r.name: r for r in fit_elo([("a", "b", 0.5)] * 10, anchor="a")}
    assert ratings["b"].elo == pytest.approx(0, abs=1e-6)
    assert ratings["a"].score == 5 and ratings["a"].games == 10


def test_unconnected_and_bad_input():
    with pytest.raises(EloError, match="c, d"):
        fit_elo([("a", "b", 1.0), ("c", "d", 0.0)], anchor="a")
    with pytest.raises(EloError, match="anchor"):
        fit_elo([("a", "b", 1.0)], anchor="zz")
    with pytest.raises(EloError, match="itself"):
        fit_elo([("a", "a", 1.0)])
    with pytest.raises(EloError, match="score"):
        fit_elo([("a", "b", 2.0)])
    assert fit_elo([]) == []


def test_score_elo_round_trip():
    for diff in (-600, -35, 0, 120, 800):
        assert elo_from_score(float(expected_score(diff))) == pytest.approx(diff)
    assert float(expected_score(400)) == pytest.approx(10 / 11)
    with pytest.raises(EloError):
        elo_from_score(1.0)
