"""Many games' tree searches stepped together, so that every network call is one batch.

A `GameSearch` is one game (a GameState) with one tree per network that plays in it: one
in self-play, two in a match. `BatchedSearch.step` gathers leaves from every game whose
search still needs simulations (rlgo.search.simulate.gather_leaves, virtual loss within a
tree), encodes them, evaluates them with one call per network, and backs them up
(apply_results). Trees are kept between moves and re-rooted on the move played.
Selection, expansion and back-up are rlgo.search's Numba kernels; this module only batches
across trees.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from rlgo.go import features, kernels as K
from rlgo.go.state import BLACK, GameState
from rlgo.search.evaluator import check_outputs, encode_planes
from rlgo.search.simulate import KO_MODES, apply_results, gather_leaves
from rlgo.search.tree import ROOT, UNEXPANDED, compact, find_child, new_tree, node_value, reset

Net = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""(planes float32 [B, C, N, N], legal bool [B, N*N+1]) -> (priors [B, N*N+1], values [B]), side to move."""


class GameSearch:
    """One game and its trees; the side to move's search runs until its root has `target` visits.

    `nets` = (network index for Black, for White); the same index twice shares one tree.
    """

    def __init__(self, state: GameState, nets: tuple[int, int], capacity: int, seed: int):
        self.state = state
        self.nets = nets
        self.trees = {net: new_tree(capacity, seed + i) for i, net in enumerate(sorted(set(nets)))}
        self.target = 0
        self.room = True
        self.noise_epsilon = 0.0
        self.keys = state.position_keys()
        self.hist = state.position_history(features.HISTORY_LENGTH)

    @property
    def net(self) -> int:
        """Index of the network searching for the side to move."""
        return self.nets[0] if self.state.to_play == BLACK else self.nets[1]

    @property
    def tree(self):
        """The tree of the side to move."""
        return self.trees[self.net]

    @property
    def done(self) -> bool:
        """Whether the current search has its simulations (or its tree is full)."""
        return not self.room or self.tree.visits[ROOT] >= self.target

    def children(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(moves, visits, value sums, priors) of the root's children (values for the side to move at the root)."""
        t = self.tree
        first = int(t.first_child[ROOT])
        if first == UNEXPANDED:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.float32)
        stop = first + int(t.num_children[ROOT])
        return (t.move[first:stop].astype(np.int64), t.visits[first:stop].astype(np.int64),
                t.value_sum[first:stop].copy(), t.prior[first:stop].copy())

    def visit_counts(self) -> np.ndarray:
        """int64 [N*N+1]: visits of each root move."""
        out = np.zeros(self.state.size ** 2 + 1, np.int64)
        moves, visits, _, _ = self.children()
        out[moves] = visits
        return out

    def root_value(self) -> float:
        """Mean search value of the root for the side to move, in [-1, 1]."""
        return float(node_value(self.tree, ROOT))

    def resign_value(self) -> float:
        """max(root value, most visited child's value) for the side to move (AlphaGo Zero's resign test)."""
        moves, visits, sums, _ = self.children()
        if not visits.size or visits.max() == 0:
            return self.root_value()
        best = int(np.argmax(visits))
        return max(self.root_value(), float(sums[best] / visits[best]))

    def choose(self, rng: np.random.Generator, proportional: bool, pass_guard: bool = False) -> int:
        """A move drawn in proportion to root visits, or the most visited (ties: higher value, then prior).

        `pass_guard`: no pass while the area count (komi included) is not in the mover's favour, since
        the opponent would pass back and win; the best other move is played instead, if there is one.
        """
        moves, visits, sums, priors = self.children()
        if pass_guard and self._count_for_mover() <= 0:
            keep = moves != self.state.pass_move
            if keep.any():
                moves, visits, sums, priors = moves[keep], visits[keep], sums[keep], priors[keep]
        if not visits.size:
            return self.state.pass_move
        if proportional and visits.sum() > 0:
            return int(rng.choice(moves, p=visits / visits.sum()))
        q = np.where(visits > 0, sums / np.maximum(visits, 1), -2.0)
        return int(moves[np.lexsort((priors, q, visits))[-1]])

    def _count_for_mover(self) -> float:
        score = self.state.area_score()
        return score if self.state.to_play == BLACK else -score


class BatchedSearch:
    """Steps the searches of many GameSearches together; `nets[k]` evaluates the leaves of network k."""

    def __init__(self, size: int, nets: Sequence[Net], rules, playouts: int, leaves_per_game: int,
                 max_games: int, c_puct: float = 1.5, fpu: float = 0.25, feature_set: str = "agz",
                 alpha: float = 0.3, seed: int = 0):
        self.size, self.nets, self.rules = size, list(nets), rules
        self.alpha = alpha
        self.leaves, self.c_puct, self.fpu = leaves_per_game, c_puct, fpu
        self.feature_set = feature_set
        self.ko_mode, self.komi = KO_MODES[rules.ko], float(rules.komi)
        n_moves, area = size * size + 1, (size + 2) ** 2
        # reused subtree <= capacity / 2 (see play), one search adds <= (playouts + leaves) * n_moves nodes
        self.capacity = 2 * (playouts + leaves_per_game) * n_moves + 1
        rows = max_games * leaves_per_game
        k = features.HISTORY_LENGTH
        self.leaf = np.zeros(rows, np.int32)
        self.b = np.zeros((rows, K.NROWS, area), np.int32)
        self.m = np.zeros((rows, K.NMETA), np.int64)
        self.legal = np.zeros((rows, n_moves), bool)
        self.hist = np.zeros((rows, k, area), np.int8)
        self.no_amaf = np.zeros((rows, 0), np.int8)  # no RAVE in network search
        self.ring = np.zeros((k, area), np.int8)
        self.path_keys = np.zeros(self.capacity + 1, np.int64)
        self.moves = np.zeros(n_moves, np.int64)
        self.move_priors = np.zeros(n_moves, np.float32)
        self.spare = new_tree(self.capacity)
        self.rng = np.random.default_rng(seed)

    def new_game(self, state: GameState, nets: tuple[int, int] = (0, 0), seed: int = 0) -> GameSearch:
        """A GameSearch for `state` with trees sized for this searcher."""
        return GameSearch(state, nets, self.capacity, seed)

    def begin(self, game: GameSearch, playouts: int, noise_epsilon: float = 0.0) -> None:
        """Start a search of `playouts` new simulations for the side to move (root noise if epsilon > 0)."""
        game.keys = game.state.position_keys()
        game.hist = game.state.position_history(features.HISTORY_LENGTH)
        game.target = int(game.tree.visits[ROOT]) + playouts
        game.room = True
        game.noise_epsilon = noise_epsilon
        if noise_epsilon > 0 and game.tree.first_child[ROOT] != UNEXPANDED:
            self._add_noise(game)

    def step(self, games: Sequence[GameSearch]) -> int:
        """One gather / evaluate / back-up round over the games still searching; returns leaves evaluated."""
        spans, n = [], 0
        for g in games:
            if g.done:
                continue
            t, st = g.tree, g.state
            want = 1 if t.first_child[ROOT] == UNEXPANDED else self.leaves
            count, _ = gather_leaves(
                t, st.b, st.m, st.zob, g.keys, g.hist, ko_mode=self.ko_mode, komi=self.komi, use_uct=False,
                c=self.c_puct, fpu=self.fpu, rave=0.0, prune_eyes=False, expand_visits=1, all_legal=True,
                max_leaves=want, max_sims=min(want, g.target - int(t.visits[ROOT])), path_keys=self.path_keys,
                ring=self.ring, out_leaf=self.leaf[n:], out_b=self.b[n:], out_m=self.m[n:],
                out_legal=self.legal[n:], out_hist=self.hist[n:])
            spans.append((g, n, count))
            n += count
        if n:
            priors, values = self._evaluate(n, np.repeat([g.net for g, _, c in spans], [c for _, _, c in spans]))
            for g, start, count in spans:
                if count:
                    stop = start + count
                    room = apply_results(g.tree, self.leaf[start:stop], count, self.legal[start:stop],
                                         priors[start:stop], values[start:stop], colors=self.m[start:stop, K.M_TOPLAY],
                                         amaf=self.no_amaf[start:stop], expand_visits=1, moves=self.moves,
                                         move_priors=self.move_priors)
                    g.room = g.room and bool(room)
        for g, _, _ in spans:
            if g.noise_epsilon > 0 and g.tree.first_child[ROOT] != UNEXPANDED:
                self._add_noise(g)
        return n

    def play(self, game: GameSearch, move: int) -> None:
        """Play `move` in the game and re-root every tree on it (a fresh tree where it was not searched)."""
        game.state.play(move)
        for net, tree in game.trees.items():
            child = find_child(tree, ROOT, move)
            if child < 0:
                reset(tree, int(self.rng.integers(2**62)))
                continue
            used = compact(tree, child, self.spare)
            game.trees[net], self.spare = self.spare, tree
            if used > self.capacity // 2:
                reset(game.trees[net], int(self.rng.integers(2**62)))

    # ----------------------------------------------------------------- internals
    def _evaluate(self, n: int, net_of_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        planes = encode_planes(self.feature_set, self.size, self.b[:n], self.m[:n], self.hist[:n])
        legal = self.legal[:n]
        moves = self.size * self.size + 1
        if (net_of_row == net_of_row[0]).all():
            return check_outputs(*self.nets[net_of_row[0]](planes, legal), n, moves)
        priors, values = np.empty((n, moves), np.float32), np.empty(n, np.float32)
        for k in np.unique(net_of_row):
            rows = np.flatnonzero(net_of_row == k)
            priors[rows], values[rows] = check_outputs(*self.nets[k](planes[rows], legal[rows]), rows.size, moves)
        return priors, values

    def _add_noise(self, game: GameSearch) -> None:
        """Mix Dirichlet(alpha) noise into the root priors of the side to move's tree (once per search)."""
        t = game.tree
        first, count = int(t.first_child[ROOT]), int(t.num_children[ROOT])
        eps = game.noise_epsilon
        noise = self.rng.dirichlet(np.full(count, self.alpha))
        t.prior[first:first + count] = (1 - eps) * t.prior[first:first + count] + eps * noise
        game.noise_epsilon = 0.0
