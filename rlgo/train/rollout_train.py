"""Fit the fast rollout policy (rlgo.search.rollout_policy) on expert moves: softmax regression.

Each position's candidates (legal, not own-eye-filling moves) are described by sparse
features (pattern class, response pattern class, distance bucket, flags); the weights
minimise the cross-entropy of the expert move plus an L2 penalty, by full-batch Adam in
Numba. Positions whose expert move is not a candidate (a pass, an own-eye fill) are
left out of the fit but count as misses in the accuracy over all moves.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from rlgo.go.patterns import NOT_CANDIDATE, NUM_DIST, canonical_codes, point_candidates
from rlgo.go.restore import empty_board, restore_board
from rlgo.go.state import zobrist
from rlgo.search.rollout_policy import PatternRolloutPolicy, num_weights
from rlgo.train.common import TrainError
from rlgo.train.data.shards import FIELDS, Manifest, read_shard, unpack_stones


class CandidateSet(NamedTuple):
    """Candidate features of P positions in CSR form (C candidates in all)."""

    start: np.ndarray
    """int64 [P + 1]: candidates of position i are start[i]:start[i+1]."""
    cls: np.ndarray
    """int32 [C]: pattern class (rlgo.go.patterns.canonical_codes)."""
    flags: np.ndarray
    """int32 [C]: F_* bit mask."""
    dist: np.ndarray
    """int8 [C]: distance bucket to the previous move."""
    target: np.ndarray
    """int64 [P]: index of the expert move among the position's candidates, -1 if it is not one."""


@njit(cache=True)
def _extract(tb, tm, zob, stones, to_play, ko, last, move_number, move, out_code, out_flags, out_dist, start, target):
    b = np.empty_like(tb)
    m = np.empty_like(tm)
    work = np.zeros(12, np.int64)
    mark = np.zeros(tb.shape[1], np.int32)
    nn = stones.shape[1]
    codes = np.empty(nn, np.int64)
    flags = np.empty(nn, np.int64)
    dists = np.empty(nn, np.int64)
    c = 0
    for i in range(stones.shape[0]):
        restore_board(tb, tm, zob, stones[i], to_play[i], ko[i], last[i], move_number[i], 0.0, b, m)
        point_candidates(b, m, work, mark, codes, flags, dists)
        start[i] = c
        target[i] = -1
        for p in range(nn):
            if codes[p] == NOT_CANDIDATE:
                continue
            if p == move[i]:
                target[i] = c - start[i]
            out_code[c] = codes[p]
            out_flags[c] = flags[p]
            out_dist[c] = dists[p]
            c += 1
    start[stones.shape[0]] = c


def extract_candidates(data: dict[str, np.ndarray], size: int) -> CandidateSet:
    """Candidate features of every sample of loaded shard data (keys of shards.FIELDS)."""
    stones = unpack_stones(data["stones"][:, 0], size)
    count = len(stones)
    cap = count * size * size
    code = np.empty(cap, np.int64)
    flags = np.empty(cap, np.int32)
    dist = np.empty(cap, np.int8)
    start = np.empty(count + 1, np.int64)
    target = np.empty(count, np.int64)
    tb, tm = empty_board(size)
    _extract(tb, tm, zobrist(size), stones, data["to_play"].astype(np.int64), data["ko"].astype(np.int64),
             data["last_move"].astype(np.int64), data["move_number"].astype(np.int64), data["move"].astype(np.int64),
             code, flags, dist, start, target)
    total = start[-1]
    classes, _ = canonical_codes()
    return CandidateSet(start, classes[code[:total]], flags[:total].copy(), dist[:total].copy(), target)


def load_split(folder: str | os.PathLike, split: str) -> tuple[dict[str, np.ndarray], int]:
    """All samples of a dataset split in memory, and the board size."""
    manifest = Manifest.load(folder)
    parts = [read_shard(os.path.join(folder, name), manifest.size) for name in manifest.files(split)]
    if not parts:
        return {k: np.zeros(0) for k in FIELDS}, manifest.size
    return {k: np.concatenate([p[k] for p in parts]) for k in FIELDS}, manifest.size


@njit(cache=True)
def _scores(w, classes, cls, flags, dist, lo, hi, out):
    for j in range(lo, hi):
        d = dist[j]
        s = w[cls[j]]
        if d > 0:
            s += w[2 * classes + d]
        if d == 1 or d == 2:
            s += w[classes + cls[j]]
        f = flags[j]
        k = 0
        while f:
            if f & 1:
                s += w[2 * classes + NUM_DIST + k]
            f >>= 1
            k += 1
        out[j - lo] = s


@njit(cache=True)
def _loss_grad(w, classes, start, cls, flags, dist, target, grad):
    """Mean cross-entropy over positions with a target; grad (same shape as w) is overwritten."""
    grad[:] = 0.0
    buf = np.empty(1024)
    loss = 0.0
    n = 0
    for i in range(target.shape[0]):
        t = target[i]
        if t < 0:
            continue
        lo, hi = start[i], start[i + 1]
        _scores(w, classes, cls, flags, dist, lo, hi, buf)
        top = buf[:hi - lo].max()
        expert = buf[t] - top
        z = 0.0
        for j in range(hi - lo):
            buf[j] = np.exp(buf[j] - top)
            z += buf[j]
        loss += np.log(z) - expert
        n += 1
        for j in range(lo, hi):
            g = buf[j - lo] / z - (1.0 if j - lo == t else 0.0)
            d = dist[j]
            grad[cls[j]] += g
            if d > 0:
                grad[2 * classes + d] += g
            if d == 1 or d == 2:
                grad[classes + cls[j]] += g
            f = flags[j]
            k = 0
            while f:
                if f & 1:
                    grad[2 * classes + NUM_DIST + k] += g
                f >>= 1
                k += 1
    if n > 0:
        grad /= n
    return loss / max(n, 1)


@njit(cache=True)
def _accuracy(w, classes, start, cls, flags, dist, target):
    """(hits, positions with a target): the highest-scoring candidate is the expert move."""
    buf = np.empty(1024)
    hits = 0
    n = 0
    for i in range(target.shape[0]):
        if target[i] < 0:
            continue
        n += 1
        lo, hi = start[i], start[i + 1]
        _scores(w, classes, cls, flags, dist, lo, hi, buf)
        if np.argmax(buf[:hi - lo]) == target[i]:
            hits += 1
    return hits, n


@dataclass(frozen=True)
class RolloutTrainConfig:
    """Fit options of the rollout policy."""

    iterations: int = 300
    """Full-batch Adam steps."""
    lr: float = 0.1
    """Adam step size."""
    l2: float = 1e-4
    """L2 penalty per weight (on the mean loss)."""


def accuracy(weights: np.ndarray, cands: CandidateSet) -> dict[str, float]:
    """Top-1 accuracy over all positions and over those whose expert move is a candidate."""
    classes = canonical_codes()[1]
    hits, n = _accuracy(weights.astype(np.float64), classes, cands.start, cands.cls, cands.flags, cands.dist,
                        cands.target)
    return {"top1_all": hits / max(len(cands.target), 1), "top1_candidates": hits / max(n, 1),
            "positions": float(len(cands.target)), "candidate_targets": float(n)}


def fit(train: CandidateSet, cfg: RolloutTrainConfig = RolloutTrainConfig(),
        on_step=lambda step, loss: None) -> PatternRolloutPolicy:
    """Weights of the rollout policy fitted on `train` (deterministic: full batch, zero start)."""
    classes = canonical_codes()[1]
    w = np.zeros(num_weights(classes))
    grad = np.zeros_like(w)
    m1, m2 = np.zeros_like(w), np.zeros_like(w)
    b1, b2, eps = 0.9, 0.999, 1e-8
    for step in range(1, cfg.iterations + 1):
        loss = _loss_grad(w, classes, train.start, train.cls, train.flags, train.dist, train.target, grad)
        grad += cfg.l2 * w
        m1 = b1 * m1 + (1 - b1) * grad
        m2 = b2 * m2 + (1 - b2) * grad * grad
        w -= cfg.lr * (m1 / (1 - b1 ** step)) / (np.sqrt(m2 / (1 - b2 ** step)) + eps)
        on_step(step, loss)
    return PatternRolloutPolicy(w.astype(np.float32))


def train_rollout_policy(data: str | os.PathLike, out: str | os.PathLike,
                         cfg: RolloutTrainConfig = RolloutTrainConfig()) -> dict[str, float]:
    """Fit on the train split of a dataset, save the weights to `out`, return train/val accuracy."""
    train, size = load_split(data, "train")
    if len(train["move"]) == 0:
        raise TrainError(f"dataset {str(data)!r} has no training positions")
    cands = extract_candidates(train, size)
    policy = fit(cands, cfg)
    policy.save(out)
    result = {f"train_{k}": v for k, v in accuracy(policy.weights, cands).items()}
    val, _ = load_split(data, "val")
    if len(val["move"]):
        result.update({f"val_{k}": v for k, v in accuracy(policy.weights, extract_candidates(val, size)).items()})
    return result


__all__ = ["CandidateSet", "RolloutTrainConfig", "accuracy", "extract_candidates", "fit", "load_split",
           "train_rollout_policy"]
