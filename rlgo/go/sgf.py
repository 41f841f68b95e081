"""SGF FF[4] game records: read the main line into a GameRecord, replay it, write it back.

Points are rlgo point indices (row 0 at the top, N*N = pass; see `coords`). A parsed record
is checked for syntax, board size and on-board points; move legality is checked when the
record is replayed (`record_to_state`), because it depends on the rules. Only the main line
and the properties named in GameRecord are read (plus unknown root properties, kept raw);
markup, timing and other per-node properties are dropped.
"""
from __future__ import annotations

import math
import os
import re
import stat
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from rlgo.atomic import write_text_atomic
from rlgo.go import coords
from rlgo.go.errors import CoordinateError, GoError, IllegalMoveError
from rlgo.go.rules import PRESETS, Rules
from rlgo.go.sgf_parse import GameTree, Node, Prop, SGFError, escape_text, parse_trees, text_value
from rlgo.go.state import BLACK, COLOR_NAMES, EMPTY, WHITE, GameState

__all__ = ["GameRecord", "SGFError", "parse_sgf", "parse_collection", "record_to_state", "write_sgf",
           "save_sgf", "load_sgf", "rules_for"]

# Game-info properties kept as SimpleText fields: SGF identifier -> GameRecord attribute.
_INFO = {"RU": "rules", "PB": "black", "BR": "black_rank", "PW": "white", "WR": "white_rank",
         "DT": "date", "EV": "event", "GN": "game_name", "RE": "result"}
_SETUP = {"AB": BLACK, "AW": WHITE, "AE": EMPTY}
_COLORS = {"B": BLACK, "W": WHITE}
# Properties this module reads or writes itself; other root properties go to `extra`.
_OWN = {"FF", "GM", "CA", "AP", "SZ", "KM", "HA", "PL", "C", "B", "W", *_INFO, *_SETUP}
_RULE_ALIASES = {"cn": "chinese", "jp": "japanese", "korean": "japanese", "tt": "tromp-taylor",
                 "tromptaylor": "tromp-taylor", "gnu go": "gnugo"}
_RULES_EXTRA = {"aga": Rules(ko="situational"), "nz": Rules(ko="situational", suicide=True)}
_RAW_VALUE = re.compile(r"(?:[^\]\\]|\\.)*", re.S)


@dataclass
class GameRecord:
    """One game: metadata, setup stones and the main line of moves (point N*N = pass)."""

    size: int = 19
    """Board size N (SZ; 19 when absent)."""
    komi: float = 0.0
    """KM (0 when absent)."""
    handicap: int = 0
    """HA: number of handicap stones (the stones themselves are in setup_black)."""
    rules: str = ""
    """RU text as written ('Japanese', 'chinese', ...); see `rules_for`."""
    black: str = ""
    """PB: Black's name."""
    white: str = ""
    """PW: White's name."""
    black_rank: str = ""
    """BR."""
    white_rank: str = ""
    """WR."""
    result: str = ""
    """RE: 'B+R', 'W+3.5', '0', 'Void', '?' or ''."""
    date: str = ""
    """DT."""
    event: str = ""
    """EV."""
    game_name: str = ""
    """GN."""
    setup_black: list[int] = field(default_factory=list)
    """AB points placed before the first move (after every AB/AW/AE up to it)."""
    setup_white: list[int] = field(default_factory=list)
    """AW points."""
    setup_empty: list[int] = field(default_factory=list)
    """AE points (cleared before the first move; a no-op on an empty board, kept for round trips)."""
    to_play: int | None = None
    """PL: colour to move after the setup (BLACK/WHITE), None when not given."""
    moves: list[tuple[int, int]] = field(default_factory=list)
    """(color, point) of the main line in order; point N*N is a pass."""
    comments: dict[int, str] = field(default_factory=dict)
    """C text by move index (0-based into `moves`); notes of later move-less nodes are appended."""
    root_comment: str = ""
    """C of the root (and of setup nodes before the first move)."""
    extra: dict[str, list[str]] = field(default_factory=dict)
    """Other root properties, values raw (escapes kept) so they are written back unchanged."""
    move_where: list[tuple[int, int]] = field(default_factory=list, repr=False, compare=False)
    """(line, col) of each move in the parsed file (empty for records built in code)."""
    setup_where: tuple[int, int] | None = field(default=None, repr=False, compare=False)
    """(line, col) of the first setup property in the parsed file."""

    def winner(self) -> int | None:
        """BLACK or WHITE from RE 'B+...'/'W+...', EMPTY for a draw ('0', 'Draw'), else None."""
        text = self.result.strip().upper()
        if text[:2] in ("B+", "W+"):
            return _COLORS[text[0]]
        return EMPTY if text in ("0", "DRAW", "JIGO") else None

    @classmethod
    def from_state(cls, state: GameState, black: str = "", white: str = "", result: str | None = None,
                   date: str = "", event: str = "", game_name: str = "", black_rank: str = "",
                   white_rank: str = "", comments: dict[int, str] | None = None,
                   root_comment: str = "", handicap: int | None = None) -> "GameRecord":
        """A record of a GameState (resignation is kept in the result, not as a move).

        `result` None: the state's result when the game is over, else ''. `handicap` None:
        the number of black setup stones when only Black has setup stones (and at least 2).
        """
        setup_black = [p for c, p in state.setup_stones if c == BLACK]
        setup_white = [p for c, p in state.setup_stones if c == WHITE]
        if handicap is None:
            handicap = len(setup_black) if len(setup_black) >= 2 and not setup_white else 0
        moves = [(c, p) for c, p in state.moves if p >= 0]
        first = moves[0][0] if moves else state.to_play
        return cls(size=state.size, komi=float(state.rules.komi), handicap=handicap,
                   rules=_rules_name(state.rules), black=black, white=white, black_rank=black_rank,
                   white_rank=white_rank, result=(state.result() if state.is_over else "") if result is None
                   else result, date=date, event=event, game_name=game_name, setup_black=setup_black,
                   setup_white=setup_white, to_play=first if state.setup_stones else None, moves=moves,
                   comments=dict(comments or {}), root_comment=root_comment)


# ---------------------------------------------------------------------------------------- reading
def parse_sgf(data: str | bytes) -> GameRecord:
    """The first game of an SGF collection (main line); raises SGFError naming line:col."""
    return _record(parse_trees(data)[0])


def parse_collection(data: str | bytes) -> list[GameRecord]:
    """Every game of an SGF collection, in file order."""
    return [_record(tree) for tree in parse_trees(data)]


MAX_SGF_BYTES = 16 << 20
"""Larger files are refused unread (a long game with full analysis comments is well under 1 MiB)."""


def read_sgf_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of an SGF file; SGFError for a device, pipe or folder, or a file over MAX_SGF_BYTES."""
    path = Path(path)
    info = path.stat()  # stat, not open: opening a FIFO would block
    if not stat.S_ISREG(info.st_mode):
        raise SGFError("not a regular file", source=str(path))
    with path.open("rb") as f:
        data = f.read(MAX_SGF_BYTES + 1)
    if len(data) > MAX_SGF_BYTES:
        raise SGFError(f"file larger than {MAX_SGF_BYTES >> 20} MiB", source=str(path))
    return data


def load_sgf(path: str | os.PathLike) -> GameRecord:
    """parse_sgf of a file (read_sgf_bytes); errors name the file too."""
    data = read_sgf_bytes(path)
    try:
        return parse_sgf(data)
    except SGFError as e:
        raise SGFError(e.detail, e.line, e.col, e.move, source=str(path)) from None


def _record(tree: GameTree) -> GameRecord:
    nodes = tree.main_line()
    root = nodes[0]
    if "GM" in root and _single(root["GM"]).strip() != "1":
        raise root["GM"].error("not a game of Go (GM[1])")
    record = GameRecord(size=_size(root["SZ"]) if "SZ" in root else 19)
    record.extra = {name: list(p.values) for name, p in root.items() if name not in _OWN}
    setup: dict[int, int] = {}
    for node in nodes:
        _read_setup(node, record, setup)
        _read_move(node, record)
        for name, prop in node.items():
            if name == "C":
                note = text_value(_single(prop))
                if record.moves:
                    index = len(record.moves) - 1
                    record.comments[index] = _join(record.comments.get(index, ""), note)
                else:
                    record.root_comment = _join(record.root_comment, note)
            elif name in _INFO:
                setattr(record, _INFO[name], text_value(_single(prop), simple=True))
            elif name == "KM":
                record.komi = _komi(prop)
            elif name == "HA":
                record.handicap = _int(prop, "handicap", 0)
            elif name == "PL":
                if _single(prop).strip().upper() not in _COLORS:
                    raise prop.error("PL must be B or W")
                record.to_play = _COLORS[_single(prop).strip().upper()]
    for color, target in ((BLACK, record.setup_black), (WHITE, record.setup_white), (EMPTY, record.setup_empty)):
        target.extend(p for p, c in setup.items() if c == color)
    return record


def _read_setup(node: Node, record: GameRecord, setup: dict[int, int]) -> None:
    """Apply AB/AW/AE of a node to `setup` (point -> colour, EMPTY for AE)."""
    seen: set[int] = set()
    for name, color in _SETUP.items():
        if name not in node:
            continue
        prop = node[name]
        if record.moves:
            raise prop.error(f"setup stones after move {len(record.moves)} are not supported")
        record.setup_where = record.setup_where or prop.where[0]
        for index, point in _points(prop, record.size):
            if point in seen:
                raise prop.error(f"point {coords.to_gtp(point, record.size)} set up twice in one node", index)
            seen.add(point)
            setup[point] = color  # a later setup of a point replaces the earlier one


def _read_move(node: Node, record: GameRecord) -> None:
    """Append the B or W move of a node (if any) with its file position."""
    found = [node[name] for name in _COLORS if name in node]
    if not found:
        return
    number = len(record.moves) + 1
    if len(found) == 2:
        raise node["W"].error("a node with both a B and a W move", move=number)
    prop = found[0]
    try:
        point = coords.from_sgf(_single(prop, move=number).strip(), record.size)
    except CoordinateError as e:
        raise prop.error(str(e), move=number) from None
    record.moves.append((_COLORS[prop.name], point))
    record.move_where.append(prop.where[0])


def _points(prop: Prop, size: int) -> list[tuple[int, int]]:
    """(value index, point) of a point list, compressed rectangles 'aa:cc' expanded."""
    out = []
    for index, raw in enumerate(prop.values):
        corners = raw.strip().split(":")
        try:
            if len(corners) > 2:
                raise CoordinateError(f"invalid point list entry {raw!r}")
            ends = [coords.from_sgf(c, size) for c in corners]
            if size * size in ends:
                raise CoordinateError(f"{raw!r} is a pass, not a board point")
        except CoordinateError as e:
            raise prop.error(str(e), index) from None
        (r0, c0), (r1, c1) = coords.to_rc(ends[0], size), coords.to_rc(ends[-1], size)
        out.extend((index, r * size + c) for r in range(min(r0, r1), max(r0, r1) + 1)
                   for c in range(min(c0, c1), max(c0, c1) + 1))
    return out


def _single(prop: Prop, move: int | None = None) -> str:
    if len(prop.values) != 1:
        raise prop.error(f"{prop.name} takes one value, got {len(prop.values)}", move=move)
    return prop.values[0]


def _size(prop: Prop) -> int:
    text = _single(prop).strip()
    if ":" in text:
        columns, _, rows = text.partition(":")
        if columns.strip() != rows.strip():
            raise prop.error("non-square boards are not supported")
        text = columns.strip()
    if not re.fullmatch("[0-9]+", text):
        raise prop.error("board size must be a number")
    try:
        return coords.check_size(int(text))
    except CoordinateError as e:
        raise prop.error(str(e)) from None


def _komi(prop: Prop) -> float:
    text = _single(prop).strip().replace(",", ".")
    try:
        value = float(text) if text else 0.0
    except ValueError:
        raise prop.error("komi must be a number") from None
    if not math.isfinite(value):
        raise prop.error("komi must be finite")
    return value


def _int(prop: Prop, what: str, low: int) -> int:
    text = _single(prop).strip()
    if not re.fullmatch("[0-9]+", text) or int(text) < low:
        raise prop.error(f"{what} must be an integer >= {low}")
    return int(text)


def _join(old: str, new: str) -> str:
    return f"{old}\n{new}" if old else new


# ---------------------------------------------------------------------------------------- replay
def rules_for(text: str) -> Rules:
    """Rules for an RU text: presets by name (chinese, japanese, tromp-taylor, gnugo, aga, nz), else Rules()."""
    key = text.strip().lower()
    key = _RULE_ALIASES.get(key, key)
    if key in _RULES_EXTRA:
        return _RULES_EXTRA[key]
    return PRESETS[key] if key in PRESETS else Rules()


def _rules_name(rules: Rules) -> str:
    for name, preset in PRESETS.items():
        if preset.with_komi(rules.komi) == rules:
            return name
    return ""


def record_to_state(record: GameRecord, rules: Rules | None = None) -> GameState:
    """Replay setup and moves; `rules` default: rules_for(record.rules) with the record's komi.

    An illegal move raises SGFError with its move number (1-based), reason and file position.
    """
    rules = rules if rules is not None else rules_for(record.rules).with_komi(record.komi)
    try:
        state = GameState(record.size, rules)
    except CoordinateError as e:
        raise SGFError(str(e)) from None
    first = record.to_play or (record.moves[0][0] if record.moves else None)
    if first is None:
        first = WHITE if record.handicap >= 2 and record.setup_black and not record.setup_white else BLACK
    state.set_to_play(first)  # place() keeps the side to move and restarts the superko history with it
    try:
        state.place([(BLACK, p) for p in record.setup_black] + [(WHITE, p) for p in record.setup_white])
    except GoError as e:
        raise SGFError(f"bad setup: {e}", *(record.setup_where or ())) from None
    for index, (color, point) in enumerate(record.moves):
        where = record.move_where[index] if index < len(record.move_where) else ()
        if color not in (BLACK, WHITE):
            raise SGFError(f"invalid colour {color!r}", *where, move=index + 1)
        try:
            state.play(point, color)
        except IllegalMoveError as e:
            raise SGFError(f"illegal move {COLOR_NAMES[color]} {e.move}: {e.reason}", *where,
                           move=index + 1) from None
    return state


# ---------------------------------------------------------------------------------------- writing
@lru_cache(maxsize=1)
def _version() -> str:
    try:
        return metadata.version("rlgo")
    except metadata.PackageNotFoundError:
        return "0"


def write_sgf(record: GameRecord) -> str:
    """FF[4] text of a record (UTF-8 charset, passes as [], text escaped)."""
    n = record.size
    try:
        coords.check_size(n)
    except CoordinateError as e:
        raise SGFError(str(e)) from None
    if not math.isfinite(record.komi):
        raise SGFError(f"komi must be finite, got {record.komi!r}")
    komi = int(record.komi) if float(record.komi).is_integer() else repr(float(record.komi))
    head = [f"FF[4]GM[1]CA[UTF-8]AP[rlgo:{_version()}]SZ[{n}]KM[{komi}]"]
    if record.handicap:
        head.append(f"HA[{int(record.handicap)}]")
    head += [f"{ident}[{escape_text(getattr(record, name))}]" for ident, name in _INFO.items()
             if getattr(record, name)]
    for name, values in record.extra.items():
        if not re.fullmatch("[A-Z]+", name) or name in _OWN:
            raise SGFError(f"extra property {name!r} is not a free upper-case identifier")
        if not values or not all(_RAW_VALUE.fullmatch(v) for v in values):
            raise SGFError(f"extra property {name} has unescaped values {values!r}")
        head.append(name + "".join(f"[{v}]" for v in values))
    if record.to_play not in (None, *COLOR_NAMES):
        raise SGFError(f"to_play must be BLACK, WHITE or None, got {record.to_play!r}")
    if record.to_play is not None:
        head.append(f"PL[{COLOR_NAMES[record.to_play]}]")
    for ident, points in (("AB", record.setup_black), ("AW", record.setup_white), ("AE", record.setup_empty)):
        if points:
            head.append(ident + "".join(f"[{_sgf_point(p, n)}]" for p in points))
    if record.root_comment:
        head.append(f"C[{escape_text(record.root_comment)}]")
    extra_notes = set(record.comments) - set(range(len(record.moves)))
    if extra_notes:
        raise SGFError(f"comments for moves {sorted(extra_notes)} but the record has {len(record.moves)} moves")
    body = []
    for index, (color, point) in enumerate(record.moves):
        if color not in COLOR_NAMES:
            raise SGFError(f"invalid colour {color!r}", move=index + 1)
        note = f"C[{escape_text(record.comments[index])}]" if index in record.comments else ""
        sep = ";" if index % 10 else "\n;"  # ten moves a line
        body.append(f"{sep}{COLOR_NAMES[color]}[{_sgf_point(point, n, index)}]{note}")
    return "(;" + "\n".join(head) + "".join(body) + ")\n"


def _sgf_point(point: int, size: int, index: int | None = None) -> str:
    try:
        return coords.to_sgf(int(point), size)
    except CoordinateError as e:
        raise SGFError(str(e), move=None if index is None else index + 1) from None


def save_sgf(path: str | os.PathLike, record: GameRecord) -> None:
    """Write a record atomically (temp file in the same folder, fsync, os.replace)."""
    write_text_atomic(path, write_sgf(record))
