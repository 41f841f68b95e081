"""GameState: a Go position with its history, owning the Numba board arrays.

Moves are point indices (row-major, row 0 at the top) with N*N for a pass; see `coords`.
Colours are BLACK = 1 and WHITE = 2 (`other(c) = 3 - c`).
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from rlgo.go import coords, kernels as K
from rlgo.go.errors import GoError, IllegalMoveError
from rlgo.go.handicap import fixed_handicap_points
from rlgo.go.legal import KO_MODES, legal_moves, position_key
from rlgo.go.rules import Rules

BLACK, WHITE, EMPTY = K.BLACK, K.WHITE, K.EMPTY
COLOR_NAMES = {BLACK: "B", WHITE: "W"}
_REASONS = {K.OCCUPIED: "occupied", K.SUICIDE: "suicide", K.KO: "ko"}
_NO_PATH = np.zeros(1, np.int64)


@lru_cache(maxsize=None)
def zobrist(size: int) -> np.ndarray:
    """The shared Zobrist table of a board size (int64 [3, (N+2)**2]; read-only)."""
    table = K.zobrist_table(size)
    table.setflags(write=False)
    return table


def color_from_name(name: str) -> int:
    """'b', 'black', 'W', 'white' -> BLACK / WHITE; raises GoError otherwise."""
    key = name.strip().lower()
    if key in ("b", "black"):
        return BLACK
    if key in ("w", "white"):
        return WHITE
    raise GoError(f"invalid color {name!r}")


class _UndoRecord(NamedTuple):
    """What `undo` needs to take a move back: the board entries it changed, and the rest."""

    index: np.ndarray
    """int64 [K]: flat indices into `b` that the move changed."""
    values: np.ndarray
    """int32 [K]: their values before the move."""
    meta: np.ndarray
    """int64 [NMETA]: `m` before the move."""
    key: int | None
    """The superko key the move added (None when the position had been seen before)."""
    resigned: int
    """`resigned` before the move."""


class GameState:
    """A game in progress: position, side to move, ko/superko history, undo stack, result."""

    def __init__(self, size: int = 9, rules: Rules | None = None):
        self.size = coords.check_size(size)
        self._rules = rules or Rules()
        self.zob = zobrist(size)
        self.b, self.m = K.new_board(size, self._rules.suicide, self._rules.komi)
        self.moves: list[tuple[int, int]] = []  # (color, point) in order, passes included
        self.setup_stones: list[tuple[int, int]] = []  # (color, point) placed before the moves
        self.resigned: int = EMPTY  # colour that resigned
        self._seen: set[int] = {self._position_key(int(self.m[K.M_HASH]), BLACK)}
        self._undo: list[_UndoRecord] = []
        self._past: list[np.ndarray] = []  # COL rows (int8 [A]) of earlier positions, oldest first

    @property
    def rules(self) -> Rules:
        """The game's rules; setting them (e.g. GTP `komi`) also updates the board's suicide and komi slots."""
        return self._rules

    @rules.setter
    def rules(self, rules: Rules) -> None:
        self._rules = rules
        self._sync_rules()

    def _sync_rules(self) -> None:
        self.m[K.M_SUICIDE] = 1 if self._rules.suicide else 0
        self.m[K.M_KOMI] = round(self._rules.komi * K.KOMI_SCALE)

    # ----------------------------------------------------------------- queries
    @property
    def to_play(self) -> int:
        """Colour to move (BLACK or WHITE)."""
        return int(self.m[K.M_TOPLAY])

    @property
    def pass_move(self) -> int:
        """The action index of a pass (N*N)."""
        return self.size * self.size

    @property
    def move_number(self) -> int:
        """Moves played so far (passes included, setup stones not)."""
        return len(self.moves)

    @property
    def empty_points(self) -> int:
        """Empty points on the board (what is left to play on; clocks spread time over it)."""
        return int(self.m[K.M_NEMPTY])

    @property
    def passes(self) -> int:
        """Consecutive passes at the end of the move list."""
        return int(self.m[K.M_PASSES])

    @property
    def hash(self) -> int:
        """Zobrist hash of the stones (positional)."""
        return int(self.m[K.M_HASH])

    @property
    def captures(self) -> dict[int, int]:
        """Prisoners taken by each colour."""
        return {BLACK: int(self.m[K.M_CAP_B]), WHITE: int(self.m[K.M_CAP_W])}

    @property
    def last_move(self) -> int | None:
        """Point of the last move (N*N for a pass), None at the start."""
        return self.moves[-1][1] if self.moves else None

    @property
    def ko_point(self) -> int | None:
        """Point that simple ko forbids now, or None."""
        v = int(self.m[K.M_KO])
        return None if v == K.NO_VERTEX else coords.from_vertex(v, self.size)

    @property
    def is_over(self) -> bool:
        """Two consecutive passes or a resignation."""
        return self.resigned != EMPTY or self.passes >= 2

    def board(self) -> np.ndarray:
        """Stones as int8 [N, N]: 0 empty, 1 black, 2 white (row 0 at the top)."""
        n = self.size
        return self.b[K.COL].reshape(n + 2, n + 2)[1:-1, 1:-1].astype(np.int8)

    def position_keys(self) -> np.ndarray:
        """Sorted int64 superko keys of every position so far (see `_position_key`)."""
        return np.sort(np.fromiter(self._seen, np.int64, len(self._seen)))

    def set_to_play(self, color: int) -> None:
        """Give the move to `color` (GTP, SGF PL, handicap); clears the simple-ko point.

        Before the first move the superko history restarts with `color` to move.
        """
        if color not in (BLACK, WHITE):
            raise GoError(f"invalid color {color!r}")
        if color != self.to_play:
            self.m[K.M_TOPLAY] = color
            self.m[K.M_KO] = K.NO_VERTEX
        if not self.moves:
            self._seen = {self._position_key(self.hash, color)}

    def reopen(self) -> None:
        """Let play go on after two passes (GTP allows it; some records play on). A single pass stays
        counted: the next player still sees that the opponent passed."""
        if self.resigned == EMPTY and self.passes >= 2:
            self.m[K.M_PASSES] = 0

    def position_history(self, k: int) -> np.ndarray:
        """int8 [k, (N+2)**2]: kernel colour rows, [0] now, [i] i moves ago; all 0 before the start."""
        out = np.zeros((k, self.b.shape[1]), dtype=np.int8)
        out[0] = self.b[K.COL]
        for i in range(1, min(k, len(self._past) + 1)):
            out[i] = self._past[-i]
        return out

    def stone_history(self, k: int) -> np.ndarray:
        """int8 [k, N*N]: stones by point (0 empty, 1 black, 2 white), [0] now, [i] i moves ago; all 0
        before the start (the stored form of position_history)."""
        return self.position_history(k)[:, coords.interior_vertices(self.size)]

    def color_at(self, point: int) -> int:
        """EMPTY, BLACK or WHITE at a point."""
        return int(self.b[K.COL, self._vertex(point)])

    def liberties(self, point: int) -> int:
        """Exact liberties of the chain at a point (0 for an empty point)."""
        v = self._vertex(point)
        if self.b[K.COL, v] == EMPTY:
            return 0
        return int(K.chain_liberties(self.b, self.m, v, np.zeros(self.b.shape[1], np.int32)))

    def chain(self, point: int) -> list[int]:
        """Sorted points of the chain at a point (empty list for an empty point)."""
        v = self._vertex(point)
        if self.b[K.COL, v] == EMPTY:
            return []
        head = self.b[K.HEAD, v]
        out, s = [], head
        while True:
            out.append(coords.from_vertex(int(s), self.size))
            s = self.b[K.NEXT, s]
            if s == head:
                return sorted(out)

    def fills_own_eye(self, point: int) -> bool:
        """Whether a move at `point` by the side to move fills its own single-point eye."""
        return bool(K.is_eyeish(self.b, self.m, self._vertex(point), self.to_play))

    def illegal_reason(self, move: int, color: int | None = None) -> str | None:
        """Why `color` (default: side to move) may not play `move`, or None if it may."""
        color = self.to_play if color is None else color
        if self.is_over:
            return "game over"
        if not isinstance(move, (int, np.integer)) or not 0 <= move <= self.pass_move:
            return "off-board"
        if move == self.pass_move:
            return None
        v = coords.to_vertex(int(move), self.size)
        if color != self.to_play and v == self.m[K.M_KO]:
            code = K.legality(self.b, self._meta_without_ko(), v, color)
        else:
            code = K.legality(self.b, self.m, v, color)
        if code != K.LEGAL:
            return _REASONS[code]
        if self.rules.ko != "simple":
            key = self._position_key(int(K.result_hash(self.b, self.m, self.zob, v, color)), 3 - color)
            if key in self._seen:
                return "superko"
        return None

    def is_legal(self, move: int, color: int | None = None) -> bool:
        """Whether `move` is legal for `color` (default: side to move)."""
        return self.illegal_reason(move, color) is None

    def legal_mask(self) -> np.ndarray:
        """bool [N*N+1]: legal moves of the side to move under the ko rule (pass always legal unless game
        over); one kernel call (rlgo.go.legal.legal_moves)."""
        mask = np.zeros(self.pass_move + 1, dtype=bool)
        if self.is_over:
            return mask
        legal_moves(self.b, self.m, self.zob, self.position_keys(), _NO_PATH, 0, KO_MODES[self.rules.ko], False, mask)
        return mask

    # ----------------------------------------------------------------- moves
    def play(self, move: int, color: int | None = None) -> int:
        """Play `move` for `color` (default: side to move); returns stones captured.

        Raises IllegalMoveError (reason in .reason) and leaves the state untouched.
        """
        color = self.to_play if color is None else color
        name = self._move_name(move)
        reason = self.illegal_reason(move, color)
        if reason is not None:
            raise IllegalMoveError(reason, name)
        before, meta = self.b.copy(), self.m.copy()
        self._past.append(self.b[K.COL].astype(np.int8))
        if color != self.to_play:
            self.m[K.M_KO] = K.NO_VERTEX
            self.m[K.M_TOPLAY] = color
        if move == self.pass_move:
            K.play_pass(self.m)
            captured = 0
        else:
            captured = int(K.play_vertex(self.b, self.m, self.zob, coords.to_vertex(int(move), self.size), color))
        key = self._position_key(self.hash, self.to_play)
        new_key = key not in self._seen
        self._seen.add(key)
        changed = np.flatnonzero(before != self.b)
        self._undo.append(_UndoRecord(changed, before.ravel()[changed], meta, key if new_key else None, self.resigned))
        self.moves.append((color, int(move)))
        return captured

    def play_gtp(self, vertex: str, color: int | None = None) -> int:
        """Play a GTP vertex ('D4', 'pass'); see `play`."""
        return self.play(coords.from_gtp(vertex, self.size), color)

    def resign(self, color: int | None = None) -> None:
        """`color` (default: side to move) resigns; the game is over."""
        if self.is_over:
            raise IllegalMoveError("game over", "resign")
        self._undo.append(_UndoRecord(np.zeros(0, np.int64), np.zeros(0, np.int32), self.m.copy(), None, self.resigned))
        self.resigned = self.to_play if color is None else color
        self.moves.append((self.resigned, coords.RESIGN))

    def undo(self) -> None:
        """Take back the last move (or resignation); raises GoError when there is none."""
        if not self._undo:
            raise GoError("nothing to undo")
        record = self._undo.pop()
        np.put(self.b, record.index, record.values)
        self.m[:] = record.meta
        if record.key is not None:
            self._seen.discard(record.key)
        self.resigned = record.resigned
        self._sync_rules()  # the rules may have changed since the snapshot (GTP komi)
        if self.moves.pop()[1] != coords.RESIGN:
            self._past.pop()

    def copy(self) -> "GameState":
        """An independent copy that shares no arrays (undo history is not copied)."""
        other = GameState.__new__(GameState)
        other.size, other._rules, other.zob = self.size, self._rules, self.zob
        other.b, other.m = self.b.copy(), self.m.copy()
        other.moves = list(self.moves)
        other.setup_stones = list(self.setup_stones)
        other.resigned = self.resigned
        other._seen = set(self._seen)
        other._undo = []
        other._past = list(self._past)
        return other

    # ----------------------------------------------------------------- setup
    def place(self, stones: list[tuple[int, int]]) -> None:
        """Put setup stones [(color, point)] on the board (handicap, SGF AB/AW); turn unchanged.

        Only allowed before the first move; a stone on an occupied point or one that would
        leave a chain without liberties raises GoError.
        """
        if self.moves:
            raise GoError("setup stones must come before the first move")
        to_play = self.to_play
        for color, point in stones:
            v = self._vertex(point)
            if self.b[K.COL, v] != EMPTY:
                raise GoError(f"setup stone on occupied point {coords.to_gtp(point, self.size)}")
            if K.legality(self.b, self.m, v, color) != K.LEGAL or K.result_hash(
                    self.b, self.m, self.zob, v, color) != self.hash ^ self.zob[color, v]:
                raise GoError(f"setup stone at {coords.to_gtp(point, self.size)} would capture or have no liberty")
            K.play_vertex(self.b, self.m, self.zob, v, color)
            self.setup_stones.append((color, int(point)))
        self.m[K.M_TOPLAY] = to_play
        self.m[K.M_MOVENUM] = 0
        self.m[K.M_KO] = K.NO_VERTEX
        self.m[K.M_LAST] = K.NO_VERTEX
        self._seen = {self._position_key(self.hash, to_play)}

    def set_handicap(self, count: int) -> list[int]:
        """Place GTP fixed handicap stones for Black; White moves next. Returns the points."""
        points = fixed_handicap_points(self.size, count)
        self.place([(BLACK, p) for p in points])
        self.set_to_play(WHITE)
        return points

    # ----------------------------------------------------------------- scoring
    def area_score(self) -> float:
        """Black minus White under area scoring, komi included (no dead stones removed)."""
        black, white = K.area_counts(self.b, self.m)
        return float(black - white - self.rules.komi)

    def ownership(self, dead: list[int] = ()) -> np.ndarray:
        """int8 [N, N]: area owner of each point (BLACK, WHITE, or EMPTY for dame) once the
        `dead` stones are removed."""
        b = self.b
        if len(dead):
            b = self.b.copy()
            for point in dead:
                b[K.COL, self._vertex(point)] = EMPTY
        out = np.zeros(b.shape[1], dtype=np.int8)
        K.ownership(b, self.m, out)
        n = self.size
        return out.reshape(n + 2, n + 2)[1:-1, 1:-1].copy()

    def score(self, dead: list[int] = ()) -> float:
        """Black minus White (komi included) under the rules' scoring, `dead` points removed.

        Territory scoring counts empty regions of one colour plus prisoners (dead stones
        become prisoners of the other side); area scoring counts stones plus regions.
        """
        if not dead and self.rules.scoring == "area":
            return self.area_score()
        work = self.copy()
        extra = {BLACK: 0, WHITE: 0}
        for point in set(dead):
            color = work.color_at(point)
            if color == EMPTY:
                raise GoError(f"dead stone list names empty point {coords.to_gtp(point, self.size)}")
            work.b[K.COL, work._vertex(point)] = EMPTY
            extra[3 - color] += 1
        if self.rules.scoring == "area":
            return work.area_score()
        black, white = K.territory_counts(work.b, work.m)  # prisoners taken in play included
        return float(black + extra[BLACK] - white - extra[WHITE] - self.rules.komi)

    def result(self, dead: list[int] = ()) -> str:
        """SGF-style result: 'B+R', 'W+3.5', '0' (jigo)."""
        if self.resigned != EMPTY:
            return f"{COLOR_NAMES[3 - self.resigned]}+R"
        s = self.score(dead)
        if s == 0:
            return "0"
        return f"B+{s:g}" if s > 0 else f"W+{-s:g}"

    def winner(self, dead: list[int] = ()) -> int:
        """BLACK, WHITE or EMPTY (jigo) by resignation or score."""
        if self.resigned != EMPTY:
            return 3 - self.resigned
        s = self.score(dead)
        return BLACK if s > 0 else WHITE if s < 0 else EMPTY

    # ----------------------------------------------------------------- text
    def __str__(self) -> str:
        from rlgo.go.render import board_text
        return board_text(self)

    # ----------------------------------------------------------------- private
    def _vertex(self, point: int) -> int:
        if not isinstance(point, (int, np.integer)) or not 0 <= point < self.pass_move:
            raise IllegalMoveError("off-board", str(point))
        return coords.to_vertex(int(point), self.size)

    def _move_name(self, move) -> str:
        if not isinstance(move, (int, np.integer)):
            return repr(move)
        try:
            return coords.to_gtp(int(move), self.size)
        except (GoError, TypeError, ValueError):
            return repr(move)

    def _meta_without_ko(self) -> np.ndarray:
        m = self.m.copy()
        m[K.M_KO] = K.NO_VERTEX
        return m

    def _position_key(self, stones_hash: int, next_to_play: int) -> int:
        return int(position_key(stones_hash, next_to_play, KO_MODES[self.rules.ko], self.zob))
