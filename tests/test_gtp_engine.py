"""GTP v2 conformance of `rlgo gtp`: framing, ids, every error case, a golden session, scoring, time."""
from __future__ import annotations

import io
import os
import threading
import time

import numpy as np
import pytest

from agents.base import Agent
from rlgo.go import coords
from rlgo.go.rules import Rules
from rlgo.go.state import GameState
from rlgo.gtp.engine import GTPEngine
from rlgo.gtp.protocol import MAX_LINE_BYTES
from rlgo.gtp.server import serve


class FirstLegalAgent(Agent):
    """Plays the first legal point (top-left first) that does not fill its own eye; else passes."""

    name = "first"

    def select_move(self, state: GameState) -> int:
        mask = state.legal_mask()
        for point in np.flatnonzero(mask[:-1]):
            if not state.fills_own_eye(int(point)):
                return int(point)
        return state.pass_move


def run_session(lines, agent=None, size=9, rules=None) -> str:
    """Raw output of a session fed `lines` (str or bytes; each gets a newline)."""
    data = b"".join((line.encode() if isinstance(line, str) else line) + b"\n" for line in lines)
    out = io.StringIO()
    assert serve(GTPEngine(agent or FirstLegalAgent(), size=size, rules=rules), io.BytesIO(data), out) == 0
    return out.getvalue()


def responses(lines, **kw) -> list[str]:
    """One string per response, terminator removed; checks that every response ends with a blank line."""
    text = run_session(lines, **kw)
    assert text == "" or text.endswith("\n\n")
    parts = text.split("\n\n")[:-1]
    for part in parts:
        assert part[:1] in ("=", "?"), part
    return parts


def test_golden_session():
    session = [
        "1 protocol_version", "2 name", "boardsize 5", "komi 0.5", "play b C3", "10 genmove w",
        "play b A5", "play w C3", "11 list_stones black", "12 undo", "13 list_stones white",
        "known_command genmove", "known_command frobnicate", "frobnicate", "14 boardsize 26",
        "15 final_score", "3 quit", "name",
    ]
    expected = (
        "=1 2\n\n"
        "=2 rlgo\n\n"
        "= \n\n"
        "= \n\n"
        "= \n\n"
        "=10 A5\n\n"
        "? illegal move\n\n"
        "? illegal move\n\n"
        "=11 C3\n\n"
        "=12 \n\n"
        "=13 \n\n"
        "= true\n\n"
        "= false\n\n"
        "? unknown command\n\n"
        "?14 unacceptable size\n\n"
        "=15 B+24.5\n\n"  # a lone black stone owns the whole 5x5 board: 25 - 0.5
        "=3 \n\n"
    )
    assert run_session(session) == expected


ERROR_CASES = [
    "play b", "play b D4 E5", "play x D4", "play black I5", "play b J10", "play b Z1", "play b 44", "play b D",
    "genmove", "genmove purple", "boardsize 0", "boardsize 1", "boardsize 26", "boardsize abc", "boardsize 9 9",
    "boardsize -3", "komi", "komi abc", "komi nan", "komi inf", "fixed_handicap 1", "fixed_handicap 10",
    "fixed_handicap two", "place_free_handicap 1", "place_free_handicap 81", "set_free_handicap A1",
    "set_free_handicap A1 A1", "set_free_handicap A1 pass", "set_free_handicap A1 I3", "undo now",
    "final_status_list", "final_status_list zombie", "time_settings 1 2", "time_settings a b c",
    "time_left b 10", "time_left q 10 0", "kgs-time_settings", "kgs-time_settings byoyomi 10",
    "loadsgf", "loadsgf /nonexistent/game.sgf", "known_command", "list_stones", "lz-analyze x 5",
    "lz-analyze b 10 interval", "kata-analyze b 10 frobnicate 3", "7", "protocol-version", "PLAY b D4",
]


@pytest.mark.parametrize("command", ERROR_CASES)
def test_bad_command_gets_error_and_engine_continues(command):
    out = responses(["5 play b E5", f"{command}", "9 list_stones black"])
    assert out[0] == "=5 "
    assert out[1].startswith("?"), out[1]
    assert "\n" not in out[1]
    assert out[2] == "=9 E5"  # the failed command changed nothing


def test_error_keeps_id():
    assert responses(["42 play b I5"])[0].startswith("?42 ")


@pytest.mark.parametrize("rules", [Rules(ko="simple"), Rules(ko="positional"), Rules(ko="situational")])
def test_occupied_ko_and_suicide_are_illegal_moves(rules):
    # black B5 A4 B3 and white C5 B4 D4 C3: black C4 takes B4 and white may not retake at once
    setup = ["play b B5", "play w C5", "play b A4", "play w B4", "play b B3", "play w C3", "play w D4",
             "play b C4"]
    out = responses(setup + ["list_stones white", "play w B4", "play w C4", "play w A1", "play b H8",
                             "play w B4", "play b A2", "play w B1", "play b A1"], rules=rules)
    assert all(r == "= " for r in out[:8])
    assert "B4" not in out[8].split()
    assert out[9] == "? illegal move"  # ko
    assert out[10] == "? illegal move"  # occupied
    assert out[11:14] == ["= ", "= ", "= "]  # a threat and an answer lift the ko
    assert out[14:16] == ["= ", "= "]
    assert out[16] == "? illegal move"  # A1 would be a black suicide between A2 and B1 whites


def test_framing_crlf_tabs_comments_blank_lines_controls():
    lines = [b"1 name\r", b"# a comment line", b"", b"   \t ", b"2 play\tb\tD4   # trailing comment",
             b"3 na\x01m\x7fe", b"\t4 list_stones\tblack\t"]
    assert responses(lines) == ["=1 rlgo", "=2 ", "=3 rlgo", "=4 D4"]


def test_non_utf8_bytes_are_an_error_not_a_crash():
    out = responses([b"\xff\xfe\xfd name", b"play b D\xff4", b"5 name"])
    assert out[0].startswith("?") and out[1].startswith("?")
    assert out[2] == "=5 rlgo"


def test_very_long_lines():
    out = responses([b"1 name " + b"x" * (MAX_LINE_BYTES + 10), b"2 name", b"3 " + b"y" * (4 * MAX_LINE_BYTES)])
    assert out[0].startswith("? line too long")
    assert out[1] == "=2 rlgo"
    assert out[2].startswith("? line too long")


def test_eof_without_quit_ends_cleanly():
    assert run_session(["1 name"]) == "=1 rlgo\n\n"
    out = io.StringIO()
    assert serve(GTPEngine(FirstLegalAgent()), io.BytesIO(b"2 name"), out) == 0  # no final newline either
    assert out.getvalue() == "=2 rlgo\n\n"


def test_showboard_and_list_commands_have_no_blank_lines():
    out = responses(["1 showboard", "2 list_commands"])
    assert out[0].startswith("=1 \n") and "E" in out[0] and out[0].count("\n") >= 10
    names = out[1][3:].split("\n")
    for needed in ("protocol_version", "name", "version", "known_command", "list_commands", "quit", "boardsize",
                   "clear_board", "komi", "play", "genmove", "undo", "showboard", "final_score",
                   "final_status_list", "fixed_handicap", "place_free_handicap", "set_free_handicap", "loadsgf",
                   "time_settings", "time_left", "kgs-genmove_cleanup", "lz-analyze", "kata-analyze"):
        assert needed in names
    known = responses([f"known_command {n}" for n in names])
    assert known == ["= true"] * len(names)


def test_genmove_for_the_side_not_to_move_and_play_after_two_passes():
    out = responses(["play b E5", "genmove b", "list_stones black", "play b pass", "play w pass", "play b C3",
                     "genmove w", "genmove w"])
    assert out[1] == "= A9" and out[2] == "= A9 E5"
    assert out[3:6] == ["= ", "= ", "= "]
    assert out[6].startswith("= ") and out[7].startswith("= ")


def test_reg_genmove_does_not_play():
    out = responses(["reg_genmove b", "list_stones black", "genmove b", "list_stones black"])
    assert out == ["= A9", "= ", "= A9", "= A9"]


def test_undo_goes_back_one_move_at_a_time():
    out = responses(["play b E5", "play w D4", "undo", "list_stones white", "list_stones black", "undo", "undo",
                     "play b E5"])
    assert out == ["= ", "= ", "= ", "= ", "= E5", "= ", "? cannot undo", "= "]


def test_fixed_handicap_layout_and_turn():
    out = responses(["boardsize 19", "fixed_handicap 4", "genmove w", "undo", "list_stones black",
                     "fixed_handicap 2"])
    assert set(out[1][2:].split()) == {"D4", "Q16", "D16", "Q4"}
    assert out[2] == "= A19"  # white moves after handicap
    assert set(out[4][2:].split()) == {"D4", "Q16", "D16", "Q4"}
    assert out[5] == "? board not empty"


def test_free_handicap_places_distinct_stones_and_gives_white_the_move():
    out = responses(["place_free_handicap 12", "list_stones black", "genmove w"])
    stones = out[0][2:].split()
    assert len(stones) == len(set(stones)) == 12
    assert sorted(out[1][2:].split()) == sorted(stones)
    assert out[2] == "= A9"
    out = responses(["set_free_handicap C3 G7 E5", "list_stones black", "genmove w"])
    assert out[0] == "= " and sorted(out[1][2:].split()) == ["C3", "E5", "G7"] and out[2] == "= A9"


def test_final_score_removes_dead_stones():
    # 5x5: black wall on C, white wall on D, a lone white stone at A3 inside Black's area
    moves = ["komi 0.5"] + [f"play {c} {col}{row}" for row in range(1, 6) for c, col in (("b", "C"), ("w", "D"))]
    out = responses(moves + ["play w A3", "final_status_list dead", "final_status_list alive",
                             "final_status_list seki", "final_score"], size=5)
    assert out[-4] == "= A3"
    alive = {v for line in out[-3][2:].split("\n") for v in line.split()}
    assert alive == {f"{col}{row}" for row in range(1, 6) for col in "CD"}
    assert out[-2] == "= "
    assert out[-1] == "= B+4.5"  # black 5 stones + 10 points, white 5 stones + 5 points, komi 0.5


def test_kgs_genmove_cleanup_captures_dead_stones_instead_of_passing():
    class Passer(Agent):
        def select_move(self, state):
            return state.pass_move

    moves = [f"play {c} {col}{row}" for row in range(1, 6) for c, col in (("b", "C"), ("w", "D"))]
    out = responses(moves + ["play w A3", "genmove b", "kgs-genmove_cleanup b"], size=5, agent=Passer())
    assert out[-2] == "= pass"
    assert out[-1][2:] in ("A2", "A4", "B3")  # a liberty of the dead A3 stone


def test_loadsgf_with_move_number(tmp_path):
    path = tmp_path / "game.sgf"
    path.write_text("(;FF[4]GM[1]SZ[9]KM[6.5];B[ee];W[cc];B[gg])")
    out = responses([f"loadsgf {path}", "list_stones black", "list_stones white", f"loadsgf {path} 2",
                     "list_stones black", "list_stones white", f"loadsgf {path} 1", "list_stones black",
                     "genmove b"])
    assert out[1] == "= E5 G3" and out[2] == "= C7"
    assert out[4] == "= E5" and out[5] == "= "
    assert out[7] == "= " and out[8] == "= A9"


class StopWaiter(Agent):
    """Thinks until stop() (or 60 s), then plays the first legal non-eye point: the clock must stop it."""

    name = "waiter"

    def __init__(self):
        self._stop = threading.Event()
        self.stopped_moves = 0

    def select_move(self, state):
        self.stopped_moves += self._stop.wait(60)
        self._stop.clear()
        return FirstLegalAgent().select_move(state)

    def stop(self):
        self._stop.set()


def _timed_game(commands_per_move, moves: int, main: float, byo: float, stones: int):
    """Drive a game of genmove b / play w; returns how many of Black's moves the engine's clock stopped.

    Only that is asserted: whether the moves also fit the time depends on the machine's load
    (the budgets themselves are checked without a clock in test_gtp_protocol).
    """
    fd_in, fd_in_w = os.pipe()
    fd_out, fd_out_w = os.pipe()
    r_in, w_in = os.fdopen(fd_in, "rb"), os.fdopen(fd_in_w, "wb")
    r_out, w_out = os.fdopen(fd_out, "r"), os.fdopen(fd_out_w, "w")
    agent = StopWaiter()
    engine = GTPEngine(agent, size=9)
    thread = threading.Thread(target=serve, args=(engine, r_in, w_out), daemon=True)
    thread.start()

    def send(line):
        w_in.write((line + "\n").encode())
        w_in.flush()
        lines = []
        while True:
            line = r_out.readline()
            if line == "\n" and lines:
                return "\n".join(lines)
            lines.append(line.rstrip("\n"))

    send(f"time_settings {main:g} {byo:g} {stones}")
    used, state = [], GameState(9)
    remaining = main
    for _ in range(moves):
        for line in commands_per_move(remaining):
            send(line)
        start = time.monotonic()
        answer = send("genmove b")
        used.append(time.monotonic() - start)
        remaining -= used[-1]
        state.play_gtp(answer[2:], 1)
        reply = FirstLegalAgent().select_move(state) if not state.is_over else state.pass_move
        state.play(reply)
        send(f"play w {coords.to_gtp(reply, 9)}")
    send("quit")
    thread.join(5)
    return agent.stopped_moves


def test_sudden_death_stops_every_move():
    # 3 s for 40 moves with an agent that would think 60 s a move: the engine's clock must stop it
    assert _timed_game(lambda remaining: [f"time_left b {max(remaining, 0):.2f} 0"], 40, 3.0, 0, 0) == 40


def test_byo_yomi_stops_every_move_without_time_left():
    assert _timed_game(lambda remaining: [], 6, 0.0, 0.6, 1) == 6


@pytest.mark.parametrize("rules, passes", [("chinese", True),
                                           ('{"ko":"SIMPLE","scoring":"TERRITORY","suicide":false}', False)])
def test_search_agents_score_the_end_under_the_rules_set_over_gtp(rules, passes):
    """5x5, komi 4, White has just passed; Black's two stones inside its own area cost it the game by
    territory (8 - 5 - 4) but not by area (15 - 10 - 4): the rules set by kata-set-rules reach the search."""
    from agents.mcts_agent import MCTSAgent
    agent = MCTSAgent(simulations=300, resign_winrate=0.0)
    stones = ["C5", "C4", "C3", "C2", "C1", "A5", "A3"]
    out = responses(["boardsize 5", f"kata-set-rules {rules}", "komi 4",
                     *(f"play b {v}" for v in stones), *(f"play w D{r}" for r in range(1, 6)),
                     "play w pass", "genmove b"], agent=agent, size=5)
    assert all(r.strip() == "=" for r in out[:-1]), out
    assert (out[-1] == "= pass") == passes, out[-1]
    if not passes:  # the search saw that passing loses: the final pass is scored exactly, no simulation
        passing = [c for c in agent.search.candidates(limit=26) if c.move == 25]
        assert passing and passing[0].winrate == 0.0
