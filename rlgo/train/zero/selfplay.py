"""Self-play and match games, many at once: the worker functions of the zero loop.

`play_selfplay(task)` and `play_match(task)` take a frozen task (checkpoint paths, settings,
seed) and return plain results (numpy arrays, ints), so the same functions run in this
process, in spawned worker processes, or under Ray (rlgo.train.zero.raypool). A task with a
`server` address evaluates through that batched inference server (rlgo.nn.server) instead of
loading its networks.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch

from rlgo.go import features
from rlgo.go.rules import Rules
from rlgo.go.state import BLACK, EMPTY, WHITE, GameState
from rlgo.nn.checkpoint import load_checkpoint
from rlgo.nn.evaluator import TorchEvaluator
from rlgo.nn.server import ServerAddress, ServerEvaluator
from rlgo.search.config import SearchConfig
from rlgo.search.evaluator import Evaluator, NetworkEvaluator
from rlgo.search.mcts import MCTS, may_pass
from rlgo.train.data.shards import pack_stones
from rlgo.train.zero.config import ZeroConfig

NEVER_RESIGN = -1.0
"""A resign threshold no value falls below."""


@dataclass(frozen=True)
class PlaySettings:
    """How self-play and match games are searched and ended (derived from a ZeroConfig)."""

    size: int
    """Board size N."""
    rules: Rules
    """Rules of every game (area scoring)."""
    simulations: int
    """Simulations of a full search."""
    fast_simulations: int = 0
    """Simulations of a fast unrecorded search (0: every search is full)."""
    full_search_prob: float = 1.0
    """Share of full searches when fast_simulations > 0."""
    c_puct: float = 1.5
    """PUCT exploration constant."""
    fpu: float = 0.25
    """First-play urgency reduction."""
    leaves_per_game: int = 4
    """Leaves per tree per network batch."""
    parallel_games: int = 64
    """Games stepped together."""
    alpha: float = 0.3
    """Dirichlet concentration of the root noise."""
    dirichlet_epsilon: float = 0.25
    """Root noise weight in full searches (0 in matches)."""
    temperature_moves: int = 10
    """Moves drawn in proportion to visits at the start of a game."""
    resign_threshold: float = NEVER_RESIGN
    """Resign when the side to move's resign value falls below this."""
    resign_playthrough: float = 0.0
    """Share of self-play games with resignation disabled (their values are kept for calibration)."""
    move_cap: int = 162
    """Moves after which a game is scored as it stands."""
    pass_guard: bool = True
    """No pass while the area count favours the opponent (see ZeroConfig.pass_guard)."""
    feature_set: str = "agz"
    """Input planes of the networks."""
    root: str = "puct"
    """Root policy of the search (rlgo.search.config.ROOTS); 'gumbel' records the improved policy."""
    gumbel_m: int = 16
    """Actions considered by the Gumbel root."""
    komi_spread: float = 0.0
    """Self-play games draw their komi uniformly from the half points within rules.komi +- this (KataGo)."""
    komi_wide: float = 0.0
    """The komi spread of a `komi_wide_share` of the self-play games instead of komi_spread."""
    komi_wide_share: float = 0.0
    """Share of self-play games with komi within rules.komi +- komi_wide."""
    backend: str = "torch"
    """Inference backend of the checkpoints (rlgo.nn.backend.BACKENDS; 'auto' runs int8 copies)."""

    @classmethod
    def of_run(cls, cfg: ZeroConfig, resign_threshold: float, **changes) -> "PlaySettings":
        """The settings every game of a run shares (the noise, budget and opening of self-play), with `changes`."""
        return cls(size=cfg.size, rules=cfg.game_rules(), simulations=cfg.simulations, c_puct=cfg.c_puct, fpu=cfg.fpu,
                   leaves_per_game=cfg.leaves_per_game, parallel_games=cfg.parallel_games, alpha=cfg.alpha,
                   resign_threshold=resign_threshold, move_cap=cfg.effective_move_cap, pass_guard=cfg.pass_guard,
                   feature_set=cfg.net.feature_set, root=cfg.root, gumbel_m=cfg.gumbel_m,
                   backend="auto" if cfg.int8_play else "torch").replace(**changes)

    @classmethod
    def selfplay(cls, cfg: ZeroConfig, resign_threshold: float) -> "PlaySettings":
        """Self-play settings of a run with the current resign threshold."""
        return cls.of_run(cfg, resign_threshold, fast_simulations=cfg.fast_simulations,
                          full_search_prob=cfg.full_search_prob if cfg.fast_simulations else 1.0,
                          dirichlet_epsilon=cfg.dirichlet_epsilon, temperature_moves=cfg.effective_temperature_moves,
                          resign_playthrough=cfg.resign_playthrough, komi_spread=cfg.komi_spread,
                          komi_wide=cfg.komi_wide, komi_wide_share=cfg.komi_wide_share)

    @classmethod
    def match(cls, cfg: ZeroConfig, resign_threshold: float) -> "PlaySettings":
        """Gate / rating match settings: no noise, short random opening, full searches only."""
        return cls.of_run(cfg, resign_threshold, simulations=cfg.gate_simulations or cfg.simulations, dirichlet_epsilon=0.0,
                          temperature_moves=cfg.effective_gate_temperature_moves)

    def replace(self, **changes) -> "PlaySettings":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def search_config(self, seed: int) -> SearchConfig:
        """The search of these games: one tree per game and network, sized for the reuse of a subtree."""
        n_moves = self.size * self.size + 1
        # reused subtree <= node_budget / 2 (see MCTS.set_root), one search adds <= (simulations + leaves) * n_moves
        budget = 2 * (self.simulations + self.leaves_per_game) * n_moves + 1
        return SearchConfig(simulations=self.simulations, root=self.root, gumbel_m=self.gumbel_m, c_puct=self.c_puct,
                            fpu=self.fpu, batch_size=self.leaves_per_game, node_budget=budget,
                            dirichlet_alpha=self.alpha, dirichlet_epsilon=self.dirichlet_epsilon, seed=seed)


@dataclass(frozen=True)
class SelfPlayTask:
    """Play `games` self-play games with the network at `checkpoint`."""

    checkpoint: str
    settings: PlaySettings
    games: int
    seed: int
    server: ServerAddress | None = None
    FILES = ("checkpoint",)
    """Fields naming files the worker reads."""


@dataclass(frozen=True)
class MatchTask:
    """Play games `indices` of a match: `first` takes Black in even-numbered games."""

    first: str
    second: str
    settings: PlaySettings
    indices: tuple[int, ...]
    seed: int
    server: ServerAddress | None = None
    FILES = ("first", "second")
    """Fields naming files the worker reads."""


@dataclass
class SelfPlayGame:
    """A finished self-play game with one training sample per full search."""

    moves: list[int]
    """Points played in order (N*N = pass)."""
    winner: int
    """BLACK, WHITE or EMPTY (jigo)."""
    score: float
    """Area score Black - White - komi of the final position (the game may have ended by resignation)."""
    resigned: bool
    """The loser resigned."""
    playthrough: bool
    """Resignation was disabled in this game."""
    values: np.ndarray
    """float32 [moves]: resign value of the side to move before each move (Black moves first)."""
    samples: dict[str, np.ndarray]
    """Per recorded position (see rlgo.train.zero.buffer.SAMPLE_FIELDS)."""


@dataclass
class MatchGame:
    """A finished match game."""

    index: int
    """Game number in the match (first plays Black when even)."""
    winner: int
    """BLACK, WHITE or EMPTY."""
    moves: list[int]
    """Points played in order."""
    result: str
    """SGF result, e.g. 'B+R', 'W+3.5'."""

    @property
    def first_black(self) -> bool:
        return self.index % 2 == 0

    @property
    def first_score(self) -> float:
        """The first network's points: 1 win, 0.5 jigo, 0 loss."""
        if self.winner == EMPTY:
            return 0.5
        return float((self.winner == BLACK) == self.first_black)


@dataclass
class WorkerResult:
    """What one task returns: its games and how much searching it did."""

    games: list = field(default_factory=list)
    """SelfPlayGame or MatchGame records."""
    moves: int = 0
    """Moves played."""
    evaluations: int = 0
    """Positions evaluated by the networks."""
    seconds: float = 0.0
    """Wall time of the task."""
    cpu_seconds: float = 0.0
    """CPU time of the process running the task (all its threads)."""


@dataclass
class _Live:
    """A game in progress and its bookkeeping; it owns tree `tree` (and in a match tree + parallel
    games, the second network's), `mover` is the tree searching for the side to move."""

    state: GameState
    index: int
    tree: int = 0
    mover: int = 0
    playthrough: bool = False
    full: bool = True
    values: list[float] = field(default_factory=list)
    samples: list[tuple] = field(default_factory=list)


def _drive(search: MCTS, new_games: Iterator[_Live], parallel: int, trees_per_game: int,
           begin: Callable[[_Live], None], after_search: Callable[[_Live], bool], result: WorkerResult) -> list[_Live]:
    """Keep `parallel` games in flight until `new_games` runs out; returns the finished games in order.

    Game slot k uses trees k + j * parallel (j < trees_per_game). `begin(game)` starts the
    search of the side to move (and sets game.mover); `after_search(game)` plays a move and
    says whether the game is over.
    """
    live: dict[int, _Live] = {}
    done = []
    free = list(range(parallel))
    while True:
        while free:
            game = next(new_games, None)
            if game is None:
                break
            game.tree = free.pop(0)
            for j in range(trees_per_game):
                search.reset(game.tree + j * parallel)
            begin(game)
            live[game.tree] = game
        if not live:
            return done
        result.evaluations += search.step()
        for slot, game in list(live.items()):
            if search.searching(game.mover):
                continue
            result.moves += 1
            if after_search(game):
                del live[slot]
                done.append(game)
                free.append(slot)
            else:
                begin(game)


def _play(search: MCTS, g: _Live, s: PlaySettings) -> bool:
    """Choose and play the searched move of game g (opening: in proportion to visits; the pass rule
    when s.pass_guard); returns whether the game is over."""
    state = g.state
    allow_pass = not s.pass_guard or may_pass(state)  # self-play games are counted as they stand
    state.play(search.choose_move(g.mover, state.move_number < s.temperature_moves, allow_pass))
    return state.is_over or state.move_number >= s.move_cap


def draw_komi(rng: np.random.Generator, komi: float, spread: float, size: int | None = None):
    """Komi drawn uniformly from the half points within komi +- spread (a float, or float64 [size])."""
    steps = int(spread * 2)
    return komi + 0.5 * rng.integers(-steps, steps + 1, size=size)


def run_selfplay(evaluator: Evaluator, s: PlaySettings, games: int, seed: int) -> WorkerResult:
    """Play `games` self-play games with `evaluator` and return them with samples."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    parallel = min(s.parallel_games, games)
    search = MCTS(s.size, evaluator, s.search_config(seed), trees=parallel)
    result = WorkerResult()

    def new_games() -> Iterator[_Live]:
        for i in range(games):
            wide = s.komi_wide_share > 0 and rng.random() < s.komi_wide_share
            komi = float(draw_komi(rng, s.rules.komi, s.komi_wide if wide else s.komi_spread))
            yield _Live(GameState(s.size, s.rules.with_komi(komi)), i, playthrough=rng.random() < s.resign_playthrough)

    def begin(g: _Live) -> None:
        g.full = s.fast_simulations == 0 or rng.random() < s.full_search_prob
        g.mover = g.tree
        search.begin(g.state, s.simulations if g.full else s.fast_simulations, g.tree, noise=g.full)

    def after_search(g: _Live) -> bool:
        state = g.state
        value = search.resign_value(g.tree)
        g.values.append(value)
        if value < s.resign_threshold and not g.playthrough:
            state.resign()
            return True
        if g.full:
            g.samples.append((state.stone_history(features.HISTORY_LENGTH), state.to_play,
                              _or(state.ko_point, -1), _or(state.last_move, -1), state.move_number,
                              search.policy_target(g.tree).astype(np.float16)))
        return _play(search, g, s)

    finished = _drive(search, new_games(), parallel, 1, begin, after_search, result)
    result.games = [_selfplay_game(g, s.size) for g in finished]
    result.seconds = time.perf_counter() - start
    return result


def _or(value, default):
    return default if value is None else value


def _selfplay_game(g: _Live, size: int) -> SelfPlayGame:
    """Finished game -> record with outcome, ownership and score targets for each side to move."""
    state = g.state
    winner, score = state.winner(), state.area_score()
    owner = state.ownership().ravel()
    t = len(g.samples)
    to_play = np.array([x[1] for x in g.samples], np.int8)
    sign = np.where(to_play == BLACK, 1, -1).astype(np.int8)
    own = np.where(owner == BLACK, 1, np.where(owner == WHITE, -1, 0)).astype(np.int8)
    samples = {
        "stones": pack_stones(np.stack([x[0] for x in g.samples]) if t else np.zeros((0, 8, size * size), np.int8)),
        "to_play": to_play,
        "ko": np.array([x[2] for x in g.samples], np.int16),
        "last_move": np.array([x[3] for x in g.samples], np.int16),
        "move_number": np.array([x[4] for x in g.samples], np.int16),
        "policy": np.stack([x[5] for x in g.samples]) if t else np.zeros((0, size * size + 1), np.float16),
        "outcome": (np.zeros(t, np.int8) if winner == EMPTY else np.where(to_play == winner, 1, -1).astype(np.int8)),
        "ownership": sign[:, None] * own[None, :],
        "score": (sign * score).astype(np.float32),
        "scored": np.full(t, state.resigned == EMPTY),
        "komi": np.full(t, state.rules.komi, np.float32),
    }
    moves = [p for _, p in state.moves if p >= 0]
    return SelfPlayGame(moves, winner, score, state.resigned != EMPTY, g.playthrough,
                        np.array(g.values, np.float32), samples)


def run_match(evaluators: tuple[Evaluator, Evaluator], s: PlaySettings, indices: tuple[int, ...],
              seed: int) -> WorkerResult:
    """Games `indices` between evaluators[0] (Black in even games) and evaluators[1]; each side searches its
    own tree."""
    start = time.perf_counter()
    parallel = min(s.parallel_games, len(indices))
    search = MCTS(s.size, list(evaluators), s.search_config(seed), trees=2 * parallel,
                  evaluator_of=[0] * parallel + [1] * parallel)
    result = WorkerResult()

    def new_games() -> Iterator[_Live]:
        for i in indices:
            yield _Live(GameState(s.size, s.rules), i)

    def begin(g: _Live) -> None:
        first_to_move = (g.state.to_play == BLACK) == (g.index % 2 == 0)
        g.mover = g.tree if first_to_move else g.tree + parallel
        # the opening is drawn at random so that no two games repeat: PUCT in proportion to visits
        # (_play), the Gumbel root (which plays its halving winner) by its Gumbel noise
        search.begin(g.state, s.simulations, g.mover, noise=g.state.move_number < s.temperature_moves)

    def after_search(g: _Live) -> bool:
        if search.resign_value(g.mover) < s.resign_threshold:
            g.state.resign()
            return True
        return _play(search, g, s)

    finished = _drive(search, new_games(), parallel, 2, begin, after_search, result)
    result.games = [MatchGame(g.index, g.state.winner(), [p for _, p in g.state.moves if p >= 0], g.state.result())
                    for g in finished]
    result.seconds = time.perf_counter() - start
    return result


def load_net(checkpoint: str, s: PlaySettings, server: ServerAddress | None = None) -> Evaluator:
    """The CPU evaluator of a checkpoint (or its evaluator on `server`), checked against the settings'
    board size and feature set."""
    if server is not None:
        return ServerEvaluator(server, checkpoint, s.feature_set, s.size)
    model, meta = load_checkpoint(checkpoint, expect_board_size=s.size, expect_feature_set=s.feature_set,
                                  backend=s.backend)
    return NetworkEvaluator(TorchEvaluator(model), feature_set=meta.feature_set, board_size=meta.board_size)


def play_selfplay(task: SelfPlayTask) -> WorkerResult:
    """Worker entry point: self-play games of the network at task.checkpoint."""
    cpu = time.process_time()
    result = run_selfplay(load_net(task.checkpoint, task.settings, task.server), task.settings, task.games, task.seed)
    result.cpu_seconds = time.process_time() - cpu
    return result


def play_match(task: MatchTask) -> WorkerResult:
    """Worker entry point: match games between task.first and task.second."""
    cpu = time.process_time()
    nets = (load_net(task.first, task.settings, task.server), load_net(task.second, task.settings, task.server))
    result = run_match(nets, task.settings, task.indices, task.seed)
    result.cpu_seconds = time.process_time() - cpu
    return result


def init_worker(threads: int = 1) -> None:
    """Process initializer: torch threads per worker (1 keeps the cores busy without oversubscription)."""
    torch.set_num_threads(threads)
