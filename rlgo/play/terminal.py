"""The `rlgo play` REPL: prompt, board after each reply, live thinking status, end-of-game scoring."""
from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.text import Text

from agents.base import MoveInfo
from rlgo.go.coords import RESIGN, to_gtp
from rlgo.go.deadstones import dead_stones
from rlgo.go.errors import GoError, IllegalMoveError
from rlgo.go.state import BLACK, EMPTY, WHITE
from rlgo.play.scoring import score_estimate, settle
from rlgo.play.session import Command, Game, PlayError, explain, parse_command
from rlgo.play.view import COLOR, COLOR_WORDS, PLAIN, board_lines, compose, info_lines

HELP = """\
Commands:
  D4 or d4      play a move (columns A-T skip the letter I; rows count from the bottom)
  pass          pass; two passes in a row end the game and it is scored
  resign        give up the game
  undo          take back your last move and the reply to it
  hint          the agent's top moves with win rates and scores (marked 1, 2, 3 on the board)
  score         estimate the score now (the agent's network, else random rollouts; territory marked)
  save FILE     save the game as SGF
  load FILE     continue a game from an SGF file
  help          this list
  quit          leave the game (Ctrl-D works too)
Ctrl-C while the agent thinks makes it answer with its best move so far."""

HINTS_SHOWN = 3
"""Candidate moves listed by `hint`."""


@dataclass(frozen=True)
class TerminalConfig:
    """How the game is shown and where it is kept."""

    plain: bool
    """ASCII board without colours or live status (dumb terminals, pipes)."""
    sgf_dir: Path
    """Folder of the SGF files of finished games."""
    seed: int = 0
    """Seed of the random rollouts behind score estimates and dead-stone settling."""


def default_sgf_dir() -> Path:
    """~/.rlgo/games when the home folder is writable, else ./games."""
    home = Path.home()
    return home / ".rlgo" / "games" if os.access(home, os.W_OK) else Path("games")


def should_be_plain(no_color: bool, isatty: bool) -> bool:
    """Plain output when asked, when stdout is not a terminal, or for TERM=dumb / NO_COLOR."""
    return no_color or not isatty or os.environ.get("TERM") == "dumb" or "NO_COLOR" in os.environ


class Terminal:
    """Reads commands, drives the Game, prints boards and messages."""

    def __init__(self, game: Game, config: TerminalConfig, console: Console | None = None):
        self.game = game
        self.config = config
        self.glyphs = PLAIN if config.plain else COLOR
        self.console = console or Console(highlight=False)

    # ----------------------------------------------------------------- output
    def say(self, message: str, style: str = "") -> None:
        if self.config.plain:
            print(message, flush=True)
        else:
            self.console.print(Text(message, style=style))

    def show(self, owner: np.ndarray | None = None, dead=(), marks: dict[int, str] | None = None) -> None:
        """The board with its info panel (to the right when the terminal is wide enough)."""
        game = self.game
        width = shutil.get_terminal_size((80, 24)).columns
        board = board_lines(game.state, self.glyphs, owner=owner, dead=dead, marks=marks)
        for line in compose(board, info_lines(game.state, game.players(), self.glyphs), width):
            if self.config.plain:
                print(line.plain.rstrip(), flush=True)
            else:
                self.console.print(line)

    # ----------------------------------------------------------------- loop
    def run(self) -> int:
        """Play until the game ends or the human quits; returns the exit code."""
        game = self.game
        n = game.state.size
        # Ctrl-C must reach us even when started with SIGINT ignored (e.g. from a background job)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if not self.config.plain and sys.stdin.isatty():
            import readline  # noqa: F401  (importing it gives input() line editing and history)
        self.say(f"rlgo play: {n}x{n}, you are {COLOR_WORDS[game.human]} ({PLAIN.stone[game.human]}) "
                 f"against {game.agent.name}, komi {game.state.rules.komi:g}. Type 'help' for commands.", "bold")
        self.show()
        while not game.state.is_over:
            try:
                if game.agent_to_play:
                    self.agent_turn()
                    continue
                line = self.read()
                if line is None or self.handle(line) == "quit":
                    self.say("Bye.")
                    return 0
            except KeyboardInterrupt:  # Ctrl-C between prompt and search, e.g. while a board is drawn
                print()
                if self._confirm("Quit? [y/N] "):
                    self.say("Bye.")
                    return 0
        self.finish()
        return 0

    def read(self) -> str | None:
        """A line from the prompt; None to quit (Ctrl-D, or Ctrl-C confirmed)."""
        state = self.game.state
        prompt = f"{COLOR_WORDS[state.to_play]} {state.move_number + 1}> "
        while True:
            try:
                return input(prompt)
            except EOFError:
                print()
                return None
            except KeyboardInterrupt:
                print()
                if self._confirm("Quit? [y/N] "):
                    return None

    def handle(self, line: str) -> str | None:
        """Carry out one prompt line; 'quit' to leave. Bad input prints one line and returns."""
        try:
            return self._dispatch(parse_command(line, self.game.state.size))
        except IllegalMoveError as exc:
            self.say(explain(exc), "bold red")
        except (PlayError, GoError, OSError, ValueError) as exc:  # SGF, spec and file errors: say why, go on
            self.say(str(exc) if isinstance(exc, PlayError) else f"Error: {exc}", "bold red")
        return None

    def _dispatch(self, cmd: Command) -> str | None:
        game, state = self.game, self.game.state
        if cmd.verb == "move":
            game.play_human(cmd.point)
        elif cmd.verb == "pass":
            game.play_human(state.pass_move)
            self.say("You pass.")
        elif cmd.verb == "resign":
            game.resign_human()
        elif cmd.verb == "undo":
            self.say(f"Took back {game.undo()} moves.")
            self.show()
        elif cmd.verb == "hint":
            self.hint()
        elif cmd.verb == "score":
            self.score()
        elif cmd.verb == "save":
            game.save(cmd.path)
            self.say(f"Saved to {cmd.path}")
        elif cmd.verb == "load":
            game.load(cmd.path)
            self.say(f"Loaded {cmd.path}")
            self.show()
        elif cmd.verb == "help":
            self.say(HELP)
        elif cmd.verb == "quit":
            return "quit"
        return None

    # ----------------------------------------------------------------- agent
    def agent_turn(self) -> None:
        game = self.game
        thought = self._with_status(f"{COLOR_WORDS[game.agent_color]} ({game.agent.name})", game.agent_move)
        if thought.interrupted:
            self.say("Interrupted: the agent answers with its best move so far.")
        n = game.state.size
        move = ("resigns" if thought.move == RESIGN else "passes" if thought.move == n * n
                else f"plays {to_gtp(thought.move, n)}")
        self.say(f"{COLOR_WORDS[game.agent_color]} {move}" + self._summary(thought), "bold")
        if not game.state.is_over:
            self.show()

    def hint(self) -> None:
        state = self.game.state
        infos = self._with_status("Looking for hints,", self.game.hint)[:HINTS_SHOWN]
        if not infos:
            raise PlayError("no hint: the search returned no candidates")
        self.say(f"Hints for {COLOR_WORDS[state.to_play]}:")
        sign = 1.0 if state.to_play == BLACK else -1.0
        for i, info in enumerate(infos, 1):
            pv = " ".join(to_gtp(p, state.size) for p in info.pv[:6])
            effort = f"{info.visits:>6} simulations" if info.visits else f"prior {info.prior:6.1%}"
            self.say(f"  {i}. {to_gtp(info.move, state.size):<5} win {info.winrate:6.1%}  "
                     f"score {_margin(sign * info.score_lead):>7}  {effort}" + (f"  pv {pv}" if pv else ""))
        self.show(marks={info.move: str(i) for i, info in enumerate(infos, 1) if info.move < state.pass_move})

    def _summary(self, thought) -> str:
        """'  (1.2s, 498 simulations, White's win rate 62%, expected score W+3.5)' after the agent's move; the
        win rate is the agent's for its own colour (its search, or its value net / rollouts without one)."""
        game, infos = self.game, thought.analysis
        if not infos:  # an agent that does not search, or a search stopped before its first simulation
            return f"  ({thought.seconds:.1f}s, no search)" if thought.interrupted else f"  ({thought.seconds:.1f}s)"
        chosen = next((i for i in infos if i.move == thought.move), infos[0])
        visits = sum(i.visits for i in infos)
        effort = f"{visits} simulations" if visits else f"no search, prior {chosen.prior:.0%}"
        text = f"  ({thought.seconds:.1f}s, {effort}, {COLOR_WORDS[game.agent_color]}'s win rate {chosen.winrate:.0%}"
        if not game.state.is_over:
            after = game.agent.estimate([game.state])[0]  # the human to move: their margin, turned to Black's
            black_lead = after.score_lead if game.state.to_play == BLACK else -after.score_lead
            text += f", expected score {_margin(black_lead)}"
        return text + ")"

    def _with_status(self, who: str, search):
        """Run `search(on_update)`; a live status line (colour mode) or one 'thinking' line (plain)."""
        if self.config.plain:
            self.say(f"{who} is thinking...")
            return search(None)
        size = self.game.state.size
        with self.console.status(f"{who} is thinking...") as status:
            return search(lambda infos, seconds: status.update(f"{who} {_progress(infos, seconds, size)}"))

    def score(self) -> None:
        state = self.game.state
        own, expected, source = score_estimate(state, seed=self.config.seed, agent=self.game.agent)
        likely = np.where(own > 0.5, BLACK, np.where(own < -0.5, WHITE, EMPTY)).astype(np.int8)
        self.show(owner=likely, dead=dead_stones(state, own))
        self.say(f"Score estimate: {_margin(expected)} ({source}; as the board stands "
                 f"{_margin(state.area_score())})")
        self.say(self._legend("likely territory", "likely dead"))

    # ----------------------------------------------------------------- end
    def finish(self) -> None:
        """Settle dead stones, show the final board, save the SGF, print the result."""
        game, state = self.game, self.game.state
        settled = settle(state, seed=self.config.seed)
        if state.resigned == EMPTY:
            self.say("Both players passed. Final position:", "bold")
            self.show(owner=settled.owner, dead=settled.dead)
            self.say(self._legend("territory", "dead stones"))
        path = self._save_finished(settled.result)
        self.say(f"Game saved to {path}")
        self.say(f"Result: {settled.result}  {_result_words(settled.result, game.human, game.agent.name)}", "bold")

    def _save_finished(self, result: str) -> Path:
        game = self.game
        names = game.players() | {game.human: "human"}
        stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{game.state.size}x{game.state.size}-" \
               f"{_slug(names[BLACK])}-vs-{_slug(names[WHITE])}"
        folder = self.config.sgf_dir
        folder.mkdir(parents=True, exist_ok=True)
        path, k = folder / f"{stem}.sgf", 1
        while path.exists():
            k += 1
            path = folder / f"{stem}-{k}.sgf"
        game.save(path, result)
        return path

    def _legend(self, territory: str, dead: str) -> str:
        g = self.glyphs
        return (f"{g.territory[BLACK]}/{g.territory[WHITE]} = {territory}, {g.dead[BLACK]}/{g.dead[WHITE]} = {dead}"
                if self.config.plain else f"{g.territory[BLACK]} = {territory}, {g.dead[BLACK]} = {dead}")

    def _confirm(self, question: str) -> bool:
        try:
            return input(question).strip().lower() in ("y", "yes")
        except (EOFError, KeyboardInterrupt):
            print()
            return True


def _progress(infos: list[MoveInfo], seconds: float, size: int) -> str:
    """Live status: elapsed time, simulations, best move so far and its win rate for the side thinking."""
    if not infos:
        return f"is thinking... {seconds:.1f}s"
    best = infos[0]
    return (f"is thinking... {seconds:.1f}s, {sum(i.visits for i in infos)} simulations, "
            f"best {to_gtp(best.move, size)} (its win rate {best.winrate:.0%})")


def _margin(score: float) -> str:
    """B - W - komi as 'B+3.5' / 'W+0.5' / 'even'."""
    if abs(score) < 0.05:
        return "even"
    return f"B+{score:.1f}" if score > 0 else f"W+{-score:.1f}"


def _result_words(result: str, human: int, agent_name: str) -> str:
    """'(Black wins by 3.5 points: you win)' for an SGF result."""
    if result[:2] not in ("B+", "W+"):
        return "(jigo: a draw)"
    winner = BLACK if result[0] == "B" else WHITE
    how = "by resignation" if result[2:] == "R" else f"by {result[2:]} points"
    return f"({COLOR_WORDS[winner]} wins {how}: {'you win' if winner == human else agent_name + ' wins'})"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:32] or "player"
