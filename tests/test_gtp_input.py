"""Hostile or odd GTP input: SGF files that are not files or too large, bad and huge time values,
loadsgf move numbers (as GNU Go), board sizes a network cannot play."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agents.base import Agent
from agents.specs import make_agent
from rlgo.go.sgf import MAX_SGF_BYTES, SGFError, load_sgf
from rlgo.gtp.engine import GTPEngine
from rlgo.gtp.protocol import MAX_SECONDS, MAX_STONES
from tests.conftest import GNUGO
from tests.test_gtp_engine import FirstLegalAgent, responses

ROOT = Path(__file__).resolve().parents[1]
ZERO7 = ROOT / "models" / "zero7_b4c32.pt"
SL9 = ROOT / "models" / "sl9_b6c64.pt"
GAME = "(;FF[4]GM[1]SZ[9]KM[7.5];B[ee];W[cc];B[gg];W[cg])"


# ----------------------------------------------------------------- SGF files
def test_loadsgf_refuses_what_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe.sgf"
    os.mkfifo(fifo)  # opening it would block until a writer came
    for path in ("/dev/zero", fifo, tmp_path):
        (answer,) = responses([f"loadsgf {path}"])
        assert answer.startswith("? cannot load file") and "not a regular file" in answer, answer


def test_loadsgf_refuses_a_file_over_the_limit_unparsed(tmp_path):
    big = tmp_path / "big.sgf"
    big.write_text(f"(;FF[4]GM[1]SZ[9]C[{'x' * MAX_SGF_BYTES}];B[ee])")  # a valid record, just too large
    small = tmp_path / "small.sgf"
    small.write_text(f"(;FF[4]GM[1]SZ[9]C[{'x' * (MAX_SGF_BYTES - 100)}];B[ee])")
    out = responses([f"loadsgf {big}", "list_stones black", f"loadsgf {small}", "list_stones black"])
    assert out[0].startswith("? cannot load file") and "larger than 16 MiB" in out[0]
    assert out[1:] == ["= ", "= ", "= E5"]
    with pytest.raises(SGFError, match="big.sgf.*larger than"):
        load_sgf(big)


def test_play_load_refuses_a_device(tmp_path):
    from rlgo.play.config import GameConfig
    from rlgo.play.session import Game

    game = Game(GameConfig(size=9), lambda size, rules: FirstLegalAgent())
    try:
        with pytest.raises(SGFError, match="not a regular file"):
            game.load(Path("/dev/zero"))
    finally:
        game.close()


# ----------------------------------------------------------------- loadsgf move numbers
def _positions(path: Path, numbers, ask) -> list[str]:
    lines = []
    for n in numbers:
        lines += [f"loadsgf {path} {n}", "list_stones black", "list_stones white"]
    return ask(lines)


def test_loadsgf_move_numbers_below_one_load_the_whole_game(tmp_path):
    path = tmp_path / "game.sgf"
    path.write_text(GAME)
    out = _positions(path, [0, -1, -99, 99, 3], responses)
    assert out[0:3] == ["= ", "= E5 G3", "= C7 C3"]  # 0: every move, as with no number
    assert out[3:6] == out[6:9] == out[9:12] == out[0:3]
    assert out[12:15] == ["= ", "= E5", "= C7"]  # 3: the position before move 3


@pytest.mark.gnugo
@pytest.mark.skipif(shutil.which(GNUGO) is None, reason="needs GNU Go")
def test_loadsgf_move_numbers_agree_with_gnugo(tmp_path):
    path = tmp_path / "game.sgf"
    path.write_text(GAME)
    numbers = [-1, 0, 1, 2, 3, 4, 5, 6, 99]

    def gnugo(lines):
        out = subprocess.run([GNUGO, "--mode", "gtp"], input="\n".join(lines + ["quit"]) + "\n",
                             capture_output=True, text=True, timeout=60).stdout
        return [part.strip() for part in out.split("\n\n")[:-1]]

    theirs = gnugo([line for n in numbers for line in (f"loadsgf {path} {n}", "list_stones black",
                                                       "list_stones white")])
    ours = _positions(path, numbers, responses)
    stones = [sorted(a.split()[1:]) for k, a in enumerate(ours) if k % 3]
    assert stones == [sorted(a.split()[1:]) for k, a in enumerate(theirs) if k % 3]


# ----------------------------------------------------------------- time settings
class TimeRecorder(FirstLegalAgent):
    """Records every set_time / time_left call the engine passes on."""

    def __init__(self):
        self.calls = []

    def set_time(self, *args):
        self.calls.append(("set_time", *args))

    def time_left(self, *args):
        self.calls.append(("time_left", *args))


BAD_TIME = ["time_settings -1 0 0", "time_settings 10 -5 1", "time_settings 10 5 -1", "time_settings abc 0 0",
            "time_settings nan 0 0", "time_settings 10 5 1.5", "time_left b -3 0", "time_left w x 0",
            "time_left b 5 -1", "time_left b nan 0", "kgs-time_settings absolute -1",
            "kgs-time_settings byoyomi 10 -5 3", "kgs-time_settings canadian 10 5 x"]
AGENT_SPECS = ["random", "mcts:simulations=4"]


@pytest.mark.parametrize("command", BAD_TIME)
def test_negative_or_non_numeric_time_values_are_refused_before_any_agent_sees_them(command):
    agent = TimeRecorder()
    assert responses([command, "genmove b"], agent=agent)[0] == "? invalid time settings"
    assert agent.calls == []


@pytest.mark.parametrize("spec", AGENT_SPECS)
def test_every_agent_gets_the_same_answers_to_bad_time_values(spec):
    agent = make_agent(spec, size=9, seed=1)
    try:
        out = responses([*BAD_TIME, "genmove b"], agent=agent)
    finally:
        agent.close()
    assert out[:-1] == ["? invalid time settings"] * len(BAD_TIME)
    assert out[-1].startswith("= ") and out[-1] != "= resign"


@pytest.mark.parametrize("commands", [
    ["time_settings 1e12 99999999999999999999 99999999999999999999"],
    ["time_settings 0 1e400 1"],
    ["time_settings 5 5 5", "time_left b 1e12 0"],
    ["time_settings 5 5 5", "time_left b 99999999999999999999 99999999999999999999"],
    ["kgs-time_settings absolute 1e300"],
])
def test_huge_time_values_are_clamped_and_genmove_still_answers(commands):
    agent = TimeRecorder()
    out = responses([*commands, "genmove b", "genmove w"], agent=agent)
    assert all(answer == "= " for answer in out[:len(commands)])
    assert out[-2:] == ["= A9", "= B9"]
    for call in agent.calls:
        numbers = [v for v in call[1:] if not isinstance(v, str)]
        assert all(0 <= v <= max(MAX_SECONDS, MAX_STONES) for v in numbers), call


# ----------------------------------------------------------------- board size of a network
@pytest.fixture(scope="module")
def zero7():
    agent = make_agent(f"zero:ckpt={ZERO7},simulations=2", size=None, seed=1)
    yield agent
    agent.close()


def test_a_network_agent_refuses_other_board_sizes(tmp_path, zero7):
    game9 = tmp_path / "nine.sgf"
    game9.write_text(GAME)
    game7 = tmp_path / "seven.sgf"
    game7.write_text("(;FF[4]GM[1]SZ[7]KM[7.5];B[dd])")
    engine = GTPEngine(zero7)
    assert engine.size == 7  # no size given: the network's
    from rlgo.gtp.protocol import parse_command
    answers = [engine.handle(parse_command(line)) for line in
               ["boardsize 9", "boardsize 19", f"loadsgf {game9}", "boardsize 7", f"loadsgf {game7}", "genmove w"]]
    assert answers[0] == answers[1] == (False, "unacceptable size")
    assert answers[2][0] is False and "cannot load file" in answers[2][1] and "7x7" in answers[2][1]
    assert answers[3] == answers[4] == (True, "")
    ok, move = answers[5]
    assert ok and move != "resign" and engine.state.size == 7


def test_agents_without_a_network_take_any_size():
    out = responses(["boardsize 13", "genmove b", "boardsize 5", "genmove b"], agent=FirstLegalAgent())
    assert out == ["= ", "= A13", "= ", "= A5"]
    assert GTPEngine(FirstLegalAgent()).size == 9 and GTPEngine(FirstLegalAgent(), size=5).size == 5


def test_policy_agent_declares_its_networks_size():
    agent = make_agent(f"policy:ckpt={SL9}", size=None)
    assert agent.board_size == 9 and GTPEngine(agent).size == 9
    assert isinstance(agent, Agent)


@pytest.mark.slow
def test_rlgo_gtp_without_size_plays_on_the_networks_board():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    session = "boardsize 9\nname\ngenmove b\nlist_stones black\nquit\n"
    out = subprocess.run([sys.executable, "-m", "cli", "gtp", "--agent", f"zero:ckpt={ZERO7},simulations=2"],
                         input=session, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    parts = [p.strip() for p in out.stdout.split("\n\n")[:-1]]
    assert parts[0] == "? unacceptable size", out.stderr
    vertex = parts[2][2:]
    assert parts[2].startswith("= ") and vertex[0] in "ABCDEFG" and 1 <= int(vertex[1:]) <= 7
    assert "Traceback" not in out.stderr
