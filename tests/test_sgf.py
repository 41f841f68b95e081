"""SGF reading, replay and writing: fixtures, malformed input, round trips, sgfmill and GNU Go cross-checks."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rlgo.go.coords import from_gtp, to_gtp
from rlgo.go.errors import GoError
from rlgo.go.rules import PRESETS, rules_from_name
from rlgo.go.sgf import (GameRecord, SGFError, load_sgf, parse_collection, parse_sgf, record_to_state,
                         rules_for, save_sgf, write_sgf)
from rlgo.go.state import BLACK, EMPTY, WHITE, GameState

try:
    from sgfmill import sgf as sgfmill  # an independent SGF implementation for differential checks
except ImportError:  # pragma: no cover
    sgfmill = None

FIXTURES = Path(__file__).parent / "fixtures" / "sgf"
GNUGO = "/usr/games/gnugo"


def where(text: str, offset: int) -> tuple[int, int]:
    """Reference (line, col), 1-based, of a character offset."""
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def gtp_points(vertices: str, size: int) -> list[int]:
    return [from_gtp(v, size) for v in vertices.split()]


# ------------------------------------------------------------------------------------ fixtures
def test_variations_follow_the_first_branch():
    record = load_sgf(FIXTURES / "variations.sgf")
    assert record.moves == [(BLACK, from_gtp("E5", 9)), (WHITE, from_gtp("C7", 9)),
                            (BLACK, from_gtp("G3", 9)), (WHITE, from_gtp("G7", 9))]
    assert record.comments == {0: "first move", 3: "main end"}
    assert (record.root_comment, record.black, record.white, record.komi) == ("root note", "Black Main",
                                                                              "White Main", 6.5)


def test_deeply_nested_variations_do_not_recurse():
    depth, letters = 3000, "abcdefghijklmnopqrs"
    points = [i * 7 % 361 for i in range(depth)]
    opens = "".join(f"(;{'BW'[i % 2]}[{letters[p % 19]}{letters[p // 19]}]" for i, p in enumerate(points))
    text = "(;SZ[19]" + opens + ")" + "(;W[aa]))" * (depth - 1) + ")"  # a side line after each main move
    record = parse_sgf(text)
    assert record.moves == [("BW".index(c) + 1, p) for c, p in zip("BW" * depth, points)]


def test_escapes_soft_breaks_and_whitespace():
    record = load_sgf(FIXTURES / "escapes.sgf")
    assert record.comments == {0: "a ] b \\ cd\ne f", 1: "onetwo"}
    assert (record.black, record.white) == ("Line one", "Tab here")  # SimpleText: breaks and tabs -> spaces


def test_pass_as_empty_and_tt_on_19():
    record = load_sgf(FIXTURES / "pass_tt.sgf")
    assert [p for _, p in record.moves] == [from_gtp(v, 19) for v in ("Q16", "pass", "D4", "pass", "Q4")]
    state = record_to_state(record)
    assert int((state.board() != EMPTY).sum()) == 3


def test_tt_is_a_real_point_on_21():
    record = load_sgf(FIXTURES / "tt_21.sgf")
    assert record.moves == [(BLACK, 19 * 21 + 19), (WHITE, 21 * 21), (BLACK, 0), (WHITE, 20 * 21 + 20)]
    board = record_to_state(record).board()
    assert board[19, 19] == BLACK and board[20, 20] == WHITE and board[0, 0] == BLACK


def test_compressed_point_lists_and_setup_nodes():
    record = load_sgf(FIXTURES / "compressed.sgf")
    assert sorted(record.setup_black) == sorted(gtp_points("A9 B9 C9 C8 J1", 9))
    assert sorted(record.setup_white) == sorted(gtp_points("G4 H4 G3 H3 B8", 9))  # AW[bb] replaced a black stone
    assert record.setup_empty == gtp_points("A8", 9)
    assert record.to_play == WHITE and record.moves == [(WHITE, from_gtp("E5", 9))]
    board = record_to_state(record).board()
    assert board[1, 1] == WHITE and board[1, 0] == EMPTY and int((board == BLACK).sum()) == 5


def test_collection_first_game_and_all_games():
    first = load_sgf(FIXTURES / "collection.sgf")
    games = parse_collection((FIXTURES / "collection.sgf").read_text())
    assert first == games[0] and first.game_name == "first"
    assert [g.size for g in games] == [9, 13] and games[1].handicap == 2
    second = record_to_state(games[1])
    assert second.board()[6, 6] == WHITE and second.to_play == WHITE  # W moved first after HA, B answered


def test_square_compose_size_and_handicap_without_moves():
    record = parse_sgf("(;SZ[13:13]HA[2]AB[dj][jd])")
    assert record.size == 13 and record.to_play is None
    state = record_to_state(record)
    assert state.to_play == WHITE and int((state.board() == BLACK).sum()) == 2
    assert record_to_state(parse_sgf("(;SZ[13]AB[dj][jd]PL[B])")).to_play == BLACK


def test_old_ff3_identifiers_and_extra_root_properties():
    record = load_sgf(FIXTURES / "handicap_ff3.sgf")
    assert (record.size, record.handicap, record.komi, record.rules, record.black) == (9, 2, 0.5, "Japanese", "old")
    assert record.extra == {"EP": ["kept \\] raw"]}
    assert "EP[kept \\] raw]" in write_sgf(record) and parse_sgf(write_sgf(record)) == record
    state = record_to_state(record)
    assert state.rules.ko == "simple" and state.rules.komi == 0.5
    assert state.setup_stones == [(BLACK, from_gtp("C3", 9)), (BLACK, from_gtp("G7", 9))]


@pytest.mark.parametrize("name, black, comment", [("latin1.sgf", "Jérôme", "café"), ("gb2312.sgf", "聂卫平", "")])
def test_declared_charset(name, black, comment):
    record = load_sgf(FIXTURES / name)
    assert (record.black, record.root_comment) == (black, comment)


def test_utf8_default_latin1_fallback_and_bom():
    text = "(;SZ[9]PB[이세돌]PW[Müller];B[ee])"
    assert parse_sgf(text.encode("utf-8")).black == "이세돌"
    assert parse_sgf(b"\xef\xbb\xbf" + text.encode("utf-8")).white == "Müller"
    assert parse_sgf("(;SZ[9]PW[Müller])".encode("latin-1")).white == "Müller"  # not valid UTF-8


def test_winner_from_result():
    assert [GameRecord(result=r).winner() for r in ("B+R", "w+3.5", "0", "Draw", "Void", "")] == [
        BLACK, WHITE, EMPTY, EMPTY, None, None]


def test_rules_for_names():
    assert rules_for("Japanese") == PRESETS["japanese"] and rules_for("GNU Go") == PRESETS["gnugo"]
    assert rules_for("NZ").suicide and rules_for("AGA").ko == "situational"
    assert rules_for("who knows") == rules_for("")


# ------------------------------------------------------------------------------------ malformed input
MALFORMED = [
    # (text, where the error is reported: first occurrence of a substring, an offset, or None = end of text)
    ("", None),
    ("  \n  ", None),
    ("SZ[9];B[aa])", "SZ"),
    ("junk (;SZ[9])", "junk"),
    ("(SZ[9];B[aa])", "SZ"),
    ("( \n", None),
    ("(;SZ[9];B[aa]", "("),
    ("(;SZ[9]\n;B[aa];W[bb)", "[bb"),
    ("(;SZ[9]C[never \\] closed)", "[never"),
    ("(;SZ[0])", "[0"), ("(;SZ[1])", "[1"), ("(;SZ[26])", "[26"), ("(;SZ[abc])", "[abc"),
    ("(;SZ[9:13])", "[9:13"), ("(;SZ[9][9])", "[9"),
    ("(;SZ[9];B[aa]\n;W[jj])", "[jj"), ("(;SZ[9];B[a])", "[a]"), ("(;SZ[9]AB[aa:jj])", "[aa:jj"),
    ("(;AB[tt])", "[tt"), ("(;SZ[9]AB[aa][bb]AW[aa])", "[aa])"),
    ("(;SZ[9];B[aa]W[bb])", "[bb"), ("(;SZ[9];B[aa];AB[bb])", "[bb"),
    ("(;GM[2])", "[2"), ("(;KM[abc])", "[abc"), ("(;KM[inf])", "[inf"), ("(;HA[-1])", "[-1"), ("(;PL[X])", "[X"),
    ("(;SZ[9];B[aa](;W[bb]);B[cc])", ";B[cc"), ("(;SZ[9]%%;B[aa])", "%%"), ("(;SZ[9]B)", "B)"),
    ("(;sz[9])", "sz"), ("(;SZ[9])\ngarbage", "garbage"), ("(;SZ[9]))", 8),
    ("(;SZ[9])(;SZ[9];B[aa]", "(;SZ[9];"),  # a broken later game fails the whole file
]


@pytest.mark.parametrize("text, at", MALFORMED)
def test_malformed_input_raises_with_position(text, at):
    offset = len(text) if at is None else at if isinstance(at, int) else text.index(at)
    with pytest.raises(SGFError) as info:
        parse_sgf(text)
    line, col = where(text, offset)
    assert (info.value.line, info.value.col) == (line, col)
    assert str(info.value).startswith(f"{line}:{col}: ")


@pytest.mark.parametrize("data, offset", [(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 8), (b"(;C[a\x00b])", 5),
                                          (bytes(range(255, 0, -1)), 0)])
def test_binary_junk(data, offset):
    with pytest.raises(SGFError) as info:
        parse_sgf(data)
    assert (info.value.line, info.value.col) == where(data.decode("latin-1"), offset)


def test_errors_name_the_file(tmp_path):
    path = tmp_path / "broken.sgf"
    path.write_text("(;SZ[9]\n;B[zz])")
    with pytest.raises(SGFError, match=rf"^{re.escape(str(path))}:2:3: move 1: .*zz"):
        load_sgf(path)


def test_illegal_move_reports_number_reason_and_position():
    text = "(;SZ[9]\n;B[aa];W[bb]\n;B[bb])"
    record = parse_sgf(text)  # syntax and points are fine; legality needs the rules
    with pytest.raises(SGFError) as info:
        record_to_state(record)
    assert info.value.move == 3 and (info.value.line, info.value.col) == where(text, text.rindex("[bb"))
    assert "occupied" in str(info.value) and "move 3" in str(info.value)


def test_suicide_legality_follows_the_record_rules():
    moves = ";B[ba];W[ca];B[ab];W[bb];W[ac];B[aa]"  # B[aa] then has no liberty and captures nothing
    with pytest.raises(SGFError, match="move 6: .*suicide"):
        record_to_state(parse_sgf(f"(;SZ[5]RU[Chinese]{moves})"))
    state = record_to_state(parse_sgf(f"(;SZ[5]RU[Tromp-Taylor]{moves})"))
    assert state.board()[0, 0] == EMPTY and state.move_number == 6


def test_bad_setup_position_is_reported():
    text = "(;SZ[9]\nAB[aa]AW[ab][ba])"
    with pytest.raises(SGFError, match="^2:3: bad setup"):
        record_to_state(parse_sgf(text))


def test_writer_rejects_invalid_records():
    for bad in (GameRecord(size=26), GameRecord(komi=float("nan")), GameRecord(moves=[(BLACK, 400)]),
                GameRecord(moves=[(3, 0)]), GameRecord(comments={0: "no such move"}),
                GameRecord(extra={"PB": ["dup"]}), GameRecord(extra={"XX": ["a]b"]}), GameRecord(to_play=0)):
        with pytest.raises(SGFError):
            write_sgf(bad)


# ------------------------------------------------------------------------------------ round trips
TEXT = st.text(st.one_of(st.sampled_from(list("]\\[:;()\n ")), st.characters(codec="utf-8", exclude_categories=(
    "Cs", "Cc"))), max_size=12)
NAME = st.text(st.one_of(st.sampled_from(list("]\\[: ")), st.characters(codec="utf-8", exclude_categories=(
    "Cs", "Cc", "Zl", "Zp"))), max_size=8)


@st.composite
def played_games(draw) -> tuple[GameState, GameRecord]:
    """A random legal game (random setup, uniform legal moves, some passes) and its record."""
    size = draw(st.integers(2, 25))
    komi = draw(st.one_of(st.integers(-30, 30).map(lambda k: k / 2), st.floats(-1e3, 1e3, allow_nan=False)))
    rules = draw(st.sampled_from(sorted(PRESETS))).lower()
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    state = GameState(size, rules_from_name(rules).with_komi(komi))
    for _ in range(draw(st.integers(0, 4))):
        try:
            state.place([(int(rng.integers(1, 3)), int(rng.integers(size * size)))])
        except GoError:
            pass
    for _ in range(draw(st.integers(0, 40))):
        legal = np.flatnonzero(state.legal_mask()[:-1])
        if state.is_over:
            break
        state.play(int(rng.choice(legal)) if len(legal) and rng.random() > 0.1 else state.pass_move)
    n = len(state.moves)
    comments = draw(st.dictionaries(st.integers(0, n - 1), TEXT, max_size=4)) if n else {}
    record = GameRecord.from_state(state, black=draw(NAME), white=draw(NAME), date=draw(NAME),
                                   black_rank=draw(NAME), comments=comments, root_comment=draw(TEXT))
    return state, record


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(played_games())
def test_round_trip_write_read_replay(game):
    state, record = game
    text = write_sgf(record)
    back = parse_sgf(text)
    assert back == record
    assert parse_sgf(text.encode("utf-8")) == record
    replayed = record_to_state(back)
    assert np.array_equal(replayed.board(), state.board())
    assert replayed.moves == state.moves and sorted(replayed.setup_stones) == sorted(state.setup_stones)
    assert (replayed.to_play, replayed.rules, replayed.captures) == (state.to_play, state.rules, state.captures)
    check_with_sgfmill(text.encode("utf-8"), record)


def check_with_sgfmill(data: bytes, record: GameRecord) -> None:
    """An independent reader (sgfmill) sees the same game in our output."""
    if sgfmill is None:
        return
    game = sgfmill.Sgf_game.from_bytes(data)
    n = record.size

    def point(move):
        return n * n if move is None else (n - 1 - move[0]) * n + move[1]

    nodes = game.get_main_sequence()
    assert game.get_size() == n and game.get_komi() == record.komi
    assert [(BLACK if c == "b" else WHITE, point(m)) for c, m in (x.get_move() for x in nodes[1:])] == record.moves
    black, white, _ = game.root.get_setup_stones()
    assert {point(m) for m in black} == set(record.setup_black) and {point(m) for m in white} == set(record.setup_white)
    assert (game.get_player_name("b") or "") == record.black
    notes = {i: x.get("C") for i, x in enumerate(nodes[1:]) if x.has_property("C")}
    assert notes == record.comments


@pytest.mark.skipif(sgfmill is None, reason="sgfmill not installed")
@settings(max_examples=30, deadline=None)
@given(st.integers(2, 19), st.lists(st.tuples(st.sampled_from("bw"), st.integers(0, 18), st.integers(0, 18),
                                              st.booleans(), TEXT), max_size=30), NAME)
def test_reads_sgfmill_output(size, moves, name):
    """Files written by sgfmill (passes as [tt], its own escaping and line wrapping) read the same."""
    game = sgfmill.Sgf_game(size=size)
    game.root.set("PB", name)
    expected = []
    for color, row, col, is_pass, note in moves:
        node = game.extend_main_sequence()
        move = None if is_pass or row >= size or col >= size else (row, col)
        node.set_move(color, move)
        if note:
            node.set("C", note)
        expected.append((BLACK if color == "b" else WHITE, size * size if move is None
                         else (size - 1 - row) * size + col))
    record = parse_sgf(game.serialise())
    assert record.moves == expected and record.black == name
    assert record.comments == {i: m[4] for i, m in enumerate(moves) if m[4]}


def test_save_is_atomic_and_loads_back(tmp_path):
    state = GameState(9)
    for vertex in ("E5", "C3", "pass"):
        state.play_gtp(vertex)
    record = GameRecord.from_state(state, black="me", white="you", result="B+R", date="2025-01-02")
    path = tmp_path / "game.sgf"
    path.write_text("old content")
    save_sgf(path, record)
    assert load_sgf(path) == record and os.listdir(tmp_path) == ["game.sgf"]
    with pytest.raises(SGFError):
        save_sgf(path, GameRecord(size=9, moves=[(BLACK, 81 + 1)]))
    assert load_sgf(path) == record and os.listdir(tmp_path) == ["game.sgf"]


def test_from_state_defaults():
    state = GameState(9, rules_from_name("japanese"))
    state.set_handicap(2)
    state.play_gtp("E5")
    state.resign()
    record = GameRecord.from_state(state)
    assert (record.handicap, record.result, record.rules, record.to_play) == (2, "W+R", "japanese", WHITE)
    assert record.moves == [(WHITE, from_gtp("E5", 9))]  # the resignation is in the result only
    head = write_sgf(record).split("\n")[0]
    assert head.startswith("(;FF[4]GM[1]CA[UTF-8]AP[rlgo:") and "KM[6.5]" in head


# ------------------------------------------------------------------------------------ GNU Go
class _GnuGo:
    """Minimal GTP pipe to GNU Go (the project GTP client lives elsewhere)."""

    def __init__(self):
        self.proc = subprocess.Popen([GNUGO, "--mode", "gtp", "--level", "0", "--seed", "1"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def send(self, command: str) -> str:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        lines = []
        while (line := self.proc.stdout.readline()) not in ("\n", ""):
            lines.append(line.strip())
        reply = " ".join(lines)
        assert reply.startswith("="), f"{command}: {reply}"
        return reply[1:].strip()

    def close(self):
        self.send("quit")
        self.proc.wait(timeout=10)


@pytest.mark.gnugo
@pytest.mark.skipif(shutil.which(GNUGO) is None, reason="GNU Go not installed")
@pytest.mark.parametrize("size, handicap, moves", [(9, 0, 70), (9, 3, 40)])
def test_gnugo_game_replays_to_gnugo_position(tmp_path, size, handicap, moves):
    """Black plays random legal moves (so stones get captured), GNU Go answers as White."""
    rng = np.random.default_rng(size + handicap)
    engine = _GnuGo()
    try:
        engine.send(f"boardsize {size}")
        engine.send("komi 6.5")
        state = GameState(size, rules_from_name("gnugo").with_komi(6.5))
        if handicap:
            assert sorted(gtp_points(engine.send(f"fixed_handicap {handicap}"), size)) == sorted(
                state.set_handicap(handicap))
        while state.move_number < moves and not state.is_over:
            if state.to_play == BLACK:
                point = int(rng.choice(np.flatnonzero(state.legal_mask())))
                engine.send(f"play black {to_gtp(point, size)}")
                state.play(point)
            elif (vertex := engine.send("genmove white")).lower() != "resign":
                state.play_gtp(vertex)
            else:
                break
        path = tmp_path / "gnugo.sgf"
        engine.send(f"printsgf {path}")
        stones = {c: set(gtp_points(engine.send(f"list_stones {name}"), size))
                  for c, name in ((BLACK, "black"), (WHITE, "white"))}
    finally:
        engine.close()
    for record in (load_sgf(path), parse_sgf(write_sgf(GameRecord.from_state(state)))):
        replayed = record_to_state(record)
        board = replayed.board().ravel()
        assert {c: set(np.flatnonzero(board == c).tolist()) for c in (BLACK, WHITE)} == stones
        assert replayed.to_play == state.to_play
    assert state.captures[WHITE] > 0  # the replayed moves include captures
