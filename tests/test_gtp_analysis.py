"""lz-analyze / kata-analyze: info lines stream while the agent ponders and stop at the next command."""
from __future__ import annotations

import os
import re
import select
import threading
import time

import pytest

from agents.base import Agent, MoveInfo
from rlgo.go import coords
from rlgo.gtp.analysis import lcb, parse_analyze_args
from rlgo.gtp.engine import GTPEngine
from rlgo.gtp.protocol import GTPCommandError
from rlgo.gtp.server import serve


class Ponderer(Agent):
    """Counts 'visits' on two candidate moves until stopped."""

    name = "ponderer"

    def __init__(self):
        self.visits = 0
        self.running = False
        self.stopped = threading.Event()
        self.pondered = None

    def ponder(self, state):
        self.pondered = state
        self.running = True
        self.stopped.clear()
        while not self.stopped.wait(0.002):
            self.visits += 1
        self.running = False

    def analysis(self):
        if self.visits == 0:
            return []
        size = self.pondered.size
        d4, e5 = coords.from_gtp("D4", size), coords.from_gtp("E5", size)
        return [MoveInfo(d4, self.visits, 0.625, 0.5, [d4, e5]), MoveInfo(e5, 1, 0.25, 0.125, [e5])]

    def stop(self):
        self.stopped.set()

    def select_move(self, state):
        return state.pass_move


class PipeSession:
    """serve() in a thread behind real pipes, so output can be read while a stream runs."""

    def __init__(self, agent):
        fd_in, fd_in_w = os.pipe()
        fd_out, fd_out_w = os.pipe()
        self.w_in = os.fdopen(fd_in_w, "wb")
        self.fd_out = fd_out
        self.buffer = b""
        self.thread = threading.Thread(
            target=serve, args=(GTPEngine(agent), os.fdopen(fd_in, "rb"), os.fdopen(fd_out_w, "w")), daemon=True)
        self.thread.start()

    def send(self, line: str) -> None:
        self.w_in.write((line + "\n").encode())
        self.w_in.flush()

    def read_until(self, pattern: str, timeout: float = 10.0) -> str:
        """Output up to and including the first match of `pattern` (consumed)."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern.encode(), self.buffer)
            if match:
                text, self.buffer = self.buffer[:match.end()], self.buffer[match.end():]
                return text.decode()
            wait = deadline - time.monotonic()
            assert wait > 0, f"no {pattern!r} in {self.buffer!r}"
            if select.select([self.fd_out], [], [], wait)[0]:
                self.buffer += os.read(self.fd_out, 65536)

    def pending(self, seconds: float) -> bytes:
        """Whatever arrives within `seconds` (consumed)."""
        end = time.monotonic() + seconds
        while (wait := end - time.monotonic()) > 0:
            if select.select([self.fd_out], [], [], wait)[0]:
                self.buffer += os.read(self.fd_out, 65536)
        data, self.buffer = self.buffer, b""
        return data

    def close(self):
        self.send("quit")
        self.thread.join(5)


LZ_INFO = re.compile(r"info move (\S+) visits (\d+) winrate (\d+) prior (\d+) lcb (\d+) order (\d+) pv (\S+(?: \S+)*?)"
                     r"(?= info |$)")


def test_lz_analyze_streams_until_next_command():
    agent = Ponderer()
    session = PipeSession(agent)
    session.send("play b E5")
    assert session.read_until("\n\n") == "= \n\n"
    session.send("7 lz-analyze 5")
    assert session.read_until("\n") == "=7\n"
    lines = [session.read_until("\n") for _ in range(3)]
    for line in lines:
        infos = LZ_INFO.findall(line.strip())
        assert [i[0] for i in infos] == ["D4", "E5"]
        assert infos[0][2:4] == ("6250", "5000") and infos[1][2:4] == ("2500", "1250")
        assert infos[0][5] == "0" and infos[1][5] == "1"
        assert infos[0][6].split() == ["D4", "E5"]
        assert 0 <= int(infos[0][4]) <= 6250
    assert agent.running
    session.send("8 name")
    transcript = "=7\n" + "".join(lines) + session.read_until("=8 rlgo\n\n")
    stream, after = transcript.split("\n\n", 1)  # the stream is closed by an empty line
    assert after == "=8 rlgo\n\n"
    assert all(line.startswith("info move ") for line in stream.split("\n")[1:])
    assert not agent.running and agent.stopped.is_set()
    assert session.pending(0.2) == b""  # nothing more after the stream ended
    assert agent.pondered.to_play == 2  # white to move after black E5
    session.close()


def test_kata_analyze_floats_and_colour_argument():
    agent = Ponderer()
    session = PipeSession(agent)
    session.send("kata-analyze b interval 5 maxmoves 1")
    assert session.read_until("\n") == "=\n"
    line = session.read_until("\n").strip()
    assert line.startswith("info move D4 visits ") and " info move " not in line  # maxmoves 1
    fields = line.split()
    values = dict(zip(fields[1::2], fields[2::2]))
    assert float(values["winrate"]) == pytest.approx(0.625) and float(values["prior"]) == pytest.approx(0.5)
    assert "scoreLead" in values and "utility" in values
    assert agent.pondered.to_play == 1
    session.send("name")
    session.read_until("= rlgo\n\n")
    session.close()


def test_eof_during_analysis_ends_stream():
    agent = Ponderer()
    session = PipeSession(agent)
    session.send("lz-analyze 5")
    session.read_until("info move")
    session.w_in.close()
    session.thread.join(5)
    assert not session.thread.is_alive() and not agent.running


def test_analysis_of_agent_without_search_prints_nothing_and_ends():
    session = PipeSession(Agent())
    session.send("lz-analyze 1")
    assert session.read_until("\n") == "=\n"
    assert session.pending(0.1) == b""
    session.send("1 name")
    assert session.read_until("=1 rlgo\n\n") == "\n=1 rlgo\n\n"  # "=\n" + "\n" closes the stream
    session.close()


@pytest.mark.parametrize("args, color, interval, maxmoves", [
    ((), None, 100, 0), (("50",), None, 50, 0), (("W", "20"), 2, 20, 0), (("black",), 1, 100, 0),
    (("b", "interval", "30", "maxmoves", "4", "minmoves", "2"), 1, 30, 4),
])
def test_parse_analyze_args(args, color, interval, maxmoves):
    request = parse_analyze_args(args)
    assert (request.color, request.interval_cs, request.max_moves) == \
        (color, interval, maxmoves)


@pytest.mark.parametrize("args", [("x",), ("b", "x"), ("interval",), ("interval", "-5"), ("avoid", "b")])
def test_parse_analyze_args_errors(args):
    with pytest.raises(GTPCommandError):
        parse_analyze_args(args)


def test_lcb_is_below_winrate_and_tightens_with_visits():
    assert lcb(0.6, 0) == 0
    bounds = [lcb(0.6, n) for n in (1, 10, 100, 10000)]
    assert all(0 <= b < 0.6 for b in bounds)
    assert bounds == sorted(bounds)
