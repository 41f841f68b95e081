"""Many games at once: boards in Numba arrays, one batched network forward per policy and step.

`GameBatch` holds G games from the empty board: kernel boards, position history for the
feature planes, and every position's superko key. Legal moves follow the rules' ko rule
exactly (simple ko in the kernels; positional or situational superko against all earlier
positions of the game, as GameState does), optionally without moves that fill one's own
single-point eye. A game ends after two passes or at the move cap and is scored by area
(Tromp-Taylor: every stone on the board counts) with the rules' komi.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from numba import njit

from rlgo.go import kernels as K
from rlgo.go.features import HISTORY_LENGTH
from rlgo.go.rules import Rules
from rlgo.go.state import zobrist
from rlgo.nn.inference import PolicyNet, sample_moves
from rlgo.search.evaluator import encode_planes
from rlgo.search.simulate import KO_MODES, leaf_legal, play_point, position_key


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


@njit(cache=True)
def _legal_masks(b, m, zob, keys, moves, ko_mode, prune, games, out):
    """out[g] = legal moves (bool [N*N+1]) of game g for each g in `games`."""
    for g in games:
        leaf_legal(b[g], m[g], zob, keys[g, :1], keys[g], moves[g], ko_mode, prune, out[g])


@njit(cache=True)
def _play(b, m, zob, keys, hist, moves, done, ko_mode, cap, games, points):
    """Play points[i] in game games[i]; update keys, history rows, move counts and `done`."""
    for i in range(games.shape[0]):
        g = games[i]
        play_point(b[g], m[g], zob, points[i])
        moves[g] += 1
        keys[g, moves[g]] = position_key(m[g, K.M_HASH], m[g, K.M_TOPLAY], ko_mode, zob)
        for j in range(hist.shape[1] - 1, 0, -1):
            hist[g, j] = hist[g, j - 1]
        for v in range(b.shape[2]):
            hist[g, 0, v] = b[g, K.COL, v]
        if m[g, K.M_PASSES] >= 2 or moves[g] >= cap:
            done[g] = True


@njit(cache=True)
def _scores(b, m, komi, out):
    for g in range(b.shape[0]):
        black, white = K.area_counts(b[g], m[g])
        out[g] = black - white - komi


class GameBatch:
    """G games from the empty board stepped together (arrays indexed by game)."""

    def __init__(self, count: int, config: PlayConfig):
        if count < 1:
            raise ValueError(f"a game batch needs at least one game, got {count!r}")
        self.config = config
        self.size = config.size
        self.zob = zobrist(config.size)
        b, m = K.new_board(config.size, config.rules.suicide, config.rules.komi)
        self.b = np.repeat(b[None], count, axis=0)
        """int32 [G, 7, A]: kernel boards."""
        self.m = np.repeat(m[None], count, axis=0)
        """int64 [G, NMETA]: kernel meta rows (side to move in M_TOPLAY)."""
        self.hist = np.zeros((count, HISTORY_LENGTH, b.shape[1]), np.int8)
        """int8 [G, 8, A]: colour rows, [:, 0] now, [:, j] j moves ago (0 before the start)."""
        self.hist[:, 0] = b[K.COL]
        self.ko_mode = KO_MODES[config.rules.ko]
        self.keys = np.zeros((count, config.cap + 1), np.int64)
        """int64 [G, cap+1]: superko key of the position after each move ([:, 0] the start)."""
        self.keys[:, 0] = position_key(m[K.M_HASH], m[K.M_TOPLAY], self.ko_mode, self.zob)
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
        return self.m[games, K.M_TOPLAY]

    def legal(self, games: np.ndarray) -> np.ndarray:
        """bool [k, N*N+1]: legal moves (ko rule, eye pruning per config) in each game of `games`."""
        out = np.zeros((len(self), self.size * self.size + 1), bool)
        games = np.asarray(games, np.int64)
        _legal_masks(self.b, self.m, self.zob, self.keys, self.moves, self.ko_mode,
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
        _play(self.b, self.m, self.zob, self.keys, self.hist, self.moves, self.done, self.ko_mode,
              self.config.cap, games, np.asarray(points, np.int64))

    def scores(self) -> np.ndarray:
        """float64 [G]: Black minus White minus komi by area on the current boards."""
        out = np.empty(len(self))
        _scores(self.b, self.m, float(self.config.rules.komi), out)
        return out

    def winners(self) -> np.ndarray:
        """int64 [G]: BLACK, WHITE or EMPTY (jigo) by area score."""
        s = self.scores()
        return np.where(s > 0, K.BLACK, np.where(s < 0, K.WHITE, K.EMPTY))


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
        mover = np.where(batch.to_play(games) == K.BLACK, black[games], len(policies) - 1 - black[games])
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
    a_color = np.where(black == 0, K.BLACK, K.WHITE)
    winners = batch.winners()
    wins = int(np.sum(winners == a_color))
    jigo = int(np.sum(winners == K.EMPTY))
    return wins, jigo, games - wins - jigo
