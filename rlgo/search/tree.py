"""The search tree: a preallocated array of node records and its Numba kernels (select, expand, back up).

Node i's statistics are record i of a Forest slot (NODE), seen by the kernels as index i of every
array of a `TreeArrays` (strided views of one field each); a node's children
are the contiguous block first_child[i] .. first_child[i] + num_children[i] - 1. Nothing
about positions is stored: the search replays the moves from the root.

Many trees live in one `Forest` (a leading slot axis on a few arrays, so that one Numba call
steps a whole batch of trees); the kernels below see one tree as TreeArrays views (`tree_view`).

Perspective: value_sum[i] sums values (in [-1, 1]) from the point of view of the player who
played move[i], i.e. the side to move at parent(i). So a parent compares its children by
value_sum[c] / visits[c] directly, and the root's value for its own side to move is
-value_sum[ROOT] / visits[ROOT].

Scores (searches whose evaluator reports final margins, e.g. rollouts): score_sum / score_sq sum
the margins in points and their squares with value_sum's perspective and sign flips, so a child's
mean margin is score_sum[c] / visits[c] for its parent's side to move. A search without scores
keeps them at zero length and the kernels skip them.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

ROOT = 0
"""Index of the root node."""
NO_NODE = -1
"""parent[] of the root."""
UNEXPANDED = -1
"""first_child[] of a node that has no children yet (unvisited, terminal, or below expand_visits)."""
NO_MOVE = -1
"""move[] of the root."""

# meta slots
META_USED, META_FULL, META_RNG = 0, 1, 2

TreeArrays = namedtuple("TreeArrays", [  # views of a Forest slot (tree_view)
    "visits",        # int32 [C]: completed simulations through the node
    "value_sum",     # float64 [C]: sum of backed-up values, perspective of the player of move[i]
    "prior",         # float32 [C]: prior probability of move[i] at the parent
    "first_child",   # int32 [C]: index of the first child or UNEXPANDED
    "num_children",  # int32 [C]: number of children
    "move",          # int32 [C]: point (N*N = pass) played to reach the node; NO_MOVE at the root
    "virtual_loss",  # int32 [C]: simulations in flight through the node
    "parent",        # int32 [C]: parent index, NO_NODE at the root
    "amaf_visits",   # int32 [C]: all-moves-as-first visits (RAVE): move[i] first played later by its player
    "amaf_sum",      # float32 [C]: sum of those simulations' values, same perspective as value_sum
    "raw_value",     # float32 [C]: the evaluator's value of the node's position, for its side to move
    "score_sum",     # float64 [C] or [0]: sum of backed-up final margins (points), perspective as value_sum
    "score_sq",      # float64 [C] or [0]: sum of their squares
    "meta",          # int64 [3]: nodes used, full flag, child-order random state
])

NODE = np.dtype([
    ("visits", np.int32), ("first_child", np.int32), ("num_children", np.int32), ("move", np.int32),
    ("virtual_loss", np.int32), ("parent", np.int32), ("amaf_visits", np.int32), ("prior", np.float32),
    ("amaf_sum", np.float32), ("raw_value", np.float32), ("value_sum", np.float64),
])
"""One node's record (48 bytes; the TreeArrays fields of those names, dtypes as there): a descent reads
one or two cache lines per node instead of one per statistic."""

# rows of Forest.scores
S_SUM, S_SQ = range(2)


class Forest(namedtuple("Forest", ["nodes", "scores", "meta"])):
    """Storage of many trees as a few arrays with a leading slot axis (a few arguments per Numba call).

    nodes NODE [S, C] (one record per node), scores float64 [S, 2, C] (rows S_*; [S, 2, 0] without
    scores), meta int64 [S, 3]. `tree_view` gives one slot as TreeArrays (strided views of the records).
    """

    __slots__ = ()


TOUCH_BYTES = 256 << 20
"""Arrays up to this size are touched when made; larger ones (pondering trees sized by free memory) are
left to the OS to zero page by page, since touching gigabytes takes seconds before the first simulation."""


def _touched(shape: tuple, dtype) -> np.ndarray:
    """A zeroed array whose memory pages are all touched now when it is at most TOUCH_BYTES: a page
    fault inside the search costs more than the search's own work on that page (12 us against 0.7 us
    per 80-child expansion)."""
    dtype = np.dtype(dtype)
    if np.prod(shape, dtype=np.int64) * dtype.itemsize > TOUCH_BYTES:
        return np.zeros(shape, dtype)
    out = np.empty(shape, dtype)
    out.reshape(-1).view(np.uint8).fill(0)
    return out


def new_forest(slots: int, capacity: int, scores: bool = False) -> Forest:
    """`slots` empty trees of `capacity` nodes each (memory touched at once; call reset before use), with
    score statistics when `scores`."""
    return Forest(_touched((slots, capacity), NODE), _touched((slots, 2, capacity if scores else 0), np.float64),
                  np.zeros((slots, 3), np.int64))


@njit(cache=True)
def tree_view(nodes, scores, meta, slot):
    """The tree in `slot` of a Forest's arrays as TreeArrays (views, no copy)."""
    n = nodes[slot]
    sc = scores[slot]
    return TreeArrays(n["visits"], n["value_sum"], n["prior"], n["first_child"], n["num_children"], n["move"],
                      n["virtual_loss"], n["parent"], n["amaf_visits"], n["amaf_sum"], n["raw_value"], sc[S_SUM],
                      sc[S_SQ], meta[slot])


def slot_view(forest: Forest, slot: int) -> TreeArrays:
    """Python-side TreeArrays views of one slot (for reading statistics)."""
    return tree_view(forest.nodes, forest.scores, forest.meta, slot)


def new_tree(capacity: int, seed: int = 0, scores: bool = False) -> TreeArrays:
    """A single tree with room for `capacity` nodes holding only an unexpanded root (score statistics
    when `scores`)."""
    tree = slot_view(new_forest(1, capacity, scores), 0)
    reset(tree, seed)
    return tree


def bytes_per_node(forest: Forest) -> int:
    """Memory of one node over all per-node arrays."""
    return forest.nodes.itemsize + (forest.scores.itemsize * 2 if forest.scores.shape[2] else 0)


@njit(cache=True, inline="always")
def _init_node(t, i, parent, move, prior):
    t.visits[i] = 0
    t.value_sum[i] = 0.0
    t.prior[i] = prior
    t.first_child[i] = UNEXPANDED
    t.num_children[i] = 0
    t.move[i] = move
    t.virtual_loss[i] = 0
    t.parent[i] = parent
    t.amaf_visits[i] = 0
    t.amaf_sum[i] = 0.0
    t.raw_value[i] = 0.0
    if t.score_sum.shape[0]:
        t.score_sum[i] = 0.0
        t.score_sq[i] = 0.0


@njit(cache=True)
def reset(t, seed):
    """Forget every node but a fresh root; reseed the child-order generator."""
    _init_node(t, ROOT, NO_NODE, NO_MOVE, 1.0)
    t.meta[META_USED] = 1
    t.meta[META_FULL] = 0
    t.meta[META_RNG] = seed


@njit(cache=True, inline="always")
def _splitmix(state):
    """One splitmix64 step: (next state, a random uint64), both uint64 (kept in registers by the caller)."""
    state = state + np.uint64(0x9E3779B97F4A7C15)
    z = (state ^ (state >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def node_value(t, node):
    """Mean value of `node` for its own side to move (0 when unvisited)."""
    if t.visits[node] == 0:
        return 0.0
    return -t.value_sum[node] / t.visits[node]


@njit(cache=True, inline="always")
def select_child(t, node, use_uct, c, fpu, rave, noise, eps):
    """The child maximising PUCT (or UCB1 when use_uct) with virtual loss counted as losses.

    PUCT: Q + c * P * sqrt(N) / (1 + n), an unvisited child's Q = parent's Q - fpu; with eps > 0
    P = (1 - eps) * prior + eps * noise[move] (root noise, float32 [N*N+1] by move; the stored
    priors stay clean).
    UCB1: Q + c * sqrt(ln N / n); children never tried go first, highest prior first. With
    rave = k > 0, Q is blended with the child's AMAF value by beta = sqrt(k / (3n + k)) and a
    child is "tried" once it has AMAF visits.

    PUCT below the root without noise scans only the children ever selected and the one after them
    (see _promote): every later child is unvisited with no higher prior, so none scores more.
    """
    parent_n = t.visits[node] + t.virtual_loss[node]
    scale = c * math.sqrt(max(parent_n, 1)) if not use_uct else 0.0
    log_n = math.log(max(parent_n, 1)) if use_uct else 0.0
    fpu_q = node_value(t, node) - fpu
    prefix = not use_uct and eps == 0 and node != ROOT
    first = t.first_child[node]
    end = first + t.num_children[node]
    best = first
    best_score = -np.inf
    for ch in range(first, end):
        vl = t.virtual_loss[ch]
        n = t.visits[ch] + vl
        if use_uct:
            q = (t.value_sum[ch] - vl) / n if n > 0 else 0.0
            tried = n > 0
            if rave > 0 and t.amaf_visits[ch] > 0:
                beta = math.sqrt(rave / (3 * n + rave))
                q = beta * t.amaf_sum[ch] / t.amaf_visits[ch] + (1 - beta) * q
                tried = True
            score = q + c * math.sqrt(log_n / max(n, 1)) if tried else 1e9 + t.prior[ch]
        else:
            q = fpu_q if n == 0 else (t.value_sum[ch] - vl) / n
            p = t.prior[ch] if eps == 0 else (1 - eps) * t.prior[ch] + eps * noise[t.move[ch]]
            score = q + scale * p / (1 + n)
        if score > best_score:
            best_score = score
            best = ch
        if prefix and n == 0:
            if best == ch:
                _promote(t, ch + 1, end)
            break
    return best


@njit(cache=True, inline="always")
def _promote(t, start, end):
    """Move the first child of highest prior among start .. end - 1 (all never selected, so leaves with no
    statistics but priors, moves and AMAF counts) to `start`.

    expand does this for a node's first child and select_child whenever it selects a child for the first
    time, so a node's children ever selected form a prefix followed by the best of the others.
    """
    best = start
    for ch in range(start + 1, end):
        if t.prior[ch] > t.prior[best]:
            best = ch
    if best != start:
        t.prior[start], t.prior[best] = t.prior[best], t.prior[start]
        t.move[start], t.move[best] = t.move[best], t.move[start]
        t.amaf_visits[start], t.amaf_visits[best] = t.amaf_visits[best], t.amaf_visits[start]
        t.amaf_sum[start], t.amaf_sum[best] = t.amaf_sum[best], t.amaf_sum[start]


@njit(cache=True, inline="always")
def update_amaf(t, node, first_player, color, value):
    """AMAF back-up at `node` (whose side to move is `color`): every child whose move `color` played
    first afterwards (first_player int8 [N*N], 0 = nobody) counts `value` (for `color`)."""
    first = t.first_child[node]
    if first == UNEXPANDED:
        return
    n_points = first_player.shape[0]
    for ch in range(first, first + t.num_children[node]):
        mv = t.move[ch]
        if mv < n_points and first_player[mv] == color:
            t.amaf_visits[ch] += 1
            t.amaf_sum[ch] += value


@njit(cache=True, inline="always")
def expand(t, node, moves, priors, count):
    """Give `node` children moves[:count] with priors[:count] (renormalised) in a shuffled order, the
    first one of highest prior moved first (see _promote).

    Returns False (and sets the full flag, node left unexpanded) when the budget has no room.
    """
    start = t.meta[META_USED]
    if start + count > t.visits.shape[0]:
        t.meta[META_FULL] = 1
        return False
    state = np.uint64(t.meta[META_RNG])  # the generator's state in a register, not in meta, while it runs
    for k in range(count - 1, 0, -1):  # Fisher-Yates: ties between equal priors fall at random
        state, z = _splitmix(state)
        j = np.int64(((z >> np.uint64(32)) * np.uint64(k + 1)) >> np.uint64(32))  # top 32 bits to 0..k
        moves[k], moves[j] = moves[j], moves[k]
        priors[k], priors[j] = priors[j], priors[k]
    t.meta[META_RNG] = np.int64(state)
    total = 0.0
    for k in range(count):
        total += priors[k]
    scale = 1.0 / total if total > 0 else 0.0
    for k in range(count):
        _init_node(t, start + k, node, moves[k], priors[k] * scale if total > 0 else 1.0 / count)
    _promote(t, start, start + count)
    t.first_child[node] = start
    t.num_children[node] = count
    t.meta[META_USED] = start + count
    return True


@njit(cache=True, inline="always")
def add_virtual_loss(t, leaf):
    """Mark one simulation in flight on every node from `leaf` up to the root."""
    node = leaf
    while node != NO_NODE:
        t.virtual_loss[node] += 1
        node = t.parent[node]


@njit(cache=True, inline="always")
def backup(t, leaf, value, score, score_sq, in_flight):
    """Add `value` and the final margin `score` (points; both for the side to move at `leaf`) from leaf to
    root, sign flipping each ply, and the margin's mean square `score_sq` unflipped (scores only when the
    tree keeps them).

    `in_flight`: the simulation had added virtual loss, which is removed on the way.
    """
    node = leaf
    v = -value  # for the player who moved into `leaf`
    s = -score
    scored = t.score_sum.shape[0] > 0
    while node != NO_NODE:
        t.visits[node] += 1
        t.value_sum[node] += v
        if scored:
            t.score_sum[node] += s
            t.score_sq[node] += score_sq
            s = -s
        if in_flight:
            t.virtual_loss[node] -= 1
        v = -v
        node = t.parent[node]


@njit(cache=True)
def find_child(t, node, move):
    """Index of `node`'s child reached by `move`, or NO_NODE."""
    first = t.first_child[node]
    if first == UNEXPANDED:
        return NO_NODE
    for ch in range(first, first + t.num_children[node]):
        if t.move[ch] == move:
            return ch
    return NO_NODE


@njit(cache=True)
def compact(src, new_root, dst):
    """Copy the subtree of `src` rooted at `new_root` into `dst` (breadth first); returns its size.

    dst.first_child temporarily holds each copied node's source index until that node is processed.
    """
    _init_node(dst, ROOT, NO_NODE, NO_MOVE, 1.0)
    dst.visits[ROOT] = src.visits[new_root]
    dst.value_sum[ROOT] = src.value_sum[new_root]
    dst.raw_value[ROOT] = src.raw_value[new_root]
    scored = src.score_sum.shape[0] > 0
    if scored:
        dst.score_sum[ROOT] = src.score_sum[new_root]
        dst.score_sq[ROOT] = src.score_sq[new_root]
    dst.first_child[ROOT] = new_root
    dst.meta[META_RNG] = src.meta[META_RNG]
    dst.meta[META_FULL] = 0
    used = 1
    i = 0
    while i < used:
        s = dst.first_child[i]
        first = src.first_child[s]
        count = src.num_children[s]
        if first == UNEXPANDED:
            dst.first_child[i] = UNEXPANDED
            dst.num_children[i] = 0
        else:
            for k in range(count):
                _init_node(dst, used + k, i, src.move[first + k], src.prior[first + k])
                dst.visits[used + k] = src.visits[first + k]
                dst.value_sum[used + k] = src.value_sum[first + k]
                dst.amaf_visits[used + k] = src.amaf_visits[first + k]
                dst.amaf_sum[used + k] = src.amaf_sum[first + k]
                dst.raw_value[used + k] = src.raw_value[first + k]
                if scored:
                    dst.score_sum[used + k] = src.score_sum[first + k]
                    dst.score_sq[used + k] = src.score_sq[first + k]
                dst.first_child[used + k] = first + k
            dst.first_child[i] = used
            dst.num_children[i] = count
            used += count
        i += 1
    dst.meta[META_USED] = used
    return used
