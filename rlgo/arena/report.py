"""Tables of a tournament: ratings with 95% intervals, a crosstable, forfeits (rich and Markdown).

Both tables list the agents in rating order and number them by rank, so "2" is the same agent in both.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from rich.table import Table

from rlgo.go.sgf import SGFError, load_sgf
from rlgo.stats.elo import Rating, fit_elo
from rlgo.stats.results import WINNER_SCORES, rated_games
from rlgo.atomic import write_text_atomic


def agent_order(records, agents=()) -> list[str]:
    """Agents in the given order, then any others found in the records."""
    order = list(dict.fromkeys(agents))
    for r in records:
        for name in (r["black"], r["white"]):
            if name not in order:
                order.append(name)
    return order


def ratings_of(records, agents=(), anchor: str | None = None, anchor_elo: float = 0.0) -> list[Rating]:
    """Elo fit of the records (anchor default: the first agent)."""
    names = agent_order(records, agents)
    return fit_elo(rated_games(records), anchor=anchor or (names[0] if names else None), anchor_elo=anchor_elo,
                   names=names)


def pair_scores(records) -> dict[tuple[str, str], list[float]]:
    """{(a, b): [wins, draws, losses] of a against b} for both orders of every pair."""
    table: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0])
    for r in records:
        black_score = WINNER_SCORES[r["winner"]][0]
        for me, other, score in ((r["black"], r["white"], black_score), (r["white"], r["black"], 1 - black_score)):
            table[me, other][0 if score == 1 else 1 if score == 0.5 else 2] += 1
    return table


def forfeits(records) -> Counter:
    """Forfeit counts by (loser, reason)."""
    out = Counter()
    for r in records:
        if r["reason"].startswith("forfeit"):
            loser = r["white"] if r["winner"] == "B" else r["black"]
            out[loser, r["reason"]] += 1
    return out


def repeated_games(records, folder) -> int:
    """Games whose pairing, colours and every move (from their SGFs in `folder`) repeat an earlier game of the
    records: a strength figure counts only distinct games (a game whose SGF is missing counts as distinct)."""
    seen, repeats = set(), 0
    for r in records:
        try:
            moves = tuple(load_sgf(Path(folder) / r["sgf"]).moves)
        except (OSError, SGFError, KeyError):
            continue
        key = (r["black"], r["white"], moves)
        repeats += key in seen
        seen.add(key)
    return repeats


def game_line(record: dict, finished: int, total: int) -> str:
    """A finished game for a reader: the pairing with colours, the result and who won, where its SGF is."""
    winner = {"B": record["black"], "W": record["white"]}.get(record["winner"])
    verdict = f"{winner} wins" if winner else "jigo"
    detail = f", {record['detail']}" if record.get("detail") else ""
    return (f"game {finished}/{total}: {record['black']} (Black) vs {record['white']} (White): {record['result']}, "
            f"{verdict} ({record['reason']}{detail}, {record['moves']} moves) {record['sgf']}")


def rating_table(ratings: list[Rating]) -> Table:
    """rich Table: rank, agent, Elo, 95% interval, games, score."""
    table = Table(title="Ratings (maximum likelihood, 95% confidence)")
    for column, justify in (("#", "right"), ("agent", "left"), ("Elo", "right"), ("95% CI", "right"),
                            ("games", "right"), ("score", "right")):
        table.add_column(column, justify=justify)
    for rank, r in enumerate(ratings, 1):
        interval = _interval(r)
        share = f"{100 * r.score / r.games:.0f}%" if r.games else "-"
        table.add_row(str(rank), r.name, f"{r.elo:.0f}", interval, str(r.games), share)
    return table


def crosstable(records, ratings: list[Rating]) -> Table:
    """rich Table: row agent's wins-losses(-draws) against each column agent, numbered by rank."""
    names = [r.name for r in ratings]
    scores = pair_scores(records)
    table = Table(title="Crosstable (row's wins-losses against column)")
    table.add_column("agent")
    for k in range(len(names)):
        table.add_column(str(k + 1), justify="center")
    for i, me in enumerate(names):
        cells = [_cell(scores, me, other) for other in names]
        table.add_row(f"{i + 1}. {me}", *cells)
    return table


def ratings_markdown(ratings: list[Rating], records) -> str:
    """Markdown rating table and crosstable (for docs/ratings.md), numbered by rank."""
    names = [r.name for r in ratings]
    lines = ["| # | agent | Elo | 95% CI | games | score |", "|---|---|---:|---:|---:|---:|"]
    for rank, r in enumerate(ratings, 1):
        interval = _interval(r)
        lines.append(f"| {rank} | `{r.name}` | {r.elo:.0f} | {interval} | {r.games} | "
                     f"{100 * r.score / max(r.games, 1):.0f}% |")
    scores = pair_scores(records)
    lines += ["", "| row vs column (W-L) | " + " | ".join(str(k + 1) for k in range(len(names))) + " |",
              "|---|" + "---|" * len(names)]
    for i, me in enumerate(names):
        cells = [_cell(scores, me, other) for other in names]
        lines.append(f"| {i + 1}. `{me}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def save_ratings(folder, ratings: list[Rating], records) -> None:
    """Write ratings.json and ratings.md into the tournament folder (atomically)."""
    data = [{"agent": r.name, "elo": r.elo, "low": r.low, "high": r.high, "stderr": r.stderr, "games": r.games,
             "score": r.score} for r in ratings]
    write_text_atomic(Path(folder) / "ratings.json", json.dumps(data, indent=2) + "\n")
    write_text_atomic(Path(folder) / "ratings.md", ratings_markdown(ratings, records))


def _interval(r: Rating) -> str:
    return "anchor" if r.stderr == 0 else f"{r.low:.0f} .. {r.high:.0f}"


def _cell(scores, me: str, other: str) -> str:
    w, d, l = scores.get((me, other), [0, 0, 0])
    return "" if me == other or w + d + l == 0 else f"{w}-{l}" + (f"-{d}" if d else "")
