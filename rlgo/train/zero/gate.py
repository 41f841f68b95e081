"""Gating (AlphaGo Zero: the candidate replaces the best network only if it wins) and Elo per generation."""
from __future__ import annotations

import os

from rlgo.stats.elo import Rating, elo_from_score, fit_elo
from rlgo.stats.results import append_result, load_results, rated_games
from rlgo.stats.sprt import ACCEPT_H0, ACCEPT_H1, sprt
from rlgo.go.state import COLOR_NAMES, EMPTY
from rlgo.train.zero.selfplay import MatchGame

ACCEPT, REJECT, CONTINUE = "accept", "reject", "continue"
BLACK_POINTS = {"B": 1.0, "W": 0.0, "0": 0.5}
"""Black's points by the winner field of a results record."""


def generation_name(generation: int) -> str:
    """Label of a generation's network in logs and ratings, e.g. 'gen-0003'."""
    return f"gen-{generation:04d}"


def gate_decision(scores: list[float], max_games: int, threshold: float = 0.55, rule: str = "sprt") -> str:
    """'accept', 'reject' or 'continue' for the candidate's game scores (1 win, 0.5 jigo, 0 loss).

    'sprt': Wald's test of H0 = equal strength against H1 = the Elo gap of `threshold`
    (35 Elo for 55%) may stop the match early. Once `max_games` are played (or with 'fixed'),
    the candidate is accepted when its score is at least `threshold`.
    """
    n = len(scores)
    if rule == "sprt" and n:
        wins, draws = scores.count(1.0), scores.count(0.5)
        decision = sprt(wins, draws, n - wins - draws, 0.0, elo_from_score(threshold)).decision
        if decision == ACCEPT_H1:
            return ACCEPT
        if decision == ACCEPT_H0:
            return REJECT
    if n >= max_games:
        return ACCEPT if sum(scores) / n >= threshold else REJECT
    return CONTINUE


def match_record(generation: int, candidate: int, opponent: int, game: MatchGame) -> dict:
    """A results.jsonl record (rlgo.stats.results format) of a gate game of `generation`."""
    first, second = generation_name(candidate), generation_name(opponent)
    black, white = (first, second) if game.first_black else (second, first)
    winner = "0" if game.winner == EMPTY else COLOR_NAMES[game.winner][0].upper()
    return {"id": f"gate-{generation:04d}-{game.index:03d}", "generation": generation, "black": black,
            "white": white, "winner": winner, "result": game.result, "moves": len(game.moves),
            "candidate_black": game.first_black}


def log_games(folder: str | os.PathLike, records: list[dict]) -> None:
    """Append gate records to <folder>/results.jsonl (fsynced one by one)."""
    for record in records:
        append_result(folder, record)


def _gate_records(folder: str | os.PathLike, generation: int) -> dict[str, dict]:
    """The logged gate records of `generation`, by record id."""
    return {rid: r for rid, r in load_results(folder).items()
            if r.get("generation") == generation and rid.startswith("gate-")}


def gate_scores(folder: str | os.PathLike, generation: int) -> dict[int, float]:
    """Candidate's score of each logged gate game of `generation`, by game index."""
    out = {}
    for rid, r in _gate_records(folder, generation).items():
        black_wins = BLACK_POINTS[r["winner"]]
        out[int(rid.rsplit("-", 1)[1])] = black_wins if r["candidate_black"] else 1.0 - black_wins
    return out


def black_share(folder: str | os.PathLike, generation: int) -> float:
    """Share of the gate games of `generation` won by Black (jigo half): near 1 (or 0) means the
    colour decides the games and the gate cannot tell the networks apart."""
    records = _gate_records(folder, generation).values()
    return sum(BLACK_POINTS[r["winner"]] for r in records) / max(len(records), 1)


def ratings(folder: str | os.PathLike) -> dict[str, Rating]:
    """Elo of every rated generation relative to generation 0 (Bradley-Terry fit of all gate games)."""
    games = rated_games(load_results(folder).values())
    if not games:
        return {}
    return {r.name: r for r in fit_elo(games, anchor=generation_name(0))}

