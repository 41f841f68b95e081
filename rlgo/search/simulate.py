"""Numba kernels that walk the tree on real positions: gather a batch of leaves, apply their results.

A simulation copies the root board (b, m), descends by the selection rule playing each
child's move with rlgo.go.kernels, and stops at an unexpanded node. Tree moves obey the
root's ko rule: simple ko always, and for superko the position key after a move must be
neither among the root game's keys (`root_keys`, sorted int64) nor on the path. A node
reached by two passes in a row is terminal and scored exactly (area, komi): no evaluator.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from rlgo.go.kernels import (
    BLACK, COL, EMP, HEAD, LEGAL, M_HASH, M_N, M_NEMPTY, M_PASSES, M_SUICIDE, M_TOPLAY, PLIBS, WHITE,
    area_counts, edges_to, is_eyeish, legality, play_pass, play_vertex, result_hash,
)
from rlgo.search.tree import (
    NO_NODE, ROOT, UNEXPANDED, add_virtual_loss, backup, expand, find_child, select_child, update_amaf,
)

KO_SIMPLE, KO_POSITIONAL, KO_SITUATIONAL = 0, 1, 2
KO_MODES = {"simple": KO_SIMPLE, "positional": KO_POSITIONAL, "situational": KO_SITUATIONAL}


@njit(cache=True, inline="always")
def _point_to_vertex(point, n):
    return (point // n + 1) * (n + 2) + point % n + 1


@njit(cache=True, inline="always")
def _vertex_to_point(v, n):
    return (v // (n + 2) - 1) * n + v % (n + 2) - 1


@njit(cache=True)
def position_key(stones_hash, next_to_play, ko_mode, zob):
    """The superko key of a position (GameState's convention: situational keys mark White to move)."""
    if ko_mode == KO_SITUATIONAL and next_to_play == WHITE:
        return stones_hash ^ zob[0, 0]
    return stones_hash


@njit(cache=True)
def terminal_value(b, m, komi):
    """Exact result for the side to move of a finished position: +1 win, -1 loss, 0 jigo (area scoring)."""
    black, white = area_counts(b, m)
    score = black - white - komi
    result = 1.0 if score > 0 else -1.0 if score < 0 else 0.0
    return result if m[M_TOPLAY] == BLACK else -result


@njit(cache=True)
def _in_sorted(keys, key):
    i = np.searchsorted(keys, key)
    return i < keys.shape[0] and keys[i] == key


@njit(cache=True)
def _captures(b, m, v, color):
    """Whether `color` playing vertex v takes an opponent chain off the board."""
    stride = m[M_N] + 2
    for u in (v - 1, v + 1, v - stride, v + stride):
        if b[COL, u] == 3 - color:
            h = b[HEAD, u]
            if b[PLIBS, h] == edges_to(b, v, h, stride):
                return True
    return False


@njit(cache=True)
def leaf_legal(b, m, zob, root_keys, path_keys, depth, ko_mode, prune_eyes, out):
    """Legal moves of the side to move into out bool [N*N+1] (pass always legal); returns the count.

    Superko: a move whose resulting key is in root_keys or path_keys[1..depth] is illegal.
    `prune_eyes`: also leave out moves filling one's own single-point eye.
    """
    n = m[M_N]
    color = m[M_TOPLAY]
    out[:] = False
    count = 1
    out[n * n] = True
    for i in range(m[M_NEMPTY]):
        v = b[EMP, i]
        if legality(b, m, v, color) != LEGAL:
            continue
        if prune_eyes and is_eyeish(b, m, v, color):
            continue
        if ko_mode != KO_SIMPLE:
            if m[M_SUICIDE] or _captures(b, m, v, color):
                stones = result_hash(b, m, zob, v, color)
            else:
                stones = m[M_HASH] ^ zob[color, v]  # the new stone is all that changes
            key = position_key(stones, 3 - color, ko_mode, zob)
            if _in_sorted(root_keys, key):
                continue
            repeat = False
            for d in range(1, depth + 1):
                if path_keys[d] == key:
                    repeat = True
                    break
            if repeat:
                continue
        out[_vertex_to_point(v, n)] = True
        count += 1
    return count


@njit(cache=True)
def play_point(b, m, zob, point):
    """Play a point (N*N = pass) for the side to move; assumes it is legal."""
    n = m[M_N]
    if point == n * n:
        play_pass(m)
    else:
        play_vertex(b, m, zob, _point_to_vertex(point, n), m[M_TOPLAY])


@njit(cache=True)
def gather_leaves(t, root_b, root_m, zob, root_keys, root_hist, ko_mode, komi, use_uct, c, fpu, rave,
                  prune_eyes, expand_visits, all_legal, max_leaves, max_sims, path_keys, ring,
                  out_leaf, out_b, out_m, out_legal, out_hist):
    """Descend from the root up to `max_sims` times, collecting up to `max_leaves` distinct leaves.

    Selection: PUCT (c, fpu) or UCB1 when use_uct (c, RAVE weight `rave`, 0 = off). Leaves get
    virtual loss and are written to out_leaf int32 [B], out_b int32 [B, 7, A], out_m int64
    [B, NMETA], out_legal bool [B, N*N+1] (computed only when all_legal or the leaf reaches
    expand_visits now; else pass only) and, when out_hist has K > 0 rows, out_hist int8
    [B, K, A] (colour rows: [0] the leaf, [j] j moves earlier; root_hist int8 [K, A] continues
    the path into the game). path_keys int64 [D] and ring int8 [max(K, 1), A] are scratch.
    Terminal leaves are backed up at once. A descent that ends on a leaf already in the batch
    is dropped; after `max_leaves` such collisions gathering stops. Returns (leaves,
    simulations done: leaves + terminals).
    """
    k_hist = out_hist.shape[1]
    n_leaves = 0
    sims = 0
    collisions = 0
    while n_leaves < max_leaves and sims < max_sims and collisions < max_leaves:
        b = out_b[n_leaves]
        m = out_m[n_leaves]
        b[:] = root_b
        m[:] = root_m
        node = ROOT
        depth = 0
        path_keys[0] = position_key(m[M_HASH], m[M_TOPLAY], ko_mode, zob)
        if k_hist > 0:
            ring[0] = b[COL]
        while t.first_child[node] != UNEXPANDED and m[M_PASSES] < 2:
            node = select_child(t, node, use_uct, c, fpu, rave)
            play_point(b, m, zob, t.move[node])
            depth += 1
            path_keys[depth] = position_key(m[M_HASH], m[M_TOPLAY], ko_mode, zob)
            if k_hist > 0:
                ring[depth % k_hist] = b[COL]
        if m[M_PASSES] >= 2:
            backup(t, node, terminal_value(b, m, komi), False)
            sims += 1
            continue
        if t.virtual_loss[node] > 0:
            collisions += 1
            continue
        add_virtual_loss(t, node)
        out_leaf[n_leaves] = node
        legal = out_legal[n_leaves]
        if all_legal or t.visits[node] + 1 >= expand_visits:
            leaf_legal(b, m, zob, root_keys, path_keys, depth, ko_mode, prune_eyes, legal)
        else:  # the leaf gets no children this time: its priors are not used
            legal[:] = False
            legal[-1] = True
        for j in range(k_hist):
            if j <= depth:
                out_hist[n_leaves, j] = ring[(depth - j) % k_hist]
            else:
                out_hist[n_leaves, j] = root_hist[j - depth]
        n_leaves += 1
        sims += 1
    return n_leaves, sims


@njit(cache=True)
def amaf_backup(t, leaf, first_player, color, value):
    """RAVE statistics of one simulation, from `leaf` (side to move `color`, `value` for it) to the root.

    first_player int8 [N*N]: who played each point first in the playout; the tree moves of the
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
def apply_results(t, leaves, count, legal, priors, values, colors, amaf, expand_visits, moves, move_priors):
    """Expand the leaves that reached `expand_visits` (children = legal moves, priors renormalised),
    then back up values float32 [B] (side to move at each leaf), remove their virtual loss and,
    with RAVE, back up AMAF statistics.

    legal bool [B, N*N+1], priors float32 [B, N*N+1], colors int64 [B] (side to move at each leaf);
    amaf int8 [B, N*N] playout first-play colours for RAVE, or [B, 0] without RAVE; moves /
    move_priors are scratch [N*N+1]. Returns False when some leaf could not be expanded for
    lack of nodes (the tree is full).
    """
    room = True
    for i in range(count):
        leaf = leaves[i]
        if t.first_child[leaf] == UNEXPANDED and t.visits[leaf] + 1 >= expand_visits:
            k = 0
            for point in range(legal.shape[1]):
                if legal[i, point]:
                    moves[k] = point
                    move_priors[k] = max(priors[i, point], 0.0)
                    k += 1
            if not expand(t, leaf, moves, move_priors, k):
                room = False
        backup(t, leaf, values[i], True)
        if amaf.shape[1] > 0:
            amaf_backup(t, leaf, amaf[i], colors[i], values[i])
    return room


@njit(cache=True)
def descend_moves(t, points, count):
    """The node reached from the root by points[:count], or NO_NODE if the tree stops earlier."""
    node = ROOT
    for i in range(count):
        node = find_child(t, node, points[i])
        if node == NO_NODE:
            break
    return node
