"""Replay an SGF record's main line into training samples (positions + expert moves)."""
from __future__ import annotations

import hashlib
import re
from dataclasses import replace

import numpy as np

from rlgo.go import coords
from rlgo.go.errors import IllegalMoveError
from rlgo.go.sgf import GameRecord, SGFError, record_to_state, rules_for
from rlgo.go.state import EMPTY
from rlgo.train.data.shards import HISTORY, pack_stones

_RANK = re.compile(r"^\s*(\d+)\s*([kdp])", re.I)


def rank_value(text: str) -> int | None:
    """'30k'..'1k' -> -29..0, '1d'..'9d' -> 1..9, '1p'.. -> 10..; None when not a rank."""
    match = _RANK.match(text or "")
    if not match:
        return None
    number, kind = int(match.group(1)), match.group(2).lower()
    return {"k": 1 - number, "d": number, "p": 9 + number}[kind]


def is_handicap(record: GameRecord) -> bool:
    """HA >= 1, or black setup stones with no white ones (a handicap written without HA)."""
    return record.handicap >= 1 or (bool(record.setup_black) and not record.setup_white)


def game_hash(record: GameRecord) -> str:
    """Hash of what was played (size, setup, moves) for deduplication; names and dates ignored."""
    text = repr((record.size, sorted(record.setup_black), sorted(record.setup_white), record.to_play,
                 record.moves))
    return hashlib.sha1(text.encode()).hexdigest()


def is_validation(game_id: str, fraction: float) -> bool:
    """Whether a game goes to the validation split (a fixed hash of its id, not a coin flip)."""
    return int(hashlib.sha1(game_id.encode()).hexdigest()[:8], 16) < fraction * 2**32


def game_samples(record: GameRecord) -> dict[str, np.ndarray]:
    """One sample per main-line move (shard fields, without 'game'); raises SGFError on an illegal move.

    Moves are replayed under the record's rules but with simple ko: the data wants what was
    played, not a superko verdict.
    """
    rules = replace(rules_for(record.rules), ko="simple").with_komi(record.komi)
    state = record_to_state(replace(record, moves=[], move_where=[]), rules)
    n, t = record.size, len(record.moves)
    stones = np.empty((t, HISTORY, n * n), dtype=np.int8)
    out = {name: np.empty(t, dtype=np.int16) for name in ("move", "last_move", "ko", "move_number")}
    out["to_play"] = np.empty(t, dtype=np.int8)
    out["outcome"] = np.zeros(t, dtype=np.int8)
    out["komi"] = np.full(t, record.komi, dtype=np.float32)
    winner = record.winner()
    for i, (color, point) in enumerate(record.moves):
        stones[i] = state.stone_history(HISTORY)
        out["to_play"][i], out["move"][i] = color, point
        last = state.last_move
        out["last_move"][i] = -1 if last is None else last
        ko = state.ko_point if color == state.to_play else None
        out["ko"][i] = -1 if ko is None else ko
        out["move_number"][i] = state.move_number
        if winner not in (None, EMPTY):
            out["outcome"][i] = 1 if winner == color else -1
        try:
            state.play(point, color)
        except IllegalMoveError as e:
            where = record.move_where[i] if i < len(record.move_where) else ()
            raise SGFError(f"illegal move {coords.to_gtp(point, n)}: {e.reason}", *where, move=i + 1) from None
    out["stones"] = pack_stones(stones)
    return out
