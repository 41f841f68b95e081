"""The GTP v2 engine: game state, clock and the command handlers around one Agent.

`GTPEngine.handle(cmd)` answers one parsed command with (ok, text) and never raises for bad
input; the server (`rlgo.gtp.server`) does the line framing and the analysis streams.
"""
from __future__ import annotations

import sys
import threading
import time
import traceback
from importlib import metadata

import numpy as np

from rlgo.go import coords
from rlgo.go.coords import RESIGN
from rlgo.go.deadstones import DEFAULT_ROLLOUTS, chain_status, cleanup_move, rollout_ownership
from rlgo.go.errors import GoError, IllegalMoveError
from rlgo.go.handicap import fixed_handicap_points, max_fixed_handicap
from rlgo.go.rules import Rules
from rlgo.go.state import BLACK, EMPTY, WHITE, GameState
from rlgo.gtp.analysis import AnalysisStream, format_raw_nn, parse_analyze_args
from rlgo.gtp.katarules import KGS_RULES, KataRules, RulesError, parse_kata_rules
from rlgo.gtp.protocol import (
    Command, GTPCommandError, expect_args, parse_color, parse_float, parse_int, parse_time_args, parse_vertex,
)
from rlgo.search.timecontrol import TimeControl

ANALYZE_COMMANDS = ("lz-analyze", "kata-analyze")
"""Commands whose response is a stream that the next command ends (see rlgo.gtp.analysis)."""
GENMOVE_ANALYZE_COMMANDS = ("lz-genmove_analyze", "kata-genmove_analyze")
"""genmove with an analysis stream, ended by the `play MOVE` line (see rlgo.gtp.server)."""
STATUSES = ("alive", "dead", "seki")


def engine_version() -> str:
    """rlgo's package version (GTP `version`)."""
    try:
        return metadata.version("rlgo")
    except metadata.PackageNotFoundError:
        return "0"


class GTPEngine:
    """GTP command handlers for one agent; `rules` fix ko, suicide, scoring and the initial komi.

    `size` None: the agent's own board size (a network's, `agent.board_size`), else 9.
    """

    def __init__(self, agent, size: int | None = None, rules: Rules | None = None, name: str = "rlgo",
                 seed: int = 0):
        self.agent = agent
        self.rules = rules or Rules()
        self.size = coords.check_size(size or _agent_size(agent) or 9)
        self.name = name
        self.seed = seed
        self.state = GameState(self.size, self.rules)
        self.clock = TimeControl()
        """Both players' clocks under time_settings / time_left: the deadline of every genmove."""
        self.quit = False
        self.handlers = {
            "protocol_version": lambda c: "2",
            "name": lambda c: self.name,
            "version": lambda c: engine_version(),
            "known_command": self.cmd_known_command,
            "list_commands": lambda c: "\n".join(self.command_names()),
            "quit": self.cmd_quit,
            "boardsize": self.cmd_boardsize,
            "clear_board": self.cmd_clear_board,
            "komi": self.cmd_komi,
            "play": self.cmd_play,
            "genmove": self.cmd_genmove,
            "reg_genmove": self.cmd_genmove,
            "kgs-genmove_cleanup": self.cmd_genmove,
            "undo": self.cmd_undo,
            "showboard": lambda c: "\n" + str(self.state),
            "list_stones": self.cmd_list_stones,
            "final_score": self.cmd_final_score,
            "final_status_list": self.cmd_final_status_list,
            "fixed_handicap": self.cmd_fixed_handicap,
            "place_free_handicap": self.cmd_place_free_handicap,
            "set_free_handicap": self.cmd_set_free_handicap,
            "loadsgf": self.cmd_loadsgf,
            "time_settings": self.cmd_time_settings,
            "kgs-time_settings": self.cmd_kgs_time_settings,
            "time_left": self.cmd_time_left,
            "kata-get-rules": lambda c: KataRules(self.rules, self.friendly_pass_ok).to_json(),
            "kata-set-rules": self.cmd_kata_set_rules,
            "kgs-rules": self.cmd_kgs_rules,
            "kgs-game_over": lambda c: "",
            "kata-raw-nn": self.cmd_kata_raw_nn,
        }
        self.friendly_pass_ok = True
        """kata-set-rules' friendlyPassOk, reported back by kata-get-rules."""

    # ----------------------------------------------------------------- dispatch
    def command_names(self) -> list[str]:
        """Every command this engine answers, analysis streams included."""
        return sorted(list(self.handlers) + list(ANALYZE_COMMANDS) + list(GENMOVE_ANALYZE_COMMANDS))

    def handle(self, cmd: Command) -> tuple[bool, str]:
        """Run one command: (True, result) or (False, error message); the engine always survives."""
        handler = self.handlers.get(cmd.name)
        if handler is None:
            return False, "unknown command" if cmd.name else "syntax error: no command"
        try:
            return True, handler(cmd)
        except GTPCommandError as exc:
            return False, str(exc)
        except GoError as exc:
            return False, str(exc)
        except Exception as exc:  # an agent bug must not kill the GUI's engine; keep the trace
            traceback.print_exc(file=sys.stderr)
            return False, f"internal error: {type(exc).__name__}: {exc}"

    def analyze(self, cmd: Command, write) -> AnalysisStream:
        """Start an lz-analyze / kata-analyze stream (raises GTPCommandError for bad arguments)."""
        request = parse_analyze_args(cmd.args, self.size, kata=cmd.name.startswith("kata-"))
        color = self.state.to_play if request.color is None else request.color
        self._reopen()
        return AnalysisStream(self.agent, self._position_for(color).copy(), request,
                              kata=cmd.name.startswith("kata-"), write=write, ponder=cmd.name in ANALYZE_COMMANDS)

    def genmove_analyze(self, cmd: Command, write) -> tuple[AnalysisStream, Command]:
        """A printer-only stream for lz-/kata-genmove_analyze and the genmove command it wraps."""
        stream = self.analyze(cmd, write)
        return stream, Command(cmd.id, "genmove", ("b" if stream.state.to_play == BLACK else "w",))

    # ----------------------------------------------------------------- administrative
    def cmd_known_command(self, cmd: Command) -> str:
        expect_args(cmd, 1)
        return "true" if cmd.args[0] in self.command_names() else "false"

    def cmd_quit(self, cmd: Command) -> str:
        self.quit = True
        return ""

    # ----------------------------------------------------------------- setup
    def cmd_boardsize(self, cmd: Command) -> str:
        expect_args(cmd, 1)
        size = parse_int(cmd.args[0], "board size")
        if not coords.MIN_SIZE <= size <= coords.MAX_SIZE or _agent_size(self.agent) not in (None, size):
            raise GTPCommandError("unacceptable size")
        self.size = size
        self._new_game()
        return ""

    def cmd_clear_board(self, cmd: Command) -> str:
        expect_args(cmd, 0)
        self._new_game()
        return ""

    def cmd_komi(self, cmd: Command) -> str:
        expect_args(cmd, 1)
        self.rules = self.rules.with_komi(parse_float(cmd.args[0], "komi"))
        self.state.rules = self.rules
        return ""

    def cmd_fixed_handicap(self, cmd: Command) -> str:
        expect_args(cmd, 1)
        count = parse_int(cmd.args[0], "number of stones")
        self._require_empty()
        if not 2 <= count <= max_fixed_handicap(self.size):
            raise GTPCommandError("invalid number of stones")
        return self._vertices(self.state.set_handicap(count))

    def cmd_place_free_handicap(self, cmd: Command) -> str:
        expect_args(cmd, 1)
        count = parse_int(cmd.args[0], "number of stones")
        self._require_empty()
        if not 2 <= count < self.size * self.size:
            raise GTPCommandError("invalid number of stones")
        points = _free_handicap_points(self.size, count)
        self._place_handicap(points)
        return self._vertices(points)

    def cmd_set_free_handicap(self, cmd: Command) -> str:
        if len(cmd.args) < 2:
            raise GTPCommandError("syntax error: set_free_handicap needs at least 2 vertices")
        self._require_empty()
        points = [parse_vertex(a, self.size) for a in cmd.args]
        if len(set(points)) != len(points) or self.state.pass_move in points or len(points) >= self.size ** 2:
            raise GTPCommandError("bad vertex list")
        self._place_handicap(points)
        return ""

    def cmd_loadsgf(self, cmd: Command) -> str:
        expect_args(cmd, 1, 2)
        from rlgo.go.sgf import load_sgf, record_to_state, SGFError
        move_number = parse_int(cmd.args[1], "move number") if len(cmd.args) == 2 else 0
        try:
            record = load_sgf(cmd.args[0])
            state = record_to_state(record, self.rules.with_komi(record.komi))
        except (OSError, SGFError) as exc:
            raise GTPCommandError(f"cannot load file: {exc}") from None
        if _agent_size(self.agent) not in (None, state.size):
            raise GTPCommandError(f"cannot load file: a {state.size}x{state.size} game; "
                                  f"the agent plays {_agent_size(self.agent)}x{_agent_size(self.agent)}")
        while move_number >= 1 and state.move_number >= move_number:  # as GNU Go: < 1 loads every move
            state.undo()
        self.size, self.rules = state.size, state.rules
        self._new_game(state)
        return ""

    def cmd_kata_set_rules(self, cmd: Command) -> str:
        """A KataGo shorthand or JSON rules object (rlgo.gtp.katarules); rules rlgo does not play are refused."""
        if not cmd.args:
            raise GTPCommandError("syntax error: kata-set-rules needs RULES")
        self._set_kata_rules(" ".join(cmd.args))
        return ""

    def cmd_kgs_rules(self, cmd: Command) -> str:
        expect_args(cmd, 1)
        name = cmd.args[0].lower()
        if name not in KGS_RULES:
            raise GTPCommandError(f"syntax error: kgs-rules takes one of {', '.join(KGS_RULES)}, got {cmd.args[0]!r}")
        self._set_kata_rules(KGS_RULES[name])
        return ""

    def _set_kata_rules(self, text: str) -> None:
        try:
            kata = parse_kata_rules(text, self.rules.komi, len(self.state.setup_stones))
        except RulesError as exc:
            raise GTPCommandError(str(exc)) from None
        self.rules, self.friendly_pass_ok = kata.rules, kata.friendly_pass_ok
        self.state.rules = self.rules

    def cmd_kata_raw_nn(self, cmd: Command) -> str:
        """`[COLOR] SYMMETRY` (0..7 or all): the network heads of a network agent, as KataGo prints them."""
        args = list(cmd.args)
        color = parse_color(args.pop(0)) if args and args[0].lower() in ("b", "w", "black", "white") else None
        if len(args) != 1:
            raise GTPCommandError("syntax error: kata-raw-nn takes [COLOR] SYMMETRY (rlgo has no optimism)")
        if args[0] == "all":
            symmetries = list(range(8))
        else:
            k = parse_int(args[0], "symmetry")
            if not 0 <= k < 8:
                raise GTPCommandError(f"syntax error: symmetry must be 0..7 or all, got {k}")
            symmetries = [k]
        if not self.agent.networks():
            raise GTPCommandError(f"agent {self.agent.name!r} has no network")
        self._reopen()
        position = self._position_for(self.state.to_play if color is None else color)
        return "\n".join(format_raw_nn(self.agent.estimate([position], symmetry=k, fill=False)[0],
                                        position.to_play == BLACK, k) for k in symmetries)

    # ----------------------------------------------------------------- moves
    def cmd_play(self, cmd: Command) -> str:
        expect_args(cmd, 2)
        color = parse_color(cmd.args[0])
        move = parse_vertex(cmd.args[1], self.size)
        self._reopen()
        try:
            self.state.play(move, color)
        except IllegalMoveError:
            raise GTPCommandError("illegal move") from None
        return ""

    def cmd_genmove(self, cmd: Command) -> str:
        """genmove / reg_genmove (no move played) / kgs-genmove_cleanup (captures dead stones first)."""
        expect_args(cmd, 1)
        color = parse_color(cmd.args[0])
        self._reopen()
        position = self._position_for(color)
        move = self._think(position, color)
        if cmd.name == "kgs-genmove_cleanup" and move in (RESIGN, position.pass_move):
            move = cleanup_move(position, self._dead_points(position))
        if move == RESIGN:
            return "resign"
        reason = position.illegal_reason(move)
        if reason is not None:
            raise GTPCommandError(f"agent {self.agent.name!r} chose an illegal move "
                                  f"{coords.to_gtp(move, self.size)} ({reason})")
        if cmd.name != "reg_genmove":
            self.state.play(move, color)
        return coords.to_gtp(move, self.size)

    def cmd_undo(self, cmd: Command) -> str:
        expect_args(cmd, 0)
        if not self.state.moves:
            raise GTPCommandError("cannot undo")
        self.state.undo()
        return ""

    # ----------------------------------------------------------------- scoring
    def cmd_final_score(self, cmd: Command) -> str:
        expect_args(cmd, 0)
        return self.state.result(self._dead_points(self.state))

    def cmd_final_status_list(self, cmd: Command) -> str:
        expect_args(cmd, 1)
        wanted = cmd.args[0].lower()
        if wanted not in STATUSES:
            raise GTPCommandError(f"syntax error: status must be one of {', '.join(STATUSES)}, got {cmd.args[0]!r}")
        status = chain_status(self.state, self._ownership(self.state))
        lines, seen = [], set()
        for point in sorted(status):
            if status[point] == wanted and point not in seen:
                chain = self.state.chain(point)
                seen.update(chain)
                lines.append(self._vertices(chain))
        return "\n".join(lines)

    def cmd_list_stones(self, cmd: Command) -> str:
        expect_args(cmd, 1)
        color = parse_color(cmd.args[0])
        return self._vertices([int(p) for p in np.flatnonzero(self.state.board().reshape(-1) == color)])

    # ----------------------------------------------------------------- time
    def cmd_time_settings(self, cmd: Command) -> str:
        expect_args(cmd, 3)
        (main, byo), (stones,) = parse_time_args(cmd.args[:2], cmd.args[2:])
        self._set_time(main, byo, stones)
        return ""

    def cmd_kgs_time_settings(self, cmd: Command) -> str:
        """none | absolute MAIN | byoyomi MAIN PERIOD COUNT | canadian MAIN TIME STONES."""
        if not cmd.args:
            raise GTPCommandError("syntax error: kgs-time_settings needs a system")
        system, values = cmd.args[0].lower(), cmd.args[1:]
        shapes = {"none": 0, "absolute": 1, "byoyomi": 3, "canadian": 3}
        if system not in shapes or len(values) != shapes[system]:
            raise GTPCommandError(f"syntax error: bad kgs-time_settings {' '.join(cmd.args)!r}")
        if system == "none":
            self._set_time(0, 1, 0)
        elif system == "absolute":
            self._set_time(parse_time_args(values)[0][0], 0, 0)
        else:  # Japanese byo-yomi is treated as one stone per period: never slower than allowed
            (main, period), (count,) = parse_time_args(values[:2], values[2:])
            self._set_time(main, period, 1 if system == "byoyomi" else count)
        return ""

    def cmd_time_left(self, cmd: Command) -> str:
        expect_args(cmd, 3)
        color = parse_color(cmd.args[0])
        (seconds,), (stones,) = parse_time_args(cmd.args[1:2], cmd.args[2:])
        self.clock.time_left(color, seconds, stones)
        self.agent.time_left(color, seconds, stones)
        return ""

    # ----------------------------------------------------------------- private
    def _new_game(self, state: GameState | None = None) -> None:
        """Start from `state` (default: the empty board) with full clocks and a reset agent."""
        self.state = state or GameState(self.size, self.rules)
        self.clock.reset()
        self.agent.reset()

    def _set_time(self, main: float, byo: float, stones: int) -> None:
        self.clock.set_time(main, byo, stones)
        self.agent.set_time(main, byo, stones)

    def _think(self, position: GameState, color: int) -> int:
        """Agent.select_move under the clock: a timer calls Agent.stop() at the move's budget (the one
        a search agent computes for itself from the same time_settings / time_left)."""
        budget = self.clock.budget(color, position.empty_points)
        timer = threading.Timer(budget, self.agent.stop) if budget is not None else None
        start = time.monotonic()
        if timer is not None:
            timer.start()
        try:
            return int(self.agent.select_move(position))
        finally:
            if timer is not None:
                timer.cancel()
            self.clock.spent(color, time.monotonic() - start)

    def _position_for(self, color: int) -> GameState:
        """The current state if `color` is to move, else a copy with `color` to move."""
        if color == self.state.to_play:
            return self.state
        position = self.state.copy()
        position.set_to_play(color)
        return position

    def _reopen(self) -> None:
        """GTP lets play go on after two passes; GameState would call the game over."""
        self.state.reopen()

    def _ownership(self, state: GameState) -> np.ndarray:
        """Black-positive ownership [N, N]: the agent's own estimate if it has one, else rollouts."""
        own = getattr(self.agent, "ownership", None)
        if callable(own):
            estimate = own(state)
            if estimate is not None:
                return np.asarray(estimate, dtype=np.float64)
        return rollout_ownership(state, DEFAULT_ROLLOUTS, seed=self.seed)

    def _dead_points(self, state: GameState) -> list[int]:
        status = chain_status(state, self._ownership(state))
        return sorted(p for p, s in status.items() if s == "dead")

    def _require_empty(self) -> None:
        if self.state.moves or np.any(self.state.board() != EMPTY):
            raise GTPCommandError("board not empty")

    def _place_handicap(self, points: list[int]) -> None:
        try:
            self.state.place([(BLACK, p) for p in points])
        except GoError as exc:
            self.state = GameState(self.size, self.rules)
            raise GTPCommandError(f"bad vertex list: {exc}") from None
        self.state.set_to_play(WHITE)

    def _vertices(self, points) -> str:
        return " ".join(coords.to_gtp(int(p), self.size) for p in points)


def _agent_size(agent) -> int | None:
    """The one board size an agent plays (a network's), None when it plays any."""
    return getattr(agent, "board_size", None)


def _free_handicap_points(size: int, count: int) -> list[int]:
    """The fixed layout as far as it goes, then the empty points nearest the 3-3/4-4 lines."""
    top = max_fixed_handicap(size)
    points = fixed_handicap_points(size, min(count, top)) if top >= 2 else []
    edge = 2 if size <= 12 else 3
    mid = (size - 1) / 2

    def preference(p: int) -> tuple[float, int]:
        r, c = divmod(p, size)
        line = min(r, c, size - 1 - r, size - 1 - c)
        return abs(line - edge) + 0.01 * (abs(r - mid) + abs(c - mid)), p

    rest = sorted((p for p in range(size * size) if p not in points), key=preference)
    return points + rest[:count - len(points)]
