"""A game between a human and an agent: moves, undo, hints, SGF files; no terminal I/O."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agents.base import Agent
from rlgo.go import coords
from rlgo.go.coords import RESIGN
from rlgo.go.errors import CoordinateError, IllegalMoveError
from rlgo.go.rules import Rules
from rlgo.go.sgf import GameRecord, load_sgf, record_to_state, save_sgf
from rlgo.go.state import BLACK, WHITE, GameState
from rlgo.gtp.analysis import AnalyzeRequest, Judged, Shown, complete
from rlgo.play.config import GameConfig
from rlgo.play.thinking import Thought, think

AgentFactory = Callable[[int, Rules], Agent]
"""Builds the opponent for a board size and rules (called again when a loaded game changes them)."""

SIMPLE_VERBS = ("pass", "resign", "undo", "hint", "score", "help", "quit")
FILE_VERBS = ("save", "load")
ALIASES = {"q": "quit", "exit": "quit", "?": "help"}

REASONS = {
    "occupied": "the point is occupied",
    "suicide": "suicide: the stone would have no liberties",
    "ko": "ko: you may not retake at once, play elsewhere first",
    "superko": "superko: it would repeat an earlier position",
    "off-board": "the point is off the board",
    "game over": "the game is over",
}
"""One-line explanations of IllegalMoveError reasons."""


class PlayError(Exception):
    """Input the game cannot act on (unknown command, nothing to undo); the message says why."""


@dataclass(frozen=True)
class Command:
    """One line typed at the prompt."""

    verb: str
    """'move' or one of SIMPLE_VERBS / FILE_VERBS."""
    point: int | None = None
    """The point (or pass) of a 'move'."""
    path: Path | None = None
    """The file of 'save' / 'load'."""


def parse_command(text: str, size: int) -> Command:
    """A Command from a prompt line ('d4', 'D4', 'pass', 'save game.sgf', ...); PlayError says what is wrong."""
    words = text.split()
    if not words:
        raise PlayError("type a move such as D4, or 'help'")
    verb = ALIASES.get(words[0].lower(), words[0].lower())
    if verb in FILE_VERBS:
        if len(words) != 2:
            raise PlayError(f"usage: {verb} FILE.sgf")
        return Command(verb, path=Path(words[1]).expanduser())
    if verb in SIMPLE_VERBS:
        if len(words) > 1:
            raise PlayError(f"'{verb}' takes no argument")
        return Command(verb)
    if len(words) > 1:
        raise PlayError(f"unknown command {words[0]!r}; type 'help' for the list")
    try:
        return Command("move", point=coords.from_gtp(words[0], size))
    except CoordinateError as exc:
        if words[0][:1].isalpha() and words[0][1:].isdigit():
            note = " (columns skip the letter I)" if words[0][0] in "iI" else ""
            raise PlayError(f"{exc}{note}") from None
        raise PlayError(f"unknown command {words[0]!r}; type a move such as D4, or 'help'") from None


def explain(exc: IllegalMoveError) -> str:
    """'Illegal move D4: the point is occupied' and the like."""
    return f"Illegal move {exc.move}: {REASONS.get(exc.reason, exc.reason)}"


class Game:
    """The position, the two players and the commands that change them."""

    def __init__(self, config: GameConfig, make_agent: AgentFactory, hint_agent: AgentFactory | None = None):
        self.config = config
        self.make_agent = make_agent
        self.make_hint_agent = hint_agent
        self._hinter: Agent | None = None
        self.state = GameState(config.size, config.rules)
        if config.handicap:
            self.state.set_handicap(config.handicap)
        self.agent = self._new_agent(config.size, config.rules)

    @property
    def human(self) -> int:
        return BLACK if self.config.color == "black" else WHITE

    @property
    def agent_color(self) -> int:
        return 3 - self.human

    @property
    def agent_to_play(self) -> bool:
        return not self.state.is_over and self.state.to_play == self.agent_color

    def players(self) -> dict[int, str]:
        """Display names by colour."""
        return {self.human: "you", self.agent_color: self.agent.name}

    # ----------------------------------------------------------------- moves
    def play_human(self, point: int) -> None:
        """The human's move; raises IllegalMoveError (state untouched) when the rules forbid it."""
        self.state.play(point)

    def resign_human(self) -> None:
        self.state.resign(self.human)

    def agent_move(self, on_update=None) -> Thought:
        """Let the agent think and play its move (or resign)."""
        thought = think(self.agent, self.state, on_update)
        if thought.move == RESIGN:
            self.state.resign(self.agent_color)
            return thought
        try:
            self.state.play(thought.move)
        except IllegalMoveError as exc:
            raise PlayError(f"agent {self.agent.name} chose an illegal move: {exc}") from None
        return thought

    def undo(self) -> int:
        """Take back moves until the human's last move is gone; returns how many were taken back."""
        if not any(color == self.human for color, _ in self.state.moves):
            raise PlayError("nothing to undo")
        count = 0
        while True:
            color, _ = self.state.moves[-1]
            self.state.undo()
            count += 1
            if color == self.human:
                return count

    # ----------------------------------------------------------------- analysis
    def hint(self, on_update=None) -> list[Shown]:
        """Top moves for the side to move with their expected scores: the agent's analysis after one move's
        search (or its network's judgement), else a hint agent's search."""
        agent = self.agent
        thought = think(agent, self.state, on_update)
        if not (thought.analysis and (any(i.visits for i in thought.analysis) or agent.networks())):
            if self.make_hint_agent is None:
                raise PlayError(f"agent {agent.name} gives no analysis and no hint agent is available")
            if self._hinter is None:
                self._hinter = self.make_hint_agent(self.state.size, self.state.rules)
            agent = self._hinter
            thought = think(agent, self.state, on_update)
        return complete(thought.analysis, Judged(agent, self.state.copy()), AnalyzeRequest(None, 0, 0))

    # ----------------------------------------------------------------- files
    def record(self, result: str | None = None) -> GameRecord:
        """The game so far as an SGF record."""
        names = {self.human: "human", self.agent_color: self.agent.name}
        note = "" if self.config.seed is None else f"rlgo play, seed {self.config.seed}"
        return GameRecord.from_state(self.state, black=names[BLACK], white=names[WHITE], result=result,
                                     root_comment=note)

    def save(self, path: Path, result: str | None = None) -> None:
        save_sgf(path, self.record(result))

    def load(self, path: Path) -> None:
        """Continue the game of an SGF file (a new agent when the size or rules differ)."""
        state = record_to_state(load_sgf(path))
        if (state.size, state.rules) != (self.state.size, self.state.rules):
            self.close()
            self.agent = self._new_agent(state.size, state.rules)
        else:
            self.agent.reset()
        self.state = state

    def close(self) -> None:
        for agent in (self.agent, self._hinter):
            if agent is not None:
                agent.close()
        self._hinter = None

    def _new_agent(self, size: int, rules: Rules) -> Agent:
        agent = self.make_agent(size, rules)
        agent.set_time(0.0, self.config.move_time, 1)
        agent.warm_up(GameState(size, rules))  # compiles and first network calls before the first move's clock
        return agent
