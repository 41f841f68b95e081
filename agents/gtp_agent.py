"""GTPAgent: any GTP engine (GNU Go, KataGo, another `rlgo gtp`) as an Agent."""
from __future__ import annotations

import os

from agents.base import Agent
from rlgo.go import coords
from rlgo.go.coords import RESIGN
from rlgo.go.errors import CoordinateError
from rlgo.go.state import BLACK, WHITE, GameState
from rlgo.gtpclient import GTPClient, GTPClientError, GTPEngineDied, GTPError

DEFAULT_MOVE_TIMEOUT = 60.0
"""Seconds a genmove may take before the engine is killed (GTPTimeout)."""


class GTPAgentError(GTPClientError):
    """The engine refused to follow the game or answered genmove with something that is not a move."""


class GTPAgent(Agent):
    """Wraps a GTP engine command; keeps the engine's game in step with the GameState it is asked about.

    Moves are sent incrementally while the engine's history is a prefix of the game, else the
    board is cleared and the game replayed. A crashed engine is restarted (up to `restarts`
    times per move) and the game replayed on the fresh process.
    """

    def __init__(self, command: str | list[str], per_move_timeout: float | None = DEFAULT_MOVE_TIMEOUT,
                 name: str | None = None, restarts: int = 1, startup_timeout: float = 30.0, seed: int | None = None):
        self.command = command
        self.seed = seed  # sent as set_random_seed to an engine that knows it (GNU Go: its choice among equal moves)
        self.per_move_timeout = per_move_timeout
        self.restarts = restarts
        self.startup_timeout = startup_timeout
        argv0 = command.split()[0] if isinstance(command, str) else command[0]
        self.name = name or os.path.basename(argv0)
        self._client: GTPClient | None = None
        self._game_key: tuple | None = None  # (size, komi, setup) the engine's board was set up for
        self._sent: list[tuple[int, int]] = []  # moves the engine has, in order
        self._time: tuple[float, float, int] | None = None
        self._known: dict[str, bool] = {}

    # ----------------------------------------------------------------- Agent
    def reset(self) -> None:
        self._game_key = None

    def select_move(self, state: GameState) -> int:
        return self._generate(state, "genmove")

    def select_cleanup_move(self, state: GameState) -> int:
        """A move that captures dead stones before passing (kgs-genmove_cleanup, else genmove)."""
        return self._generate(state, "kgs-genmove_cleanup" if self._knows("kgs-genmove_cleanup") else "genmove")

    def set_time(self, main_time: float, byo_yomi_time: float, byo_yomi_stones: int) -> None:
        self._time = (main_time, byo_yomi_time, byo_yomi_stones)
        if self._client is not None and self._client.alive:
            self._send_time()

    def time_left(self, color: int, seconds: float, stones: int) -> None:
        if self._client is not None and self._client.alive:
            self._client.send(f"time_left {_COLOR[color]} {seconds:g} {stones}")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def send(self, command: str) -> str:
        """Send a raw GTP command to the engine (started if needed)."""
        return self._engine().send(command)

    # ----------------------------------------------------------------- private
    def _generate(self, state: GameState, verb: str) -> int:
        for attempt in range(self.restarts + 1):
            try:
                self._sync(state)
                reply = self._engine().send(f"{verb} {_COLOR[state.to_play]}", timeout=self.per_move_timeout)
                break
            except GTPEngineDied:
                self._client = None
                if attempt == self.restarts:
                    raise
        move = self._parse_move(reply, state)
        if move != RESIGN:
            self._sent.append((state.to_play, move))
        return move

    def _engine(self) -> GTPClient:
        if self._client is None or not self._client.alive:
            self._client = GTPClient(self.command, timeout=self.startup_timeout)
            self._game_key = None
            self._known = {}
            self._client.send("protocol_version")
            if self.seed is not None and self._knows("set_random_seed"):
                self._client.send(f"set_random_seed {self.seed}")
            if self._time is not None:
                self._send_time()
        return self._client

    def _knows(self, command: str) -> bool:
        if command not in self._known:
            self._known[command] = self._engine().send(f"known_command {command}").strip() == "true"
        return self._known[command]

    def _send_time(self) -> None:
        main, byo, stones = self._time
        self._client.send(f"time_settings {int(round(main))} {int(round(byo))} {stones}")

    def _sync(self, state: GameState) -> None:
        """Bring the engine to `state`: play the missing moves, or set the game up again."""
        engine = self._engine()
        key = (state.size, state.rules.komi, tuple(state.setup_stones))
        moves = [(c, p) for c, p in state.moves if p >= 0]
        if key != self._game_key or self._sent != moves[:len(self._sent)]:
            engine.send(f"boardsize {state.size}")
            engine.send("clear_board")
            engine.send(f"komi {state.rules.komi:g}")
            self._game_key, self._sent = None, []
            self._setup(engine, state)
            self._game_key = key
        for color, point in moves[len(self._sent):]:
            vertex = coords.to_gtp(point, state.size)
            try:
                engine.send(f"play {_COLOR[color]} {vertex}")
            except GTPError as exc:
                raise GTPAgentError(f"engine {self.name!r} refused move {len(self._sent) + 1} "
                                    f"({_COLOR[color]} {vertex}): {exc.message}") from None
            self._sent.append((color, point))

    def _setup(self, engine: GTPClient, state: GameState) -> None:
        """Handicap as set_free_handicap when only Black has setup stones, else the stones as moves."""
        stones = state.setup_stones
        if not stones:
            return
        vertices = [coords.to_gtp(p, state.size) for _, p in stones]
        if len(stones) >= 2 and all(c == BLACK for c, _ in stones):
            engine.send("set_free_handicap " + " ".join(vertices))
            return
        for (color, _), vertex in zip(stones, vertices):
            engine.send(f"play {_COLOR[color]} {vertex}")

    def _parse_move(self, reply: str, state: GameState) -> int:
        text = reply.strip().lower()
        if text == "resign":
            return RESIGN
        try:
            return coords.from_gtp(text, state.size)
        except CoordinateError:
            raise GTPAgentError(f"engine {self.name!r} answered genmove with {reply!r}") from None


_COLOR = {BLACK: "b", WHITE: "w"}
