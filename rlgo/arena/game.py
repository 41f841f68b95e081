"""One refereed game between two agents: legality, time limit, forfeits, adjudication, SGF."""
from __future__ import annotations

import operator
import threading
import time
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from rlgo.arena.ownership import DEFAULT_ESTIMATOR, ESTIMATORS, estimate_ownership
from rlgo.go import coords
from rlgo.go.coords import RESIGN
from rlgo.go.deadstones import chain_status, unsure_chains
from rlgo.go.rules import Rules
from rlgo.go.sgf import GameRecord, write_sgf
from rlgo.go.state import BLACK, COLOR_NAMES, EMPTY, WHITE, GameState
from rlgo.renames import VALUES, renamed

Scoring = Literal["estimate", "area"]
SCORING_MODES = get_args(Scoring)


@dataclass(frozen=True)
class GameConfig:
    """How a game is refereed."""

    size: int = 9
    """Board size."""
    rules: Rules = field(default_factory=Rules)
    """Rules (ko, suicide, scoring, komi)."""
    move_cap: int | None = None
    """Moves after which the game is stopped and scored (None: 3*N*N)."""
    time_per_move: float | None = None
    """Seconds per move T (None: no limit, each agent keeps its own time= or simulations=): the agents are
    told (time_settings 0 T 1, which replaces a spec's time=), stopped at T and forfeit past T + grace."""
    scoring: Scoring = "estimate"
    """'estimate': remove the dead stones that `dead_stones` finds, then score (as a human would);
    'area': Tromp-Taylor, every stone on the board counts."""
    dead_stones: str = DEFAULT_ESTIMATOR
    """Ownership estimator behind 'estimate' scoring: 'rollout' (random rollouts) or 'learned' (a network
    trained on finished games); see rlgo.arena.ownership."""
    play_out: str = ""
    """Agent spec that plays both colours on when the estimate is unsure of a chain, until two
    passes; the game is then scored on that board ("": never, score the estimate)."""
    seed: int = 0
    """Seed of the dead-stone rollouts."""

    def __post_init__(self):
        if self.scoring not in SCORING_MODES:
            raise ValueError(f"unknown scoring mode {self.scoring!r}; valid: {', '.join(SCORING_MODES)}")
        if self.dead_stones in VALUES:
            raise ValueError(f"dead-stone estimator {renamed(self.dead_stones, VALUES)}")
        if self.dead_stones not in ESTIMATORS:
            raise ValueError(f"unknown dead-stone estimator {self.dead_stones!r}; valid: {', '.join(ESTIMATORS)}")

    @property
    def cap(self) -> int:
        """The effective move cap."""
        return self.move_cap if self.move_cap is not None else 3 * self.size * self.size

    @property
    def grace(self) -> float:
        """Seconds past `time_per_move` tolerated before a timeout forfeit."""
        return 0.0 if self.time_per_move is None else 0.5 * self.time_per_move + 0.5


@dataclass(frozen=True)
class GameResult:
    """The outcome of one game."""

    winner: int
    """BLACK, WHITE or EMPTY (jigo)."""
    result: str
    """SGF RE: 'B+R', 'W+3.5', 'B+F' (forfeit), 'W+T' (time), '0'."""
    reason: str
    """'resign', 'score', 'move cap', 'forfeit: illegal move E5', 'forfeit: timeout', 'forfeit: crash'."""
    moves: int
    """Moves played (passes included)."""
    score: float | None
    """Black minus White (komi included) when scored, else None."""
    dead: tuple[int, ...]
    """Points of the stones removed as dead before scoring."""
    seconds: tuple[float, float]
    """Thinking time of Black and White."""
    record: GameRecord
    """The game record (names, result, reason and dead stones in the root comment)."""
    detail: str = ""
    """Extra information for forfeits (the exception text of a crash)."""

    @property
    def sgf(self) -> str:
        """The record as FF[4] text."""
        return write_sgf(self.record)


class _Forfeit(Exception):
    def __init__(self, reason: str, detail: str = ""):
        self.reason, self.detail = reason, detail
        super().__init__(reason)


def play_game(black, white, config: GameConfig = GameConfig(), black_name: str | None = None,
              white_name: str | None = None, finisher=None) -> GameResult:
    """Play `black` against `white` (Agents) to the end under `config`.

    Each agent is reset, told the time per move, and warmed up on the empty board before the
    first clock starts. `finisher` (an Agent built from `config.play_out`) plays an ending
    with unsure dead stones on for both colours before it is scored.
    """
    names = {BLACK: black_name or getattr(black, "name", "black"), WHITE: white_name or getattr(white, "name", "white")}
    players = {BLACK: black, WHITE: white}
    state = GameState(config.size, config.rules)
    seconds = {BLACK: 0.0, WHITE: 0.0}
    for agent in players.values():
        agent.reset()
        if config.time_per_move is not None:
            agent.set_time(0.0, config.time_per_move, 1)
        agent.warm_up(state.copy())  # compiles and first network calls stay off the clock
    reason = "score"
    try:
        while not state.is_over:
            if state.move_number >= config.cap:
                reason = "move cap"
                break
            color = state.to_play
            move, elapsed = _ask(players[color], state, config)
            seconds[color] += elapsed
            if move == RESIGN:
                state.resign()
                reason = "resign"
                break
            illegal = state.illegal_reason(move)
            if illegal is not None:
                name = coords.to_gtp(move, config.size) if isinstance(move, int) and 0 <= move <= state.pass_move \
                    else repr(move)
                raise _Forfeit(f"forfeit: illegal move {name}", illegal)
            state.play(move)
    except _Forfeit as forfeit:
        loser = state.to_play
        mark = "T" if forfeit.reason == "forfeit: timeout" else "F"
        return _finish(state, names, 3 - loser, f"{COLOR_NAMES[3 - loser]}+{mark}", forfeit.reason, None, (),
                       seconds, forfeit.detail)
    if reason == "resign":
        winner = 3 - state.resigned
        return _finish(state, names, winner, f"{COLOR_NAMES[winner]}+R", reason, None, (), seconds)
    dead: list[int] = []
    if config.scoring == "estimate":
        own = estimate_ownership(state, config.dead_stones, config.seed)
        if finisher is not None and reason == "score" and unsure_chains(state, own):
            reason = "score (played out)"  # the stones the play-out took are the dead ones
            own = _play_out(state, finisher, config)
        dead = sorted(p for p, s in chain_status(state, own).items() if s == "dead")
    score = state.score(dead)
    winner = BLACK if score > 0 else WHITE if score < 0 else EMPTY
    return _finish(state, names, winner, state.result(dead), reason, score, tuple(dead), seconds)


def _play_out(state: GameState, finisher, config: GameConfig) -> np.ndarray:
    """Black-positive area ownership float [N, N] of `state` after `finisher` played both
    colours on (a copy) until two passes or `config.cap` more moves.

    An illegal answer or a resignation counts as a pass. The finisher's own search decides
    when capturing is over (with area scoring, dead stones left standing count for their owner).
    """
    board = state.copy()
    board.reopen()
    finisher.reset()
    for _ in range(config.cap):
        if board.is_over:
            break
        move = finisher.select_move(board.copy())
        if move == RESIGN or board.illegal_reason(move) is not None:
            move = board.pass_move
        board.play(move)
    owner = board.ownership()
    return np.where(owner == BLACK, 1.0, np.where(owner == WHITE, -1.0, 0.0))


def _ask(agent, state: GameState, config: GameConfig) -> tuple[int, float]:
    """The agent's move and its thinking time; raises _Forfeit for a crash or a timeout."""
    timer = None
    if config.time_per_move is not None:
        timer = threading.Timer(config.time_per_move, agent.stop)
        timer.start()
    start = time.monotonic()
    try:
        move = agent.select_move(state.copy())
    except TimeoutError as exc:
        raise _Forfeit("forfeit: timeout", str(exc)) from None
    except Exception as exc:
        raise _Forfeit("forfeit: crash", f"{type(exc).__name__}: {exc}") from None
    finally:
        if timer is not None:
            timer.cancel()
    elapsed = time.monotonic() - start
    if config.time_per_move is not None and elapsed > config.time_per_move + config.grace:
        raise _Forfeit("forfeit: timeout", f"{elapsed:.2f} s for one move (limit {config.time_per_move:g} s)")
    try:
        move = operator.index(move)
    except TypeError:
        pass  # not an integer: the referee calls it an illegal move
    return move, elapsed


def _finish(state: GameState, names: dict[int, str], winner: int, result: str, reason: str,
            score: float | None, dead: tuple[int, ...], seconds: dict[int, float], detail: str = "") -> GameResult:
    note = reason + (f" ({detail})" if detail else "")
    if dead:
        note += "; dead: " + " ".join(coords.to_gtp(p, state.size) for p in dead)
    record = GameRecord.from_state(state, black=names[BLACK], white=names[WHITE], result=result, root_comment=note)
    moves = sum(1 for _, p in state.moves if p >= 0)
    return GameResult(winner=winner, result=result, reason=reason, moves=moves, score=score, dead=dead,
                      seconds=(round(seconds[BLACK], 3), round(seconds[WHITE], 3)), record=record,
                      detail=detail)
