"""Batched Monte-Carlo tree search over GameStates: gather leaves, evaluate once, back up.

The only Python per batch is the evaluator call; selection, expansion and back-up run in
Numba (rlgo.search.simulate / rlgo.search.tree). The tree is kept between searches and
re-rooted on the moves played since (subtree reuse), as long as the game continues the
position last searched.
"""
from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass

import numpy as np

from rlgo.go import coords, kernels as K
from rlgo.go.state import GameState
from rlgo.search.config import BoardSizeError, SearchConfig, SearchConfigError, SearchError
from rlgo.search.evaluator import Evaluator, LeafBatch, check_outputs, encode_planes
from rlgo.search.simulate import KO_MODES, apply_results, descend_moves, gather_leaves
from rlgo.search.tree import ROOT, UNEXPANDED, compact, new_tree, node_value, reset

UNLIMITED = sys.maxsize
"""`playouts` of a search that runs until stopped, out of time or out of nodes (pondering)."""


@dataclass(frozen=True)
class SearchResult:
    """What one `MCTS.search` call did."""

    playouts: int
    """Simulations run by this call (the root may hold more from earlier searches)."""
    seconds: float
    """Wall time of the call."""
    reason: str
    """Why it ended: 'playouts', 'time', 'stopped' or 'full' (node budget reached)."""


@dataclass(frozen=True)
class Candidate:
    """One root move of a search snapshot (values for the side to move at the root)."""

    move: int
    visits: int
    winrate: float
    prior: float
    pv: list[int]


class MCTS:
    """Monte-Carlo tree search for one board size with a pluggable evaluator (see evaluator.py)."""

    def __init__(self, size: int, evaluator: Evaluator, config: SearchConfig | None = None):
        self.size = coords.check_size(size)
        self.config = config or SearchConfig()
        self.evaluator = evaluator
        n_moves = size * size + 1
        if self.config.node_budget < n_moves + 1:
            raise SearchConfigError(f"SearchConfig.node_budget {self.config.node_budget} cannot hold a root and "
                                    f"its {n_moves} children on a {size}x{size} board")
        ev_size = getattr(evaluator, "board_size", None)
        if ev_size is not None and ev_size != size:
            raise BoardSizeError(f"evaluator is for {ev_size}x{ev_size} boards, search is {size}x{size}")
        self.rng = np.random.default_rng(self.config.seed)
        self.tree = new_tree(self.config.node_budget, self.config.seed)
        self._spare = None  # second tree for re-rooting, made on first use
        batch, area = self.config.batch_size, (size + 2) ** 2
        self.history_length = evaluator.history_length if evaluator.feature_set is not None else 0
        self._leaf = np.zeros(batch, np.int32)
        self._b = np.zeros((batch, K.NROWS, area), np.int32)
        self._m = np.zeros((batch, K.NMETA), np.int64)
        self._legal = np.zeros((batch, n_moves), bool)
        self._hist = np.zeros((batch, self.history_length, area), np.int8)
        self._amaf = np.zeros((batch, size * size if self.config.rave > 0 else 0), np.int8)
        self._ring = np.zeros((max(self.history_length, 1), area), np.int8)
        self._path_keys = np.zeros(self.config.node_budget + 1, np.int64)
        self._moves = np.zeros(n_moves, np.int64)
        self._move_priors = np.zeros(n_moves, np.float32)
        self._root: tuple | None = None  # (rules, setup stones, moves, to_play) of the position at ROOT
        self._root_b, self._root_m = K.new_board(size)
        self._lock = threading.Lock()
        self._stop = threading.Event()

    # ----------------------------------------------------------------- public
    def reset(self) -> None:
        """Forget the tree (a new game)."""
        with self._lock:
            reset(self.tree, int(self.rng.integers(2**62)))
            self._root = None

    def stop(self) -> None:
        """Make a running `search` return after its current batch (thread-safe)."""
        self._stop.set()

    def set_root(self, state: GameState) -> bool:
        """Point the tree's root at `state`; keeps the subtree of the moves played since the last root
        (returns True) or starts a fresh tree (False)."""
        self._check_state(state)
        key = (state.rules, tuple(state.setup_stones), tuple(state.moves), state.to_play)
        with self._lock:
            node = self._reusable_node(key)
            if node is None:
                reset(self.tree, int(self.rng.integers(2**62)))
            elif node != ROOT:
                if self._spare is None:
                    self._spare = new_tree(self.config.node_budget)
                used = compact(self.tree, node, self._spare)
                self.tree, self._spare = self._spare, self.tree
                if used > self.config.node_budget // 2:
                    reset(self.tree, int(self.rng.integers(2**62)))
            self._root = key
            self._root_b[:] = state.b
            self._root_m[:] = state.m
            return node is not None and self.tree.visits[ROOT] > 0

    def search(self, state: GameState, playouts: int | None = None, seconds: float | None = None) -> SearchResult:
        """Search `state` for `playouts` simulations (default config.playouts; UNLIMITED until stopped),
        at most `seconds` of wall time, until `stop()` or until the node budget is used up.

        At least one batch always runs, so the root has children afterwards.
        """
        playouts = self.config.playouts if playouts is None else playouts
        if playouts <= 0:
            raise SearchConfigError(f"playouts must be > 0, got {playouts!r}")
        if seconds is not None and not seconds > 0:
            raise SearchConfigError(f"seconds must be > 0, got {seconds!r}")
        self._stop.clear()
        start = time.perf_counter()
        self.set_root(state)
        rules = state.rules
        root_keys = state.position_keys()
        root_hist = state.position_history(self.history_length) if self.history_length else self._ring[:0]
        ko_mode, komi = KO_MODES[rules.ko], float(rules.komi)
        cfg = self.config
        use_uct = cfg.selection == "uct"
        c = cfg.c_uct if use_uct else cfg.c_puct
        noise = cfg.dirichlet_epsilon > 0
        all_legal = self.evaluator.feature_set is not None  # networks read every leaf's legal moves
        clean_priors = None
        done, reason = 0, "playouts"
        try:
            while True:
                if noise and clean_priors is None and self.tree.first_child[ROOT] != UNEXPANDED:
                    clean_priors = self._add_root_noise()
                with self._lock:
                    count, sims = gather_leaves(
                        self.tree, self._root_b, self._root_m, state.zob, root_keys, root_hist, ko_mode, komi,
                        use_uct, c, cfg.fpu, cfg.rave, cfg.prune_eye_fills, cfg.expand_visits, all_legal, cfg.batch_size,
                        min(cfg.batch_size, playouts - done),
                        self._path_keys, self._ring, self._leaf, self._b, self._m, self._legal, self._hist)
                room = True
                if count:
                    priors, values = self._evaluate(count, state.zob, komi)
                    with self._lock:
                        room = apply_results(self.tree, self._leaf, count, self._legal, priors, values,
                                             self._m[:, K.M_TOPLAY], self._amaf, cfg.expand_visits, self._moves,
                                             self._move_priors)
                done += sims
                if done >= playouts:
                    break
                if not room:
                    reason = "full"
                    break
                if self._stop.is_set():
                    reason = "stopped"
                    break
                if seconds is not None and time.perf_counter() - start >= seconds:
                    reason = "time"
                    break
        finally:
            if clean_priors is not None:
                first, count = self._root_children()
                self.tree.prior[first:first + count] = clean_priors
        return SearchResult(done, time.perf_counter() - start, reason)

    def root_value(self) -> float:
        """Mean value in [-1, 1] of the root for its side to move (0 before any search)."""
        return float(node_value(self.tree, ROOT))

    def root_visits(self) -> int:
        """Simulations through the root (including those kept from earlier searches)."""
        return int(self.tree.visits[ROOT])

    def visit_counts(self) -> np.ndarray:
        """int64 [N*N+1]: visits of each root move (0 for moves not in the tree)."""
        out = np.zeros(self.size * self.size + 1, np.int64)
        first, count = self._root_children()
        out[self.tree.move[first:first + count]] = self.tree.visits[first:first + count]
        return out

    def choose_move(self, proportional: bool = False) -> int:
        """The most visited root move (ties: higher value), or one drawn in proportion to visits."""
        first, count = self._root_children()
        if count == 0:
            return self.size * self.size
        t = self.tree
        visits = t.visits[first:first + count].astype(np.float64)
        moves = t.move[first:first + count]
        if proportional and visits.sum() > 0:
            return int(self.rng.choice(moves, p=visits / visits.sum()))
        q = np.where(visits > 0, t.value_sum[first:first + count] / np.maximum(visits, 1), -2.0)
        return int(moves[np.lexsort((q, visits))[-1]])

    def candidates(self, limit: int = 10, pv_length: int = 12) -> list[Candidate]:
        """Visited root moves, most visited first, with win rates and principal variations (thread-safe)."""
        with self._lock:
            t = self.tree
            first, count = self._root_children()
            kids = [first + k for k in range(count) if t.visits[first + k] > 0]
            kids.sort(key=lambda ch: (-int(t.visits[ch]), -float(t.prior[ch])))
            out = []
            for ch in kids[:limit]:
                q = t.value_sum[ch] / t.visits[ch]
                out.append(Candidate(int(t.move[ch]), int(t.visits[ch]), float((q + 1) / 2),
                                     float(t.prior[ch]), self._pv(ch, pv_length)))
            return out

    # ----------------------------------------------------------------- internals
    def _check_state(self, state: GameState) -> None:
        if state.size != self.size:
            raise BoardSizeError(f"position is {state.size}x{state.size}, search was made for "
                                 f"{self.size}x{self.size}")
        if state.is_over:
            raise SearchError("cannot search a finished game")

    def _root_children(self) -> tuple[int, int]:
        first = int(self.tree.first_child[ROOT])
        return (0, 0) if first == UNEXPANDED else (first, int(self.tree.num_children[ROOT]))

    def _reusable_node(self, key: tuple) -> int | None:
        """Tree node of position `key` if the tree's root is an earlier position of the same game."""
        if self._root is None or key[:2] != self._root[:2]:
            return None
        old, new = self._root[2], key[2]
        if new[:len(old)] != old:
            return None
        color = self._root[3]
        points = np.zeros(len(new) - len(old), np.int64)
        for i, (c, point) in enumerate(new[len(old):]):
            if c != color:
                return None  # a move out of turn: the tree never contains it
            points[i] = point
            color = 3 - color
        if color != key[3]:
            return None  # side to move changed by hand
        node = int(descend_moves(self.tree, points, len(points)))
        return None if node < 0 else node

    def _evaluate(self, count: int, zob: np.ndarray, komi: float) -> tuple[np.ndarray, np.ndarray]:
        fs = self.evaluator.feature_set
        b, m, hist = self._b[:count], self._m[:count], self._hist[:count]
        planes = encode_planes(fs, self.size, b, m, hist) if fs is not None else None
        amaf = self._amaf[:count]
        amaf[:] = 0
        batch = LeafBatch(self.size, b, m, self._legal[:count], hist, planes, zob, komi, amaf)
        priors, values = self.evaluator.evaluate(batch)
        return check_outputs(priors, values, count, self.size * self.size + 1)

    def _add_root_noise(self) -> np.ndarray:
        """Mix Dirichlet noise into the root priors; returns the clean priors to restore."""
        first, count = self._root_children()
        with self._lock:
            clean = self.tree.prior[first:first + count].copy()
            noise = self.rng.dirichlet(np.full(count, self.config.dirichlet_alpha))
            eps = self.config.dirichlet_epsilon
            self.tree.prior[first:first + count] = (1 - eps) * clean + eps * noise
        return clean

    def _pv(self, node: int, length: int) -> list[int]:
        t = self.tree
        pv = [int(t.move[node])]
        while len(pv) < length and t.first_child[node] != UNEXPANDED:
            first, count = int(t.first_child[node]), int(t.num_children[node])
            child = first + int(np.argmax(t.visits[first:first + count]))
            if t.visits[child] == 0:
                break
            pv.append(int(t.move[child]))
            node = child
        return pv
