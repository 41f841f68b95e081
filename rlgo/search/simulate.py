"""Numba kernels that walk the trees on real positions: gather a batch of leaves, apply their results.

One call covers every tree of a search, its arguments in named groups (the Forest, the trees'
Roots, the batch of Leaves, the evaluator's Results), so a step over 64 self-play games or over
one agent's tree is the same code.

A simulation copies the root board (b, m), descends by the selection rule playing each
child's move (rlgo.go.legal.play_point), and stops at an unexpanded node. Tree moves obey the
root's ko rule: simple ko always, and for superko the position key after a move must be
neither among the root game's keys (Roots.keys, sorted) nor on the path. A node
reached by two passes in a row is terminal and scored exactly under the root game's scoring (area, or
territory plus prisoners; komi included, no dead stones removed): no evaluator. A tree with move
filters (rlgo.search.filters, Roots.bans) leaves the banned moves out of every expansion within
their plies.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, types
from numba.experimental import structref

from rlgo.go.kernels import BLACK, COL, M_HASH, M_PASSES, M_TOPLAY, counts
from rlgo.go.legal import legal_moves, play_point, position_key
from rlgo.search.gumbel import considered_visits, select_interior, select_root
from rlgo.search.borrow import borrowed
from rlgo.search.tree import (
    NO_NODE, ROOT, UNEXPANDED, Forest, add_virtual_loss, backup, expand, find_child, select_child, tree_view,
    update_amaf,
)


@njit(cache=True)
def terminal_margin(b, m, komi, scoring):
    """Exact final margin in points (komi included) for the side to move of a finished position, under
    `scoring` (rlgo.go.kernels.SCORING_MODES: area, or territory with the prisoners taken)."""
    black, white = counts(b, m, scoring)
    score = black - white - komi
    return score if m[M_TOPLAY] == BLACK else -score


@njit(cache=True)
def apply_bans(legal, until, ply):
    """Leave out of legal bool [N*N+1] every move whose ban lasts through `ply` (until int32 [N*N+1], see
    rlgo.search.filters.ban_table); pass stays when nothing else is left."""
    left = 0
    for p in range(legal.shape[0]):
        if legal[p] and ply <= until[p]:
            legal[p] = False
        left += legal[p]
    if left == 0:
        legal[-1] = True



# columns of the per-tree state table Roots.trees int64 [T, TREE_COLUMNS]
T_SLOT = 0      # Forest slot holding the tree
T_LEFT = 1      # simulations still to start in the current search (0: not searching)
T_KO = 2        # ko mode of the root's game (rlgo.go.legal.KO_MODES)
T_KEYS = 3      # number of root superko keys in Roots.keys[t]
T_HALVING = 4   # length n of the Gumbel halving schedule in Roots.schedule[t] (0: none yet)
T_STEP = 5      # simulations started below the root since the schedule was made
T_DONE = 6      # simulations done in the current search (leaves + terminals)
T_SCORING = 7   # scoring of the root's game (rlgo.go.kernels.SCORING_MODES)
T_BANS = 8      # 1: Roots.bans[t] holds move filters for this search
TREE_COLUMNS = 9
# columns of Roots.tree_f float64 [T, 2]
TF_KOMI, TF_NOISE = 0, 1
# rows of Roots.rows float32 [T, 2, N*N+1], indexed by move
R_NOISE, R_GUMBEL = 0, 1
# entries of params float64 [12]: the search settings shared by every tree
P_UCT, P_C, P_FPU, P_RAVE, P_PRUNE, P_EXPAND, P_ALL_LEGAL, P_LEAVES, P_GUMBEL, P_M, P_CVISIT, P_CSCALE = range(12)
PARAMS = 12

Roots = namedtuple("Roots", ["trees", "tree_f", "b", "m", "zob", "keys", "hist", "rows", "base", "schedule",
                             "bans"])
"""What each tree t of a search starts from and how far it got (one Numba argument).

trees int64 [T, TREE_COLUMNS] (columns T_*), tree_f float64 [T, 2] (TF_*), the root position
b int32 [T, 7, A] and m int64 [T, NMETA], zob int64 [3, A] (the board size's Zobrist table),
keys int64 [T, K] (the root game's superko keys, sorted, keys[t, :trees[t, T_KEYS]]), hist int8
[T, H, A] (colour rows of the game before the root: [t, j] j moves earlier), rows float32
[T, 2, N*N+1] (R_*: Dirichlet and Gumbel draws by move), base int32 [T, N*N+1 or 1] (visits
before this search, Gumbel), schedule int32 [T, S] (Gumbel halving schedule), bans int32
[T, 2, N*N+1] (rlgo.search.filters.ban_table of the search's filters, read when trees[t, T_BANS]).
"""

Leaves = namedtuple("Leaves", ["rows", "b", "m", "legal", "hist", "path_keys", "ring", "scratch", "moves",
                               "move_priors"])
"""The batch a gather fills, row r per leaf (one Numba argument).

rows int32 [R, 2] (tree, node), b int32 [R, 7, A], m int64 [R, NMETA], legal bool [R, N*N+1]
(computed when params[P_ALL_LEGAL] or the leaf reaches expand_visits now; else pass only), hist
int8 [R, H, A] (colour rows: [r, 0] the leaf, [r, j] j moves earlier). Scratch, so that a step
allocates nothing: path_keys int64 [D] (the superko keys along a descent), ring int8 [max(H, 1), A]
(its last colour rows), scratch float64 [N*N+1] (Gumbel scores), moves int64 and move_priors
float32 [N*N+1] (an expansion's children).
"""

Results = namedtuple("Results", ["priors", "values", "amaf", "score"])
"""The evaluator's answer for the gathered rows: priors float32 [R, N*N+1], values float32 [R] (side
to move at each leaf), amaf int8 [R, N*N] (rollout first-play colours for RAVE, or [R, 0]), score
float32 [R, 2] (mean final margin in points and its mean square, side to move; or [R, 0] when the
trees keep no scores)."""


TERMINALS_PER_GATHER = 256
"""Finished games (two passes) one gather backs up per tree at most before it returns: with no
simulation limit (a search by time) and every descent ending in a finished game, the gather would
otherwise never return to the caller's clock."""


@njit(cache=True, inline="always")
def _started(trees, ti, below_root):
    trees[ti, T_LEFT] -= 1
    trees[ti, T_DONE] += 1
    if below_root and trees[ti, T_HALVING] > 0:
        trees[ti, T_STEP] += 1


@njit(cache=True, inline="always")
def _select(t, node, ti, roots, params, noise, scratch):
    """The child of `node` that the search descends to (PUCT / UCB1 with root noise, or the Gumbel rules);
    noise = roots.rows[ti, R_NOISE]. Inlined: a call would move every array's reference count per ply."""
    trees = roots.trees
    if params[P_GUMBEL] > 0:
        if node != ROOT:
            return select_interior(t, node, params[P_CVISIT], params[P_CSCALE], scratch)
        n = trees[ti, T_HALVING]
        considered = roots.schedule[ti, min(trees[ti, T_STEP], n - 1)] if n > 0 and trees[ti, T_STEP] < n else -1
        return select_root(t, roots.rows[ti, R_GUMBEL], roots.base[ti], considered, params[P_CVISIT],
                           params[P_CSCALE], scratch)
    eps = roots.tree_f[ti, TF_NOISE] if node == ROOT else 0.0
    return select_child(t, node, params[P_UCT] > 0, params[P_C], params[P_FPU], params[P_RAVE], noise, eps)


@njit(cache=True)
def gather_leaves(forest, roots, params, leaves):
    """Descend in every tree with simulations left (Roots), collecting up to params[P_LEAVES] distinct
    leaves per tree (1 while its root is unexpanded) into the rows of `leaves`; returns the row count.

    Tree t searches roots.b[t], roots.m[t] under its ko mode and superko keys and komi
    tree_f[t, TF_KOMI]; roots.hist[t] continues the leaves' history into the game. Leaves get
    virtual loss; terminal positions (two passes) are backed up at once with their exact result
    under the game's scoring. A descent ending on a leaf already in the batch is dropped; after as
    many such collisions as leaves wanted the tree's turn ends.
    """
    trees, zob, path_keys = roots.trees, roots.zob, leaves.path_keys
    out_hist = leaves.hist
    k_hist = out_hist.shape[1]
    ring, scratch = leaves.ring, leaves.scratch
    want_leaves = int(params[P_LEAVES])
    expand_visits = int(params[P_EXPAND])
    n_rows = 0
    for ti in range(trees.shape[0]):
        if trees[ti, T_LEFT] <= 0:
            continue
        t = tree_view(forest.nodes, forest.scores, forest.meta, trees[ti, T_SLOT])
        want = 1 if t.first_child[ROOT] == UNEXPANDED else want_leaves
        keys = roots.keys[ti, :trees[ti, T_KEYS]]
        noise = roots.rows[ti, R_NOISE]
        ko_mode = trees[ti, T_KO]
        got = 0
        collisions = 0
        terminals = 0  # bounded, so that a search whose descents all end in finished games still returns
        while (got < want and collisions < want and terminals < TERMINALS_PER_GATHER and trees[ti, T_LEFT] > 0
               and n_rows < leaves.rows.shape[0]):
            b = leaves.b[n_rows]
            m = leaves.m[n_rows]
            b[:] = roots.b[ti]
            m[:] = roots.m[ti]
            node = ROOT
            depth = 0
            path_keys[0] = position_key(m[M_HASH], m[M_TOPLAY], ko_mode, zob)
            if k_hist > 0:
                ring[0] = b[COL]
            while t.first_child[node] != UNEXPANDED and m[M_PASSES] < 2:
                node = _select(t, node, ti, roots, params, noise, scratch)
                play_point(b, m, zob, t.move[node])
                depth += 1
                path_keys[depth] = position_key(m[M_HASH], m[M_TOPLAY], ko_mode, zob)
                if k_hist > 0:
                    ring[depth % k_hist] = b[COL]
            if m[M_PASSES] >= 2:
                margin = terminal_margin(b, m, roots.tree_f[ti, TF_KOMI], trees[ti, T_SCORING])
                backup(t, node, 1.0 if margin > 0 else -1.0 if margin < 0 else 0.0, margin, margin * margin, False)
                _started(trees, ti, depth > 0)
                terminals += 1
                continue
            if t.virtual_loss[node] > 0:
                collisions += 1
                continue
            add_virtual_loss(t, node)
            leaves.rows[n_rows, 0] = ti
            leaves.rows[n_rows, 1] = node
            legal = leaves.legal[n_rows]
            if params[P_ALL_LEGAL] > 0 or t.visits[node] + 1 >= expand_visits:
                legal_moves(b, m, zob, keys, path_keys, depth, ko_mode, params[P_PRUNE] > 0, legal)
                if trees[ti, T_BANS]:
                    apply_bans(legal, roots.bans[ti, 0 if m[M_TOPLAY] == BLACK else 1], depth + 1)
            else:  # the leaf gets no children this time: its priors are not used
                legal[:] = False
                legal[-1] = True
            for j in range(k_hist):
                if j <= depth:
                    out_hist[n_rows, j] = ring[(depth - j) % k_hist]
                else:
                    out_hist[n_rows, j] = roots.hist[ti, j - depth]
            n_rows += 1
            got += 1
            _started(trees, ti, depth > 0)
    return n_rows


@njit(cache=True)
def amaf_backup(t, leaf, first_player, color, value):
    """RAVE statistics of one simulation, from `leaf` (side to move `color`, `value` for it) to the root.

    first_player int8 [N*N]: who played each point first in the rollout; the tree moves of the
    path are written into it on the way up (an earlier move overrides a later one).
    """
    node = leaf
    update_amaf(t, node, first_player, color, value)
    while node != ROOT:
        mover = 3 - color
        move = t.move[node]
        if move < first_player.shape[0]:
            first_player[move] = mover
        node = t.parent[node]
        color = mover
        value = -value
        update_amaf(t, node, first_player, color, value)


@njit(cache=True)
def prepare_root(t, ti, roots, params):
    """Once tree ti's root has children: normalise its noise over them and make its Gumbel schedule
    for the simulations left (k = min(m, children) considered actions)."""
    trees = roots.trees
    first = t.first_child[ROOT]
    count = t.num_children[ROOT]
    if roots.tree_f[ti, TF_NOISE] > 0:
        noise = roots.rows[ti, R_NOISE]
        total = 0.0
        for ch in range(first, first + count):
            total += noise[t.move[ch]]
        for ch in range(first, first + count):
            noise[t.move[ch]] = noise[t.move[ch]] / total if total > 0 else 1.0 / count
    if params[P_GUMBEL] > 0:
        n = min(trees[ti, T_LEFT], roots.schedule.shape[1])
        considered_visits(min(int(params[P_M]), count), n, roots.schedule[ti])
        trees[ti, T_HALVING] = n
        trees[ti, T_STEP] = 0


@njit(cache=True)
def apply_results(forest, roots, params, leaves, count, results):
    """Expand the leaves of leaves.rows[:count] that reached expand_visits (children = legal moves,
    priors renormalised), record their values as raw_value, back up the values (clipped to [-1, 1]),
    remove their virtual loss and, with RAVE, back up AMAF statistics (Results).

    A tree whose leaf finds no room for children stops its search (T_LEFT = 0, META_FULL set).
    Returns -1, changing nothing, when some prior or value is not finite; else 0.
    """
    priors, values, amaf, score = results.priors, results.values, results.amaf, results.score
    scored = score.shape[1] > 0
    for i in range(count):
        if not np.isfinite(values[i]):
            return -1
        for j in range(priors.shape[1]):
            if not np.isfinite(priors[i, j]):
                return -1
    trees, legal = roots.trees, leaves.legal
    moves, move_priors = leaves.moves, leaves.move_priors
    expand_visits = int(params[P_EXPAND])
    t = tree_view(forest.nodes, forest.scores, forest.meta, trees[leaves.rows[0, 0], T_SLOT])
    for i in range(count):
        ti = leaves.rows[i, 0]
        leaf = leaves.rows[i, 1]
        if i > 0 and ti != leaves.rows[i - 1, 0]:  # a gather's rows come tree by tree: one view per tree
            t = tree_view(forest.nodes, forest.scores, forest.meta, trees[ti, T_SLOT])
        value = min(max(values[i], -1.0), 1.0)
        t.raw_value[leaf] = value
        if t.first_child[leaf] == UNEXPANDED and t.visits[leaf] + 1 >= expand_visits:
            k = 0
            for point in range(legal.shape[1]):
                if legal[i, point]:
                    moves[k] = point
                    move_priors[k] = max(priors[i, point], 0.0)
                    k += 1
            if not expand(t, leaf, moves, move_priors, k):
                trees[ti, T_LEFT] = 0
            elif leaf == ROOT:
                prepare_root(t, ti, roots, params)
        if scored:
            backup(t, leaf, value, score[i, 0], score[i, 1], True)
        else:
            backup(t, leaf, value, 0.0, 0.0, True)
        if amaf.shape[1] > 0:
            amaf_backup(t, leaf, amaf[i], leaves.m[i, M_TOPLAY], value)
    return 0


@structref.register
class _StepArraysType(types.StructRef):
    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class StepArrays(structref.StructRefProxy):
    """Every array a search step uses but the evaluator's priors and values, in one Numba argument: the
    Forest, the Roots (fields root_*), params, the Leaves (fields leaf_*) and the Results' amaf and score.
    It holds the arrays themselves (no copies), so what Python writes into them the step sees; an array
    replaced by a new one needs a new StepArrays (step_arrays)."""


STEP_FIELDS = (*Forest._fields, *(f"root_{f}" for f in Roots._fields), "params", *(f"leaf_{f}" for f in Leaves._fields),
               "amaf", "score")
structref.define_proxy(StepArrays, _StepArraysType, list(STEP_FIELDS))


def step_arrays(forest: Forest, roots: Roots, params: np.ndarray, leaves: Leaves, amaf: np.ndarray,
                score: np.ndarray) -> StepArrays:
    """The StepArrays of a search's groups."""
    return StepArrays(*forest, *roots, params, *leaves, amaf, score)


@njit(cache=True)
def advance(s, count, priors, values, gather):
    """One search step in one call on StepArrays `s`: apply the Results of the `count` rows gathered last
    (priors, values; see apply_results), then, when `gather`, collect the next batch into the Leaves
    (gather_leaves). Returns the new row count, 0 when nothing was gathered, or -1 for non-finite evaluator
    outputs.

    One argument for all the arrays: Numba's dispatch costs about 0.1 us per array argument, a step at
    batch 1 about 10 us in all.
    """
    forest = Forest(borrowed(s.nodes), borrowed(s.scores), borrowed(s.meta))
    roots = Roots(borrowed(s.root_trees), borrowed(s.root_tree_f), borrowed(s.root_b), borrowed(s.root_m),
                  borrowed(s.root_zob), borrowed(s.root_keys), borrowed(s.root_hist), borrowed(s.root_rows),
                  borrowed(s.root_base), borrowed(s.root_schedule), borrowed(s.root_bans))
    leaves = Leaves(borrowed(s.leaf_rows), borrowed(s.leaf_b), borrowed(s.leaf_m), borrowed(s.leaf_legal),
                    borrowed(s.leaf_hist), borrowed(s.leaf_path_keys), borrowed(s.leaf_ring),
                    borrowed(s.leaf_scratch), borrowed(s.leaf_moves), borrowed(s.leaf_move_priors))
    params = borrowed(s.params)
    if count and apply_results(forest, roots, params, leaves, count,
                               Results(borrowed(priors), borrowed(values), borrowed(s.amaf), borrowed(s.score))) < 0:
        return -1
    if not gather:
        return 0
    return gather_leaves(forest, roots, params, leaves)


@njit(cache=True)
def descend_moves(t, points, count):
    """The node reached from the root by points[:count], or NO_NODE if the tree stops earlier."""
    node = ROOT
    for i in range(count):
        node = find_child(t, node, points[i])
        if node == NO_NODE:
            break
    return node
