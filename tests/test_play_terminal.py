"""`rlgo play`: input parsing, board pictures, undo, scoring, thinking thread, and real terminal sessions."""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np
import pexpect
import pytest
from hypothesis import given, settings, strategies as st

from agents.base import Agent, MoveInfo
from agents.random_agent import RandomAgent
from agents.specs import agent_names
from rlgo.go import coords
from rlgo.go.rules import Rules
from rlgo.go.sgf import load_sgf, record_to_state
from rlgo.go.state import BLACK, EMPTY, WHITE, GameState
from rlgo.play.config import GameConfig
from rlgo.play.scoring import settle
from rlgo.play.session import Game, PlayError, parse_command
from rlgo.play.thinking import think
from rlgo.play.view import COLOR, PLAIN, board_lines, compose, info_lines

ROOT = Path(__file__).resolve().parent.parent
HAVE_MCTS = "mcts" in agent_names()


def random_game(size: int, moves: int, seed: int) -> GameState:
    state = GameState(size)
    agent = RandomAgent(seed)
    for _ in range(moves):
        if state.is_over:
            break
        state.play(agent.select_move(state))
    return state


# ----------------------------------------------------------------- input
@settings(max_examples=60, deadline=None)
@given(size=st.integers(2, 25), data=st.data())
def test_every_vertex_parses_in_either_case(size, data):
    point = data.draw(st.integers(0, size * size))
    text = coords.to_gtp(point, size)
    text = data.draw(st.sampled_from([text, text.lower(), f"  {text} "]))
    command = parse_command(text, size)
    if point == size * size:
        assert command.verb == "pass"
    else:
        assert (command.verb, command.point) == ("move", point)


@pytest.mark.parametrize("text, needle", [
    ("", "D4"), ("z1", "off"), ("j10", "off"), ("i3", "letter I"), ("hello", "unknown command"),
    ("save", "usage"), ("undo now", "no argument"), ("d4 e5", "unknown command"),
])
def test_bad_input_gets_a_reason(text, needle):
    with pytest.raises(PlayError, match=needle):
        parse_command(text, 9)


def test_commands_and_aliases():
    assert parse_command("PASS", 9).verb == "pass"
    assert parse_command("q", 9).verb == "quit"
    assert parse_command("save ~/g.sgf", 9).path == Path.home() / "g.sgf"


# ----------------------------------------------------------------- board picture
def parse_plain(lines: list[str], size: int) -> tuple[np.ndarray, int | None]:
    """Stones and the bracketed point read back from a plain board picture (the reference reader)."""
    stones = np.zeros((size, size), np.int8)
    last = None
    for r, line in enumerate(lines[1:size + 1]):
        assert line[:2].strip() == str(size - r) and line.split()[-1] == str(size - r)
        cells = line[2:2 + 2 * size + 1]
        for c in range(size):
            stones[r, c] = {"X": BLACK, "O": WHITE}.get(cells[2 * c + 1], EMPTY)
            if cells[2 * c] == "(":
                assert cells[2 * c + 2] == ")"
                last = r * size + c
    return stones, last


@settings(max_examples=40, deadline=None)
@given(size=st.integers(2, 19), moves=st.integers(0, 60), seed=st.integers(0, 10**6))
def test_plain_board_reads_back(size, moves, seed):
    state = random_game(size, moves, seed)
    lines = [t.plain for t in board_lines(state, PLAIN)]
    letters = " ".join(coords.GTP_LETTERS[:size])
    assert lines[0].strip() == letters and lines[-1].strip() == letters
    stones, last = parse_plain(lines, size)
    assert np.array_equal(stones, state.board())
    expected_last = state.last_move if state.last_move is not None and state.last_move < size * size else None
    assert last == expected_last


@pytest.mark.parametrize("size", [9, 13, 19])
@pytest.mark.parametrize("glyphs", [PLAIN, COLOR])
def test_board_and_panel_fit_80_columns(size, glyphs):
    state = random_game(size, 30, size)
    out = compose(board_lines(state, glyphs), info_lines(state, {BLACK: "you", WHITE: "mcts-with-long-name"}), 80)
    assert max(t.cell_len for t in out) <= 80
    assert len(out) == size + 2  # the panel sits beside the board, not below it
    text = "\n".join(t.plain for t in out)
    assert "komi 7.5" in text.lower() and "to play" in text and "captures" in text


def test_territory_and_dead_marks():
    state = GameState(5)
    owner = np.full((5, 5), BLACK, np.int8)
    state.play(coords.from_gtp("C3", 5))
    lines = [t.plain for t in board_lines(state, PLAIN, owner=owner, dead=[coords.from_gtp("C3", 5)])]
    body = "".join(line[2:13] for line in lines[1:6])
    assert body.count("b") == 24 and body.count("x") == 1 and "X" not in body


# ----------------------------------------------------------------- scoring
def test_settle_removes_dead_stones_and_counts_area(board_from_ascii):
    state = board_from_ascii("""
        . . X O . . O . .
        . . X O . . O . .
        . . X O . . O . .
        . . X O . . O . .
        O . X O . . O X .
        . . X O . . O . .
        . . X O . . O . .
        . . X O . . O . .
        . . X O . . O . .
    """)
    state.play(state.pass_move)
    state.play(state.pass_move)
    settled = settle(state, seed=6)
    assert settled.dead == sorted([coords.from_gtp("A5", 9), coords.from_gtp("H5", 9)])
    assert int(np.sum(settled.owner == BLACK)) == 27 and int(np.sum(settled.owner == WHITE)) == 54
    assert settled.result == "W+34.5"  # 54 - 27 + 7.5


@settings(max_examples=25, deadline=None)
@given(size=st.integers(3, 9), moves=st.integers(0, 80), seed=st.integers(0, 10**6), data=st.data())
def test_ownership_without_dead_stones_agrees_with_state_score(size, moves, seed, data):
    state = random_game(size, moves, seed)
    stones = [int(p) for p in np.flatnonzero(state.board())]
    dead = data.draw(st.lists(st.sampled_from(stones), unique=True)) if stones else []
    owner = state.ownership(dead)
    expected = state.score(dead)
    assert np.sum(owner == BLACK) - np.sum(owner == WHITE) - state.rules.komi == pytest.approx(expected)


# ----------------------------------------------------------------- game logic
@settings(max_examples=20, deadline=None)
@given(moves=st.integers(1, 30), seed=st.integers(0, 10**6), color=st.sampled_from(["black", "white"]))
def test_undo_takes_back_the_reply_and_the_human_move(moves, seed, color):
    game = Game(GameConfig(size=7, color=color), lambda size, rules: RandomAgent(seed))
    human = BLACK if color == "black" else WHITE
    mover = RandomAgent(seed + 1)
    before = None
    for _ in range(moves):
        if game.state.is_over:
            break
        if game.agent_to_play:
            game.agent_move()
            continue
        before = (game.state.hash, list(game.state.moves))
        game.play_human(mover.select_move(game.state))
    if before is None:
        with pytest.raises(PlayError, match="nothing to undo"):
            game.undo()
        return
    game.undo()
    assert (game.state.hash, game.state.moves) == before
    assert game.state.to_play == human


def test_handicap_and_human_white():
    game = Game(GameConfig(size=9, color="black", handicap=3, rules=Rules(komi=0.5)), lambda s, r: RandomAgent(1))
    assert len(game.state.setup_stones) == 3 and game.agent_to_play  # White (the agent) moves first


class WarmUpRecorder(RandomAgent):
    def __init__(self, seed, calls):
        super().__init__(seed)
        self.calls = calls

    def warm_up(self, state):
        self.calls.append(("warm_up", state.size, state.move_number))

    def select_move(self, state):
        self.calls.append(("move", state.size, state.move_number))
        return super().select_move(state)


def test_each_new_agent_warms_up_on_an_empty_board_before_its_first_move(tmp_path):
    calls = []
    game = Game(GameConfig(size=9, color="white"), lambda size, rules: WarmUpRecorder(size, calls))
    game.agent_move()
    path = tmp_path / "other.sgf"
    Game(GameConfig(size=7), lambda size, rules: RandomAgent(1)).save(path)
    game.load(path)  # another size: a new agent
    assert calls == [("warm_up", 9, 0), ("move", 9, 0), ("warm_up", 7, 0)]


def test_save_and_load_continue_the_same_game(tmp_path):
    game = Game(GameConfig(size=9), lambda size, rules: RandomAgent(4))
    mover = RandomAgent(5)
    for _ in range(6):
        game.play_human(mover.select_move(game.state))
        game.agent_move()
    game.save(tmp_path / "g.sgf")
    other = Game(GameConfig(size=13), lambda size, rules: RandomAgent(size))
    other.load(tmp_path / "g.sgf")
    assert other.state.size == 9 and other.state.moves == game.state.moves and other.state.hash == game.state.hash
    assert other.undo() == 2 and other.state.moves == game.state.moves[:-2]


def scripted(monkeypatch, lines: list[str]) -> None:
    """Answer `input()` with `lines`, then end of file."""
    answers = iter(lines)

    def fake_input(prompt=""):
        try:
            return next(answers)
        except StopIteration:
            raise EOFError from None
    monkeypatch.setattr("builtins.input", fake_input)


def test_resigning_saves_the_game_with_the_result(tmp_path, monkeypatch, capsys):
    from rlgo.play.terminal import Terminal, TerminalConfig
    scripted(monkeypatch, ["d4", "resign"])
    game = Game(GameConfig(size=9), lambda size, rules: RandomAgent(6))
    assert Terminal(game, TerminalConfig(plain=True, sgf_dir=tmp_path)).run() == 0
    out = capsys.readouterr().out
    assert "Result: W+R  (White wins by resignation: random wins)" in out
    [path] = tmp_path.glob("*.sgf")
    record = load_sgf(path)
    assert record.result == "W+R" and len(record.moves) == 2 and record.black == "human"


def test_ctrl_c_outside_prompt_and_search_asks_before_quitting(tmp_path, monkeypatch, capsys):
    from rlgo.play.terminal import Terminal, TerminalConfig
    scripted(monkeypatch, ["d4", "n", "e5", "y"])
    game = Game(GameConfig(size=9), lambda size, rules: RandomAgent(6))
    terminal = Terminal(game, TerminalConfig(plain=True, sgf_dir=tmp_path))
    shown = []

    def show_interrupted_once():  # the interrupt lands while the board after the reply is drawn
        shown.append(game.state.move_number)
        if len(shown) == 3:
            raise KeyboardInterrupt
    terminal.show = show_interrupted_once
    assert terminal.run() == 0
    assert "Bye." in capsys.readouterr().out
    assert game.state.move_number == 4  # "n" went on with the game: d4, reply, e5, reply


def test_two_passes_score_the_board_and_mark_territory(tmp_path, monkeypatch, capsys):
    from rlgo.play.terminal import Terminal, TerminalConfig

    class Passer(Agent):
        name = "passer"

        def select_move(self, state):
            return state.pass_move
    scripted(monkeypatch, ["c3", "pass"])
    game = Game(GameConfig(size=5, rules=Rules(komi=0.5)), lambda size, rules: Passer())
    Terminal(game, TerminalConfig(plain=True, sgf_dir=tmp_path)).run()
    out = capsys.readouterr().out
    final = out.split("Both players passed")[1]
    assert final.count("b") >= 24 and "Result: B+24.5" in final  # a lone black stone owns the whole 5x5 board
    assert load_sgf(next(tmp_path.glob("*.sgf"))).result == "B+24.5"


class SlowAgent(Agent):
    """Counts simulations until stopped; analysis shows progress."""

    name = "slow"

    def __init__(self):
        self.stopped = threading.Event()
        self.count = 0

    def select_move(self, state):
        self.stopped.clear()
        while not self.stopped.wait(0.01):
            self.count += 1
        return 0

    def analysis(self):
        return [MoveInfo(move=0, visits=self.count, winrate=0.5)]

    def stop(self):
        self.stopped.set()


def test_ctrl_c_while_thinking_stops_the_agent_and_keeps_its_answer():
    agent, seen = SlowAgent(), []

    def on_update(infos, seconds):
        seen.append(infos[0].visits)
        if len(seen) == 3:
            raise KeyboardInterrupt  # what Ctrl-C raises in the main thread while it polls
    thought = think(agent, GameState(5), on_update)
    assert thought.move == 0 and thought.interrupted and thought.analysis[0].visits == agent.count
    assert len(seen) == 3 and seen == sorted(seen) and agent.count >= seen[-1]


class LateStarter(Agent):
    """A search that begins only after the first stop() and, like a real one, forgets the stops before it."""

    name = "late"

    def __init__(self):
        self.begin, self.stopped = threading.Event(), threading.Event()

    def select_move(self, state):
        self.begin.wait(30)
        self.stopped.clear()
        return state.pass_move if self.stopped.wait(30) else 0

    def stop(self):
        self.stopped.set()
        self.begin.set()


def test_ctrl_c_before_the_search_begins_still_stops_it():
    calls = []

    def on_update(infos, seconds):
        calls.append(seconds)
        if len(calls) == 1:
            raise KeyboardInterrupt
    thought = think(LateStarter(), GameState(5), on_update)
    assert thought.interrupted and thought.move == 25  # stopped (a pass), not its own 30 s end (move 0)


def test_a_search_stopped_before_its_first_simulation_says_no_search(tmp_path):
    from rlgo.play.terminal import Terminal, TerminalConfig
    from rlgo.play.thinking import Thought
    terminal = Terminal(Game(GameConfig(size=5), lambda size, rules: RandomAgent(1)),
                        TerminalConfig(plain=True, sgf_dir=tmp_path))
    assert terminal._summary(Thought(move=3, seconds=0.4, interrupted=True)) == "  (0.4s, no search)"
    assert terminal._summary(Thought(move=3, seconds=0.4)) == "  (0.4s)"  # an agent that never searches


def test_think_reraises_agent_errors():
    class Broken(Agent):
        def select_move(self, state):
            raise RuntimeError("engine died")
    with pytest.raises(RuntimeError, match="engine died"):
        think(Broken(), GameState(5))


# ----------------------------------------------------------------- terminal sessions (pexpect)
def spawn(tmp_path: Path, *extra: str) -> pexpect.spawn:
    argv = [str(ROOT / "cli.py"), "play", "--size", "9", "--no-color", "--sgf-dir", str(tmp_path / "games"), *extra]
    return pexpect.spawn(sys.executable, argv, cwd=str(ROOT), encoding="utf-8", timeout=60, dimensions=(50, 100))


def assert_exits_0(child: pexpect.spawn) -> None:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_full_game_in_a_terminal(tmp_path):
    child = spawn(tmp_path, "--agent", "random", "--seed", "1")
    moves: list[tuple[int, str]] = []  # what the SGF must hold, as (colour, GTP vertex)

    def human(vertex: str) -> None:
        child.sendline(vertex)
        moves.append((BLACK, vertex.upper()))
        child.expect(r"White plays ([A-HJ-T]\d+)|White passes")
        moves.append((WHITE, child.match.group(1) or "pass"))
        child.expect(r"Black \d+> ")

    child.expect("Black 1> ")
    human("e5")
    human("c3")
    occupied = moves[-1][1]
    child.sendline(occupied)
    child.expect(r"Illegal move \S+: the point is occupied")
    child.expect("Black 5> ")
    child.sendline("j0")
    child.expect("off a 9x9 board")
    child.sendline("undo")
    child.expect("Took back 2 moves")
    child.expect("Black 3> ")
    del moves[-2:]
    child.sendline("score")
    child.expect(r"Score estimate: (B\+|W\+|even)")
    child.expect("Black 3> ")
    if HAVE_MCTS:
        child.sendline("hint")
        child.expect(r"Hints for Black:\s+1\. ([A-HJ-T]\d+|pass)\s+win\s+\d+\.\d%")
        child.expect("Black 3> ")
    child.sendline("load " + str(tmp_path / "missing.sgf"))
    child.expect("Error: .*missing.sgf")
    while True:  # the random agent passes only when the board is full: keep passing
        child.sendline("pass")
        moves.append((BLACK, "pass"))
        index = child.expect([r"White plays ([A-HJ-T]\d+)", "White passes", "Both players passed"])
        if index == 2:
            break
        moves.append((WHITE, child.match.group(1) if index == 0 else "pass"))
        if index == 1:
            child.expect("Both players passed")
            break
    child.expect("b/w = territory, x/o = dead stones")
    child.expect(r"Game saved to (\S+\.sgf)")
    path = Path(child.match.group(1))
    child.expect(r"Result: (\S+)")
    result = child.match.group(1)
    assert_exits_0(child)
    assert path.parent == tmp_path / "games" and path.exists()
    record = load_sgf(path)
    assert record.result == result
    assert [(c, coords.to_gtp(p, 9)) for c, p in record.moves] == moves
    assert record_to_state(record).is_over


def interrupt_at_the_prompt(child) -> None:
    """Ctrl-C until the Quit? question shows: a SIGINT that lands while readline sets up the prompt
    is lost, so no fixed sleep is long enough on every machine."""
    for _ in range(30):
        child.sendintr()
        if child.expect([r"Quit\? \[y/N\] ", pexpect.TIMEOUT], timeout=2) == 0:
            return
    pytest.fail("Ctrl-C at the prompt never asked to quit")


def test_ctrl_c_at_the_prompt_asks_before_quitting(tmp_path):
    child = spawn(tmp_path, "--agent", "random", "--seed", "2", "--color", "white")
    child.expect(r"Black plays [A-HJ-T]\d+")
    child.expect("White 2> ")
    interrupt_at_the_prompt(child)
    child.sendline("n")
    child.expect("White 2> ")
    child.sendline("save " + str(tmp_path / "mid.sgf"))
    child.expect("Saved to")
    child.expect("White 2> ")
    interrupt_at_the_prompt(child)
    child.sendline("y")
    child.expect("Bye")
    assert_exits_0(child)
    assert len(load_sgf(tmp_path / "mid.sgf").moves) == 1


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_MCTS, reason="agents/mcts_agent.py not available")
def test_default_mcts_agent_answers_and_ctrl_c_hurries_it(tmp_path):
    # a simulation cap far beyond 60 s of search, so only the clock or Ctrl-C can end it
    child = spawn(tmp_path, "--agent", "mcts:simulations=100000000", "--seed", "3", "--time", "60")
    child.expect("Black 1> ")
    child.sendline("d4")
    child.expect(r"White \(mcts\) is thinking")
    # a Ctrl-C that lands before the search starts asks to quit instead: say no, and the search restarts
    while True:
        time.sleep(1.0)  # let the search gather some simulations first
        child.sendintr()
        if child.expect(["Interrupted: the agent answers with its best move so far", r"Quit\? \[y/N\] "],
                        timeout=50) == 0:
            break
        child.sendline("n")
        child.expect(r"White \(mcts\) is thinking")
    # "N simulations", or "no search" when a loaded machine was still loading the search at the Ctrl-C
    child.expect(r"White (plays [A-HJ-T]\d+|passes)  \((\d+\.\d)s, (\d+ simulations|no search)")
    assert float(child.match.group(2)) < 60  # stopped by Ctrl-C, not by its 60 s clock
    child.expect("Black 3> ")
    child.sendline("quit")
    assert_exits_0(child)


@pytest.mark.skipif(not HAVE_MCTS, reason="mcts agent not registered")
@pytest.mark.parametrize("preset, passes", [("chinese", True), ("japanese", False)])
def test_play_search_agents_count_the_end_under_the_chosen_rules(preset, passes):
    """`rlgo play --rules japanese` reaches the search: 5x5, komi 4, the human (White) has just passed and
    Black's two stones inside its own area lose it the game by territory (8 - 5 - 4), not by area."""
    import cli
    from agents.specs import make_agent
    from rlgo.commands import rules_from_args
    args = cli.build_parser(["play"]).parse_args(
        ["play", "--size", "5", "--rules", preset, "--komi", "4", "--color", "white", "--agent", "mcts:simulations=300"])
    game = Game(GameConfig(size=args.size, rules=rules_from_args(args), color=args.color),
                lambda size, rules: make_agent(args.agent, size, rules, seed=0))
    assert game.state.rules.scoring == ("area" if preset == "chinese" else "territory")
    for vertex in ("C5", "D5", "C4", "D4", "C3", "D3", "C2", "D2", "C1", "D1", "A5", "pass", "A3"):
        game.state.play_gtp(vertex)
    game.play_human(game.state.pass_move)
    thought = game.agent_move()
    assert (thought.move == 25) == passes
    if not passes:  # passing was searched and scored exactly as lost
        assert [c.winrate for c in game.agent.search.candidates(limit=26) if c.move == 25] == [0.0]
