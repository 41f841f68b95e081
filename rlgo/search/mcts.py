"""THE search: a batch of trees stepped together, one evaluator call per step (B = 1 for one agent).

Each tree searches its own root position (GameState). A step gathers leaves with virtual loss
from every tree that still has simulations to run, evaluates them with one call per evaluator
(in a match each tree is bound to its own network), and backs them up; gather, apply and the
next gather are one Numba call (rlgo.search.simulate.advance), so the only Python per step is
the evaluator call. Trees are kept between searches and re-rooted on the moves played since
(subtree reuse), as long as the game continues the position last searched.

Move filters (rlgo.search.filters: the analysis commands' avoid / allow) restrict one search; a
tree searched under filters is reused only for the same position and the same filters.
Searches whose evaluators all report final margins (`scores = True`, e.g. rollouts) back up
score statistics beside the values: Candidate.score_mean / score_stdev and root_score().

Root policy: PUCT with optional Dirichlet noise (mixed in at selection time, the stored priors
stay clean) or the Gumbel root (rlgo.search.gumbel). Move choice, the policy target, the
resign value and the pass rule are defined here once for agents and self-play alike.
"""
from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from rlgo.go import coords, features, kernels as K
from rlgo.go.legal import KO_MODES
from rlgo.go.state import BLACK, GameState, zobrist
from rlgo.search import simulate as S
from rlgo.search.config import BoardSizeError, SearchConfig, SearchConfigError, SearchError
from rlgo.search.entry import compiled_entry
from rlgo.search.evaluator import Evaluator, EvaluatorError, LeafBatch, check_outputs
from rlgo.search.filters import MoveFilter, ban_table
from rlgo.search.gumbel import improved_policy, root_scores
from rlgo.search.simulate import descend_moves
from rlgo.search.tree import (
    META_FULL, ROOT, UNEXPANDED, bytes_per_node, compact, new_forest, reset, slot_view,
)

UNLIMITED = sys.maxsize
"""`simulations` of a search that runs until stopped, out of time or out of nodes (pondering)."""
GUMBEL_SCHEDULE_CAP = 4096
"""Longest Gumbel halving schedule; a longer (or unlimited, time-bound) search gives the simulations
after it to the best-scored root child."""


@dataclass(frozen=True)
class SearchResult:
    """What one `MCTS.search` call did."""

    simulations: int
    """Simulations run by this call (the root may hold more from earlier searches)."""
    seconds: float
    """Wall time of the call."""
    reason: str
    """Why it ended: 'simulations', 'time', 'stopped' or 'full' (node budget reached)."""


@dataclass(frozen=True)
class Candidate:
    """One root move of a search snapshot (values for the side to move at the root)."""

    move: int
    visits: int
    winrate: float
    prior: float
    pv: list[int]
    score_mean: float | None = None
    """Mean final margin in points under the move, root side to move's view (None: the search keeps no scores)."""
    score_stdev: float | None = None
    """Standard deviation of that margin (None also below 2 visits: one sample has no spread)."""


def mover_lead(state: GameState, dead: Sequence[int] = ()) -> float:
    """Score (komi included, `dead` points removed) from the point of view of the side to move."""
    score = state.score(list(dead))
    return score if state.to_play == BLACK else -score


def may_pass(state: GameState, dead: Sequence[int] = ()) -> bool:
    """The pass rule: pass only while the count (without `dead`) favours the side to move, since the
    opponent may pass back and end the game on that count."""
    return mover_lead(state, dead) > 0


class MCTS:
    """Monte-Carlo tree search over `trees` trees of one board size (see the module docstring).

    `evaluator`: one evaluator, or a list of them with `evaluator_of[t]` naming tree t's (default
    all 0); every evaluator follows rlgo.search.evaluator's protocol. Tree t's methods take `t`
    (default 0, so a single-tree search reads like one search).
    """

    def __init__(self, size: int, evaluator: Evaluator | Sequence[Evaluator], config: SearchConfig | None = None,
                 trees: int = 1, evaluator_of: Sequence[int] | None = None):
        self.size = coords.check_size(size)
        self.config = cfg = config or SearchConfig()
        self.evaluators = list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]
        self.evaluator = self.evaluators[0]
        n_moves = size * size + 1
        if cfg.node_budget < n_moves + 1:
            raise SearchConfigError(f"SearchConfig.node_budget {cfg.node_budget} cannot hold a root and "
                                    f"its {n_moves} children on a {size}x{size} board")
        for ev in self.evaluators:
            ev_size = getattr(ev, "board_size", None)
            if ev_size is not None and ev_size != size:
                raise BoardSizeError(f"evaluator is for {ev_size}x{ev_size} boards, search is {size}x{size}")
        if trees < 1:
            raise SearchConfigError(f"a search needs at least one tree, got {trees!r}")
        self.trees = trees
        self.evaluator_of = np.zeros(trees, np.int64) if evaluator_of is None else np.asarray(evaluator_of, np.int64)
        if self.evaluator_of.shape != (trees,) or not ((0 <= self.evaluator_of) &
                                                        (self.evaluator_of < len(self.evaluators))).all():
            raise SearchConfigError(f"evaluator_of must name one of {len(self.evaluators)} evaluators for each of "
                                    f"{trees} trees")
        self.rng = np.random.default_rng(cfg.seed)
        self.scores = all(getattr(ev, "scores", False) for ev in self.evaluators)
        """Whether the trees back up final margins (every evaluator reports them)."""
        self.forest = new_forest(trees + 1, cfg.node_budget, self.scores)  # one spare slot for re-rooting
        self._slots_free = trees  # index of the spare slot
        area = (size + 2) ** 2
        self.history_length = max([ev.history_length for ev in self.evaluators if ev.feature_set is not None],
                                  default=0)
        gumbel = cfg.root == "gumbel"
        self._roots = S.Roots(
            trees=np.zeros((trees, S.TREE_COLUMNS), np.int64), tree_f=np.zeros((trees, 2), np.float64),
            b=np.zeros((trees, K.NROWS, area), np.int32), m=np.zeros((trees, K.NMETA), np.int64), zob=zobrist(size),
            keys=np.zeros((trees, 64), np.int64), hist=np.zeros((trees, self.history_length, area), np.int8),
            rows=np.zeros((trees, 2, n_moves), np.float32), base=np.zeros((trees, n_moves if gumbel else 1), np.int32),
            schedule=np.zeros((trees, GUMBEL_SCHEDULE_CAP if gumbel else 1), np.int32),
            bans=np.zeros((trees, 2, n_moves), np.int32))
        self._roots.trees[:, S.T_SLOT] = np.arange(trees)
        self._params = np.zeros(S.PARAMS, np.float64)
        use_uct = cfg.selection == "uct"
        for index, value in ((S.P_UCT, use_uct), (S.P_C, cfg.c_uct if use_uct else cfg.c_puct), (S.P_FPU, cfg.fpu),
                             (S.P_RAVE, cfg.rave), (S.P_PRUNE, cfg.prune_eye_fills), (S.P_EXPAND, cfg.expand_visits),
                             (S.P_ALL_LEGAL, any(ev.feature_set is not None for ev in self.evaluators)),
                             (S.P_LEAVES, cfg.batch_size), (S.P_GUMBEL, gumbel), (S.P_M, cfg.gumbel_m),
                             (S.P_CVISIT, cfg.c_visit), (S.P_CSCALE, cfg.c_scale)):
            self._params[index] = float(value)
        rows = trees * cfg.batch_size
        self._leaves = S.Leaves(
            rows=np.zeros((rows, 2), np.int32), b=np.zeros((rows, K.NROWS, area), np.int32),
            m=np.zeros((rows, K.NMETA), np.int64), legal=np.zeros((rows, n_moves), bool),
            hist=np.zeros((rows, self.history_length, area), np.int8),
            path_keys=np.zeros(cfg.node_budget + 1, np.int64), ring=np.zeros((max(self.history_length, 1), area), np.int8),
            scratch=np.zeros(n_moves, np.float64), moves=np.zeros(n_moves, np.int64),
            move_priors=np.zeros(n_moves, np.float32))
        self._amaf = np.zeros((rows, size * size if cfg.rave > 0 else 0), np.int8)
        self._score = np.zeros((rows, 2 if self.scores else 0), np.float32)
        self._no_priors = np.zeros((0, n_moves), np.float32)
        self._no_values = np.zeros(0, np.float32)
        self._new_step_arrays()
        self._planes = {fs: np.zeros((rows, features.feature_planes(fs), size, size), np.float32)
                        for fs in {ev.feature_set for ev in self.evaluators if ev.feature_set is not None}}
        self._batches: dict[tuple[int, int, int], LeafBatch] = {}
        self._komi = [0.0] * trees  # tree_f's komi column as Python floats, for the LeafBatch
        self._root: list[tuple | None] = [None] * trees  # (rules, setup stones, moves, to_play, filters) at each root
        self._lock = threading.Lock()
        self._stop = threading.Event()
        for t in range(trees):
            reset(self.tree_arrays(t), int(self.rng.integers(2**62)))

    # ----------------------------------------------------------------- trees and roots
    def tree_arrays(self, t: int = 0):
        """TreeArrays views of tree t (valid until its next re-rooting)."""
        return slot_view(self.forest, int(self._roots.trees[t, S.T_SLOT]))

    @property
    def tree(self):
        """TreeArrays views of tree 0."""
        return self.tree_arrays(0)

    def bytes_per_node(self) -> int:
        """Memory of one tree node."""
        return bytes_per_node(self.forest)

    def reset(self, t: int | None = None, seed: int | None = None) -> None:
        """Forget tree t (every tree when None), e.g. for a new game; `seed` reseeds its child order."""
        with self._lock:
            for i in range(self.trees) if t is None else (t,):
                reset(self.tree_arrays(i), int(self.rng.integers(2**62)) if seed is None else seed)
                self._root[i] = None
                self._roots.trees[i, S.T_LEFT] = 0

    def stop(self) -> None:
        """Make a running `search` return after its current step (thread-safe)."""
        self._stop.set()

    def set_root(self, state: GameState, t: int = 0, filters: Sequence[MoveFilter] = ()) -> bool:
        """Point tree t's root at `state`, searched under move `filters`; keeps the subtree of the moves played
        since its last root (returns True when that subtree holds visits) or starts a fresh tree (False)."""
        self._check_state(state)
        key = (state.rules, tuple(state.setup_stones), tuple(state.moves), state.to_play, tuple(filters))
        with self._lock:
            tree = self.tree_arrays(t)
            node = self._reusable_node(t, key)
            if node is None:
                if self._root[t] is not None or tree.visits[ROOT] > 0:
                    reset(tree, int(self.rng.integers(2**62)))
            elif node != ROOT:
                spare = self._slots_free
                used = compact(tree, node, slot_view(self.forest, spare))
                self._slots_free = int(self._roots.trees[t, S.T_SLOT])
                self._roots.trees[t, S.T_SLOT] = spare
                if used > self.config.node_budget // 2:
                    reset(self.tree_arrays(t), int(self.rng.integers(2**62)))
            self._root[t] = key
            self._load_root(t, state, key[4])
            return node is not None and self.tree_arrays(t).visits[ROOT] > 0

    def _load_root(self, t: int, state: GameState, filters: tuple) -> None:
        keys = state.position_keys()
        if keys.size > self._roots.keys.shape[1]:
            grown = np.zeros((self.trees, 2 * keys.size), np.int64)
            grown[:, :self._roots.keys.shape[1]] = self._roots.keys
            self._roots = self._roots._replace(keys=grown)
            self._new_step_arrays()
        self._roots.keys[t, :keys.size] = keys
        self._roots.trees[t, S.T_KEYS] = keys.size
        self._roots.trees[t, S.T_KO] = KO_MODES[state.rules.ko]
        self._roots.trees[t, S.T_SCORING] = K.SCORING_MODES[state.rules.scoring]
        self._roots.tree_f[t, S.TF_KOMI] = self._komi[t] = float(state.rules.komi)
        self._roots.b[t] = state.b
        self._roots.m[t] = state.m
        self._roots.trees[t, S.T_BANS] = bool(filters)
        if filters:
            self._roots.bans[t] = ban_table(filters, self.size)
        if self.history_length:
            self._roots.hist[t] = state.position_history(self.history_length)

    # ----------------------------------------------------------------- searching
    def begin(self, state: GameState, simulations: int, t: int = 0, noise: bool = True,
              filters: Sequence[MoveFilter] = ()) -> bool:
        """Start a search of `simulations` simulations of tree t on `state` under move `filters` (re-rooted,
        see set_root); with `noise`, Dirichlet noise (config.dirichlet_epsilon > 0) or Gumbel noise as
        configured. Returns set_root's answer."""
        if simulations <= 0:
            raise SearchConfigError(f"simulations must be > 0, got {simulations!r}")
        reused = self.set_root(state, t, filters)
        cfg = self.config
        moves = self.size * self.size + 1
        self._roots.trees[t, S.T_LEFT] = simulations
        self._roots.trees[t, S.T_DONE] = 0
        self._roots.trees[t, S.T_HALVING] = 0
        self._roots.trees[t, S.T_STEP] = 0
        eps = cfg.dirichlet_epsilon if noise and cfg.root == "puct" else 0.0
        self._roots.tree_f[t, S.TF_NOISE] = eps
        if eps > 0:  # Dirichlet(alpha) over the root's children = their normalised Gamma(alpha) draws
            self._roots.rows[t, S.R_NOISE] = self.rng.gamma(cfg.dirichlet_alpha, size=moves)
        if cfg.root == "gumbel":
            scale = cfg.gumbel_scale if noise else 0.0
            self._roots.rows[t, S.R_GUMBEL] = self.rng.gumbel(size=moves) * scale if scale > 0 else 0.0
            self._roots.base[t] = self.visit_counts(t)
        tree = self.tree_arrays(t)
        if tree.first_child[ROOT] != UNEXPANDED:
            S.prepare_root(tree, t, self._roots, self._params)
        return reused

    def searching(self, t: int = 0) -> bool:
        """Whether tree t's search still has simulations to run."""
        return bool(self._roots.trees[t, S.T_LEFT] > 0)

    def done_simulations(self, t: int = 0) -> int:
        """Simulations run by tree t's current (or last) search."""
        return int(self._roots.trees[t, S.T_DONE])

    def full(self, t: int = 0) -> bool:
        """Whether tree t ran out of nodes."""
        return bool(self.forest.meta[self._roots.trees[t, S.T_SLOT], META_FULL])

    def step(self) -> int:
        """One gather / evaluate / back-up round over every tree still searching; returns leaves evaluated."""
        count = self._advance(0, None, None, gather=True)
        if count:
            priors, values = self._evaluate(count)
            self._advance(count, priors, values, gather=False)
        return count

    def search(self, state: GameState, simulations: int | None = None, seconds: float | None = None,
               t: int = 0, filters: Sequence[MoveFilter] = ()) -> SearchResult:
        """Search `state` with tree t for `simulations` simulations (default config.simulations; UNLIMITED until
        stopped), at most `seconds` of wall time, until `stop()` or until the node budget is used up, never
        exploring the moves `filters` ban (rlgo.search.filters).

        At least one step always runs, so the root has children afterwards.
        """
        simulations = self.config.simulations if simulations is None else simulations
        if seconds is not None and not seconds > 0:
            raise SearchConfigError(f"seconds must be > 0, got {seconds!r}")
        self._stop.clear()
        start = time.perf_counter()
        deadline = None if seconds is None else start + seconds
        self.begin(state, simulations, t, filters=filters)
        reason = "simulations"
        count = self._advance(0, None, None, gather=True)
        while True:
            priors, values = self._evaluate(count) if count else (None, None)
            if self._stop.is_set():
                reason = "stopped"
            elif deadline is not None and time.perf_counter() >= deadline:
                reason = "time"
            if count:
                count = self._advance(count, priors, values, gather=reason == "simulations")
            elif reason == "simulations" and self.searching(t):  # a gather of finished games only
                count = self._advance(0, None, None, gather=True)
            else:
                break
        if self.full(t) and reason == "simulations" and self.done_simulations(t) < simulations:
            reason = "full"
        self._roots.trees[t, S.T_LEFT] = 0
        return SearchResult(self.done_simulations(t), time.perf_counter() - start, reason)

    # ----------------------------------------------------------------- reading a root
    def _children(self, t: int):
        """(tree, moves, visits, value sums, priors) of tree t's root children (empty arrays before expansion)."""
        tree = self.tree_arrays(t)
        first = int(tree.first_child[ROOT])
        kids = slice(0, 0) if first == UNEXPANDED else slice(first, first + int(tree.num_children[ROOT]))
        return (tree, tree.move[kids].astype(np.int64), tree.visits[kids].astype(np.int64), tree.value_sum[kids],
                tree.prior[kids])

    def root_value(self, t: int = 0) -> float:
        """Mean value in [-1, 1] of tree t's root for its side to move (0 before any search)."""
        tree = self.tree_arrays(t)
        n = tree.visits[ROOT]
        return float(-tree.value_sum[ROOT] / n) if n else 0.0

    def root_score(self, t: int = 0) -> tuple[float, float] | None:
        """(mean, standard deviation) of the final margin in points over tree t's simulations, for the root's
        side to move; None when the search keeps no scores or has not run."""
        tree = self.tree_arrays(t)
        n = int(tree.visits[ROOT])
        if not self.scores or n == 0:
            return None
        return _mean_stdev(-tree.score_sum[ROOT], tree.score_sq[ROOT], n)

    def root_visits(self, t: int = 0) -> int:
        """Simulations through the root (including those kept from earlier searches)."""
        return int(self.tree_arrays(t).visits[ROOT])

    def visit_counts(self, t: int = 0) -> np.ndarray:
        """int64 [N*N+1]: visits of each root move (0 for moves not in the tree)."""
        out = np.zeros(self.size * self.size + 1, np.int64)
        _, moves, visits, _, _ = self._children(t)
        out[moves] = visits
        return out

    def resign_value(self, t: int = 0) -> float:
        """max(root value, most visited child's value) for the side to move, in [-1, 1] (AlphaGo Zero's
        resign test: both must be bad)."""
        _, _, visits, sums, _ = self._children(t)
        if not visits.size or visits.max() == 0:
            return self.root_value(t)
        best = int(np.argmax(visits))
        return max(self.root_value(t), float(sums[best] / visits[best]))

    def policy_target(self, t: int = 0) -> np.ndarray:
        """float32 [N*N+1]: the training target of tree t's search: the root visit distribution (PUCT),
        or the improved policy softmax(logits + sigma(completed Q)) (Gumbel)."""
        out = np.zeros(self.size * self.size + 1, np.float32)
        tree, moves, visits, _, _ = self._children(t)
        if not moves.size:
            return out
        if self.config.root == "gumbel":
            weights = np.zeros(moves.size, np.float64)
            improved_policy(tree, ROOT, self.config.c_visit, self.config.c_scale, weights)
        else:
            weights = visits / max(visits.sum(), 1)
        out[moves] = weights
        return out

    def gumbel_noise(self, t: int = 0) -> np.ndarray:
        """float32 [N*N+1]: the Gumbel draws g of tree t's current search, by move (Gumbel root)."""
        return self._roots.rows[t, S.R_GUMBEL].copy()

    def choose_move(self, t: int = 0, proportional: bool = False, allow_pass: bool = True) -> int:
        """Tree t's move: the most visited root move, or one drawn in proportion to visits.

        The one tie break: higher mean value, then higher prior, then the child order (shuffled at
        expansion). The Gumbel root plays its sequential-halving winner (most visits of this search,
        then the highest g + logits + sigma(q)) and ignores `proportional`. `allow_pass=False` leaves
        pass out unless it is the only root move. Pass when the root has no children.
        """
        tree, moves, visits, sums, priors = self._children(t)
        if not moves.size:
            return self.size * self.size
        keep = np.ones(moves.size, bool)
        if not allow_pass and moves.size > 1:
            keep = moves != self.size * self.size
        if self.config.root == "gumbel":
            scores = np.zeros(moves.size, np.float64)
            fresh = visits - self._roots.base[t, moves]
            root_scores(tree, self._roots.rows[t, S.R_GUMBEL], self._roots.base[t], int(fresh[keep].max()), False,
                        self.config.c_visit, self.config.c_scale, scores)
            scores[~keep] = -np.inf
            if np.isfinite(scores).any():
                return int(moves[int(np.argmax(scores))])
        visits = np.where(keep, visits, 0)
        if proportional and visits.sum() > 0:
            return int(self.rng.choice(moves, p=visits / visits.sum()))
        q = np.where(visits > 0, sums / np.maximum(visits, 1), -2.0)
        order = np.lexsort((priors, q, visits, keep))
        return int(moves[order[-1]])

    def candidates(self, limit: int = 10, pv_length: int = 12, t: int = 0) -> list[Candidate]:
        """Visited root moves, most visited first, with win rates and principal variations (thread-safe)."""
        with self._lock:
            tree = self.tree_arrays(t)
            first = int(tree.first_child[ROOT])
            count = 0 if first == UNEXPANDED else int(tree.num_children[ROOT])
            kids = [first + k for k in range(count) if tree.visits[first + k] > 0]
            kids.sort(key=lambda ch: (-int(tree.visits[ch]), -float(tree.prior[ch])))
            out = []
            for ch in kids[:limit]:
                n = int(tree.visits[ch])
                q = tree.value_sum[ch] / n
                score = _mean_stdev(tree.score_sum[ch], tree.score_sq[ch], n) if self.scores else (None, None)
                score = score if n > 1 else (score[0], None)
                out.append(Candidate(int(tree.move[ch]), n, float((q + 1) / 2), float(tree.prior[ch]),
                                     self._pv(tree, ch, pv_length), *score))
            return out

    # ----------------------------------------------------------------- internals
    def _check_state(self, state: GameState) -> None:
        if state.size != self.size:
            raise BoardSizeError(f"position is {state.size}x{state.size}, search was made for "
                                 f"{self.size}x{self.size}")
        if state.is_over:
            raise SearchError("cannot search a finished game")

    def _reusable_node(self, t: int, key: tuple) -> int | None:
        """Tree node of position `key` if tree t's root is an earlier position of the same game."""
        root = self._root[t]
        if root is None or key[:2] != root[:2] or key[4] != root[4]:
            return None
        old, new = root[2], key[2]
        if new[:len(old)] != old or (key[4] and new != old):
            return None  # filters count plies from the root they were given for
        color = root[3]
        points = np.zeros(len(new) - len(old), np.int64)
        for i, (c, point) in enumerate(new[len(old):]):
            if c != color:
                return None  # a move out of turn: the tree never contains it
            points[i] = point
            color = 3 - color
        if color != key[3]:
            return None  # side to move changed by hand
        node = int(descend_moves(self.tree_arrays(t), points, len(points)))
        return None if node < 0 else node

    def _new_step_arrays(self) -> None:
        """(Re)bind the StepArrays and advance's compiled entry for their types (rlgo.search.entry)."""
        self._step_arrays = S.step_arrays(self.forest, self._roots, self._params, self._leaves, self._amaf,
                                          self._score)
        self._step = compiled_entry(S.advance, self._step_arrays, 0, self._no_priors, self._no_values, True)

    def _advance(self, count: int, priors, values, gather: bool) -> int:
        """advance through its compiled entry: priors and values come from check_outputs (float32,
        C-contiguous, the right shapes) or are the empty ones, so their types are those it was made for."""
        if priors is None:
            priors, values = self._no_priors, self._no_values
        with self._lock:
            n = self._step(self._step_arrays, count, priors, values, gather)
        if n < 0:
            raise EvaluatorError("evaluator returned non-finite priors or values")
        return n

    def _evaluate(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(priors, values) of the rows gathered, one evaluator call per run of rows of one evaluator."""
        if len(self.evaluators) == 1:
            return self._evaluate_rows(0, 0, count)
        owner = self.evaluator_of[self._leaves.rows[:count, 0]]
        cuts = [0, *(np.flatnonzero(owner[1:] != owner[:-1]) + 1).tolist(), count]
        if len(cuts) == 2:
            return self._evaluate_rows(int(owner[0]), 0, count)
        priors = np.empty((count, self.size * self.size + 1), np.float32)
        values = np.empty(count, np.float32)
        for start, stop in zip(cuts[:-1], cuts[1:]):
            priors[start:stop], values[start:stop] = self._evaluate_rows(int(owner[start]), start, stop)
        return priors, values

    def _evaluate_rows(self, k: int, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Evaluator k on rows start:stop (one LeafBatch of views per row span, made once)."""
        ev = self.evaluators[k]
        komi = self._komi[self._leaves.rows[start, 0]]
        batch = self._batches.get((k, start, stop))
        if batch is None or batch.komi != komi:
            planes = self._planes[ev.feature_set][start:stop] if ev.feature_set is not None else None
            rows, leaves = slice(start, stop), self._leaves
            batch = LeafBatch(size=self.size, b=leaves.b[rows], m=leaves.m[rows], legal=leaves.legal[rows],
                              history=leaves.hist[rows], planes=planes, zob=self._roots.zob, komi=komi,
                              amaf=self._amaf[rows], score=self._score[rows] if self.scores else None)
            self._batches[(k, start, stop)] = batch
        if batch.planes is not None:
            features.batch_kernel(ev.feature_set)(batch.b, batch.m, batch.history, batch.planes)
        if self._amaf.shape[1]:
            batch.amaf[:] = 0
        priors, values = ev.evaluate(batch)
        return check_outputs(priors, values, stop - start, self.size * self.size + 1)

    @staticmethod
    def _pv(tree, node: int, length: int) -> list[int]:
        pv = [int(tree.move[node])]
        while len(pv) < length and tree.first_child[node] != UNEXPANDED:
            first, count = int(tree.first_child[node]), int(tree.num_children[node])
            child = first + int(np.argmax(tree.visits[first:first + count]))
            if tree.visits[child] == 0:
                break
            pv.append(int(tree.move[child]))
            node = child
        return pv


def _mean_stdev(total: float, squares: float, n: int) -> tuple[float, float]:
    """(mean, standard deviation) of n samples from their sum and sum of squares."""
    mean = float(total) / n
    return mean, float(np.sqrt(max(float(squares) / n - mean * mean, 0.0)))
