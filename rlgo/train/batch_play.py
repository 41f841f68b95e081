"""Many games at once: boards in Numba arrays, one batched network forward per policy and step.

`GameBatch` holds G games from the empty board: kernel boards, position history for the
feature planes, and every position's superko key. Legal moves follow the rules' ko rule
exactly (rlgo.go.legal: simple ko, positional or situational superko against all earlier
positions of the game, as GameState does), optionally without moves that fill one's own
single-point eye. A game ends after two passes or at the move cap and is scored by area
(Tromp-Taylor: every stone on the board counts) with the rules' komi.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from rlgo.go import boards
from rlgo.go.features import HISTORY_LENGTH
from rlgo.go.legal import KO_MODES
from rlgo.go.rules import Rules
from rlgo.go.state import BLACK, EMPTY, WHITE, zobrist
from rlgo.nn.inference import PolicyNet, sample_moves
from rlgo.search.evaluator import encode_planes


@dataclass(frozen=True)
class PlayConfig:
    """How batched games are played."""

    size: int = 9
    """Board size N."""
    rules: Rules = field(default_factory=Rules)
    """Ko rule and komi (scoring is always area on the final board)."""
    move_cap: int = 0
    """Moves after which a game is stopped and scored (0: 2 * N * N)."""
    prune_eye_fills: bool = True
    """Leave moves that fill one's own single-point eye out of the legal set (pass stays legal)."""

    @property
    def cap(self) -> int:
        """The effective move cap."""
        return self.move_cap or 2 * self.size * self.size


class GameBatch:
    """G games from the empty board stepped together (arrays indexed by game)."""

    def __init__(self, count: int, config: PlayConfig):
        if count < 1:
            raise ValueError(f"a game batch needs at least one game, got {count!r}")
        self.config = config
        self.size = config.size
        self.zob = zobrist(config.size)
        self.b, self.m, self.hist, self.keys = boards.new_boards(count, config.size, config.rules, HISTORY_LENGTH,
                                                                 config.cap)
        """b int32 [G, 7, A] and m int64 [G, NMETA]: kernel boards (rlgo.go.boards); hist int8 [G, 8, A]:
        colour rows, [:, 0] now, [:, j] j moves ago (0 before the start); keys int64 [G, cap+1]: superko
        key of the position after each move ([:, 0] the start)."""
        self.ko_mode = KO_MODES[config.rules.ko]
        self.moves = np.zeros(count, np.int64)
        """int64 [G]: moves played (passes included)."""
        self.done = np.zeros(count, bool)
        """bool [G]: finished games (two passes or move cap)."""

    def __len__(self) -> int:
        return self.b.shape[0]

    def active(self) -> np.ndarray:
        """int64 [k]: indices of the games still running."""
        return np.flatnonzero(~self.done)

    def to_play(self, games: np.ndarray) -> np.ndarray:
        """int64 [k]: colour to move (BLACK 1 / WHITE 2) in each game of `games`."""
        return boards.to_play(self.m[games])

    def legal(self, games: np.ndarray) -> np.ndarray:
        """bool [k, N*N+1]: legal moves (ko rule, eye pruning per config) in each game of `games`."""
        out = np.zeros((len(self), self.size * self.size + 1), bool)
        games = np.asarray(games, np.int64)
        boards.legal_masks(self.b, self.m, self.zob, self.keys, self.moves, self.ko_mode,
                     self.config.prune_eye_fills, games, out)
        return out[games]

    def planes(self, games: np.ndarray, feature_set: str) -> np.ndarray:
        """float32 [k, C, N, N]: feature planes of each game of `games` for its side to move."""
        return encode_planes(feature_set, self.size, self.b[games], self.m[games], self.hist[games])

    def play(self, games: np.ndarray, points: np.ndarray) -> None:
        """Play points int [k] (N*N = pass; must be legal) in the running games `games` int [k]."""
        games = np.asarray(games, np.int64)
        if self.done[games].any():
            raise ValueError(f"games {games[self.done[games]].tolist()} are already over")
        boards.play_points(self.b, self.m, self.zob, self.keys, self.hist, self.moves, self.done, self.ko_mode,
              self.config.cap, games, np.asarray(points, np.int64))

    def scores(self) -> np.ndarray:
        """float64 [G]: Black minus White minus komi by area on the current boards."""
        out = np.empty(len(self))
        boards.area_scores(self.b, self.m, float(self.config.rules.komi), out)
        return out

    def winners(self) -> np.ndarray:
        """int64 [G]: BLACK, WHITE or EMPTY (jigo) by area score."""
        s = self.scores()
        return np.where(s > 0, BLACK, np.where(s < 0, WHITE, EMPTY))


def uniform_moves(legal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """int64 [B]: a uniformly random legal move per row, pass only when nothing else is legal."""
    points = legal.copy()
    points[:, -1] &= ~points[:, :-1].any(axis=1)
    return sample_moves(np.zeros(points.shape, np.float32), points, rng)


Chooser = Callable[[GameBatch, np.ndarray], np.ndarray]
"""chooser(batch, running games int [k]) -> moves int [k] for the side to move in each."""


def play_out(batch: GameBatch, choose: Chooser) -> None:
    """Step every running game with `choose` until all are over."""
    while True:
        games = batch.active()
        if games.size == 0:
            return
        batch.play(games, choose(batch, games))


def policy_chooser(policies: list[PolicyNet], black: np.ndarray, rng: np.random.Generator,
                   temperature: float = 1.0, on_moves=None) -> Chooser:
    """Games between policies: game g's Black is policies[black[g]], White the other one (two policies).

    With one policy it plays both colours (black all zeros). `on_moves(p, games, planes, legal,
    moves)` sees every batch that policy p answers (for recording).
    """
    def choose(batch: GameBatch, games: np.ndarray) -> np.ndarray:
        mover = np.where(batch.to_play(games) == BLACK, black[games], len(policies) - 1 - black[games])
        out = np.empty(games.size, np.int64)
        for p, policy in enumerate(policies):
            sel = np.flatnonzero(mover == p)
            if sel.size == 0:
                continue
            g = games[sel]
            planes, legal = batch.planes(g, policy.feature_set), batch.legal(g)
            out[sel] = sample_moves(policy.log_probs(planes, legal), legal, rng, temperature)
            if on_moves is not None:
                on_moves(p, g, planes, legal, out[sel])
        return out
    return choose


def match(a: PolicyNet, b: PolicyNet, games: int, config: PlayConfig, rng: np.random.Generator,
          temperature: float = 1.0) -> tuple[int, int, int]:
    """(wins, jigos, losses) of `a` against `b` over `games` games, `a` Black in the even ones."""
    black = np.arange(games) % 2  # 0: a is Black
    batch = GameBatch(games, config)
    play_out(batch, policy_chooser([a, b], black, rng, temperature))
    a_color = np.where(black == 0, BLACK, WHITE)
    winners = batch.winners()
    wins = int(np.sum(winners == a_color))
    jigo = int(np.sum(winners == EMPTY))
    return wins, jigo, games - wins - jigo
