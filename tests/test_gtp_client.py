"""GTPClient and GTPAgent against a scripted fake engine: answers, errors, timeouts, crashes, restarts."""
from __future__ import annotations

import sys
import textwrap

import pytest

from agents.gtp_agent import GTPAgent, GTPAgentError
from rlgo.go.coords import RESIGN
from rlgo.go.state import GameState
from rlgo.gtpclient import GTPClient, GTPEngineDied, GTPError, GTPTimeout

FAKE_ENGINE = textwrap.dedent('''
    """A scripted GTP engine for tests. argv: LOG [MODE [N]]; every command is appended to LOG.

    Modes: ok, crash N (exit after N genmoves; a second process started with the same LOG
    does not crash), hang (genmove never answers), illegal (genmove answers an occupied point),
    garbage (genmove answers 'Z99'), resign, noid (answers without ids), chatty (a debug line before
    every answer).
    genmove answers the first point, top row first, that no move so far has taken.
    """
    import os, sys, time
    log, mode = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "ok")
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    crashed_before = os.path.exists(log + ".crashed")
    size, taken, genmoves = 9, [], 0
    letters = "ABCDEFGHJKLMNOPQRST"
    def vertex(i):
        return f"{letters[i % size]}{size - i // size}"
    for line in sys.stdin:
        with open(log, "a") as f:
            f.write(line)
        parts = line.split()
        if not parts:
            continue
        cid = parts.pop(0) if parts[0].isdigit() else ""
        cid = "" if mode == "noid" else cid
        name, args = parts[0], parts[1:]
        answer, ok = "", True
        if name == "quit":
            print(f"={cid}\\n", flush=True)
            break
        if name == "boardsize":
            size = int(args[0])
        elif name == "clear_board":
            taken = []
        elif name == "play":
            taken.append(args[1].upper())
        elif name == "name":
            answer = "fake"
        elif name == "known_command":
            answer = "false"
        elif name == "genmove":
            genmoves += 1
            if mode == "crash" and genmoves > limit and not crashed_before:
                open(log + ".crashed", "w").close()
                sys.stderr.write("fake engine: simulated crash\\n")
                sys.stderr.flush()
                os._exit(3)
            if mode == "hang":
                time.sleep(3600)
            if mode == "resign":
                answer = "resign"
            elif mode == "garbage":
                answer = "Z99"
            elif mode == "illegal" and taken:
                answer = taken[0]
            else:
                answer = next(vertex(i) for i in range(size * size) if vertex(i) not in taken)
                taken.append(answer)
        elif name == "fail":
            ok, answer = False, "deliberate failure"
        if mode == "chatty":
            print("debug: thinking hard", flush=True)
        print(f"{'=' if ok else '?'}{cid} {answer}\\n", flush=True)
''')


def fake_engine_command(tmp_path, mode: str = "ok", limit: int = 0) -> list[str]:
    """argv of the fake engine writing its command log to tmp_path/gtp.log (read with `fake_log`)."""
    script = tmp_path / "fake_gtp_engine.py"
    script.write_text(FAKE_ENGINE)
    return [sys.executable, str(script), str(tmp_path / "gtp.log"), mode, str(limit)]


def fake_log(tmp_path) -> list[str]:
    """Commands the fake engine(s) received, ids and `quit` stripped."""
    lines = (tmp_path / "gtp.log").read_text().splitlines()
    commands = [" ".join(w for i, w in enumerate(line.split()) if i or not w.isdigit()) for line in lines]
    return [c for c in commands if c != "quit"]


def test_send_returns_text_and_error_raises_gtp_error(tmp_path):
    with GTPClient(fake_engine_command(tmp_path), timeout=10) as client:
        assert client.send("name") == "fake"
        assert client.send("boardsize 9") == ""
        with pytest.raises(GTPError) as info:
            client.send("fail now")
        assert info.value.message == "deliberate failure" and info.value.command == "fail now"
        assert client.send("name") == "fake"  # still in step after an error


def test_responses_without_ids_are_accepted(tmp_path):
    with GTPClient(fake_engine_command(tmp_path, "noid"), timeout=10) as client:
        assert client.send("name") == "fake"
        assert client.send("genmove b") == "A9"


def test_debug_text_before_answers_is_skipped(tmp_path):
    with GTPClient(fake_engine_command(tmp_path, "chatty"), timeout=10) as client:
        assert client.send("name") == "fake"
        assert client.send("genmove b") == "A9"


def test_timeout_kills_engine(tmp_path):
    client = GTPClient(fake_engine_command(tmp_path, "hang"), timeout=3600)  # only the command's own timeout
    with pytest.raises(GTPTimeout):                                            # can end the wait
        client.send("genmove b", timeout=0.5)
    assert not client.alive
    with pytest.raises(GTPEngineDied):
        client.send("name")


def test_dead_engine_reports_exit_code_and_stderr(tmp_path):
    client = GTPClient(fake_engine_command(tmp_path, "crash", 0), timeout=10)
    with pytest.raises(GTPEngineDied) as info:
        client.send("genmove b")
    assert "exit code 3" in str(info.value)
    client.close()


def test_missing_binary_is_engine_died():
    with pytest.raises(GTPEngineDied, match="cannot start"):
        GTPClient(["/nonexistent/engine-binary"])


def _game(moves: list[str]) -> GameState:
    state = GameState(9)
    for v in moves:
        state.play_gtp(v)
    return state


def test_agent_sends_moves_incrementally(tmp_path):
    agent = GTPAgent(fake_engine_command(tmp_path), per_move_timeout=10)
    state = _game(["E5"])
    first = agent.select_move(state)
    assert first == 0  # A9: the fake engine's first free point
    state.play(first)
    state.play_gtp("D4")
    agent.select_move(state)
    agent.close()
    log = fake_log(tmp_path)
    assert log.count("clear_board") == 1
    assert [c for c in log if c.startswith("play")] == ["play b E5", "play b D4"]  # A9 came from the engine
    assert [c for c in log if c.startswith("genmove")] == ["genmove w", "genmove w"]


def test_agent_resyncs_after_undo_and_new_game(tmp_path):
    agent = GTPAgent(fake_engine_command(tmp_path), per_move_timeout=10)
    agent.select_move(_game(["E5", "C3"]))
    agent.select_move(_game(["D4"]))  # not a continuation: the board is set up again
    agent.close()
    log = fake_log(tmp_path)
    assert log.count("clear_board") == 2
    assert log[-2:] == ["play b D4", "genmove w"]


def test_agent_restarts_crashed_engine_and_replays_game(tmp_path):
    agent = GTPAgent(fake_engine_command(tmp_path, "crash", 1), per_move_timeout=10, restarts=1)
    state = _game(["E5"])
    state.play(agent.select_move(state))  # genmove 1 fine
    state.play_gtp("D4")
    move = agent.select_move(state)  # genmove 2 crashes; a fresh process replays E5 A9 D4
    agent.close()
    assert state.is_legal(move)
    log = fake_log(tmp_path)
    restart = max(i for i, c in enumerate(log) if c == "clear_board")
    assert log[restart:][-4:] == ["play b E5", "play w A9", "play b D4", "genmove w"]


def test_agent_gives_up_after_restarts(tmp_path):
    agent = GTPAgent(fake_engine_command(tmp_path, "crash", 0), per_move_timeout=10, restarts=0)
    with pytest.raises(GTPEngineDied):
        agent.select_move(GameState(9))
    agent.close()


def test_agent_resign_and_garbage(tmp_path):
    agent = GTPAgent(fake_engine_command(tmp_path, "resign"), per_move_timeout=10)
    assert agent.select_move(GameState(9)) == RESIGN
    agent.close()
    agent = GTPAgent(fake_engine_command(tmp_path, "garbage"), per_move_timeout=10)
    with pytest.raises(GTPAgentError, match="Z99"):
        agent.select_move(GameState(9))
    agent.close()


def test_agent_handicap_uses_set_free_handicap(tmp_path):
    agent = GTPAgent(fake_engine_command(tmp_path), per_move_timeout=10)
    state = GameState(9)
    state.set_handicap(2)
    agent.select_move(state)
    agent.close()
    assert "set_free_handicap C3 G7" in fake_log(tmp_path)
