"""The game log of tournaments and zero gates: one JSON line per finished game in results.jsonl, deterministic
game ids.

A game is appended (and fsynced) only after its SGF is on disk, so a crash loses at most
the games in flight; a torn last line is ignored and that game is simply played again.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

RESULTS_FILE = "results.jsonl"
"""Name of the log inside a tournament or zero run folder."""
WINNER_SCORES = {"B": (1.0, 0.0), "W": (0.0, 1.0), "0": (0.5, 0.5)}
"""(Black's score, White's score) by the `winner` field of a record."""


def game_id(first: str, second: str, index: int) -> str:
    """Stable id of game `index` of the pair (first, second) in schedule order, e.g. 'g3f2a9c01d7-004'."""
    digest = hashlib.sha1(f"{first}\0{second}".encode("utf-8")).hexdigest()[:10]
    return f"g{digest}-{index:03d}"


def load_results(folder: str | os.PathLike) -> dict[str, dict]:
    """Records of finished games by id (a missing file is an empty log; unreadable lines are skipped)."""
    path = Path(folder) / RESULTS_FILE
    if not path.exists():
        return {}
    records: dict[str, dict] = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                records[record["id"]] = record
            except (json.JSONDecodeError, KeyError, TypeError):
                print(f"{path}:{number}: skipping an unreadable line (the game will be played again)", file=sys.stderr)
    return records


def append_result(folder: str | os.PathLike, record: dict) -> None:
    """Append one record as a JSON line and fsync it."""
    path = Path(folder) / RESULTS_FILE
    line = json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
    with open(path, "a+", encoding="utf-8") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() > 0:  # a torn last line (crash mid-write) must not swallow this record
            f.seek(f.tell() - 1)
            if f.read(1) != "\n":
                line = "\n" + line
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def rated_games(records) -> list[tuple[str, str, float]]:
    """(black, white, Black's score) of every record, for the Elo fit."""
    return [(r["black"], r["white"], WINNER_SCORES[r["winner"]][0]) for r in records]
