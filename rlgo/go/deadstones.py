"""Dead-stone estimates for scoring like a human: ownership, chain status, cleanup moves.

Ownership is black-positive: +1 where Black owns the point at the end, -1 where White does.
It comes from random rollouts here, or from any other estimator passed in (the learned
network of rlgo.arena.learned_ownership; estimators by name: rlgo.arena.ownership).
A chain is dead when its points go to the opponent on average; when that average is too
close to 0 to tell (|mean| < UNSURE, as for a lone stone on an open board), the chain is
also dead if it and the empty regions it touches go to the opponent on average. A living chain next to a neutral point
that neither side can fill without self-atari is in seki.
"""
from __future__ import annotations

import numpy as np

from rlgo.go import coords
from rlgo.go.rollout import ownership_playouts, seed as seed_rollouts
from rlgo.go.state import BLACK, EMPTY, WHITE, GameState

DEFAULT_ROLLOUTS = 200
"""Rollouts per estimate: enough to settle clearly dead groups on 9x9 in a few milliseconds."""
UNSURE = 0.3
"""A chain whose mean ownership is within this of 0 is unsure; its surroundings may condemn it."""

def rollout_outcomes(state: GameState, rollouts: int = DEFAULT_ROLLOUTS,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(float64 [N, N] black-positive ownership in [-1, 1], float64 [rollouts] area scores B - W - komi)
    from seeded random rollouts."""
    seed_rollouts(seed)
    n = state.size
    flat, scores = ownership_playouts(state.b, state.m, state.zob, rollouts, 3 * n * n, float(state.rules.komi))
    return flat[coords.interior_vertices(n)].reshape(n, n), scores


def rollout_ownership(state: GameState, rollouts: int = DEFAULT_ROLLOUTS, seed: int = 0) -> np.ndarray:
    """float64 [N, N]: black-positive ownership in [-1, 1] from seeded random rollouts."""
    return rollout_outcomes(state, rollouts, seed)[0]


def chain_status(state: GameState, ownership: np.ndarray) -> dict[int, str]:
    """Status ('alive', 'dead', 'seki') of every stone point, decided per chain.

    `ownership`: float [N, N] black-positive. A chain is dead when its mean ownership favours
    the opponent; an unsure chain (see UNSURE) is also dead when it and the empty regions it
    touches favour the opponent.
    """
    n = state.size
    flat = np.asarray(ownership, dtype=np.float64).reshape(n * n)
    stones = state.board().reshape(n * n)
    status: dict[int, str] = {}
    dead: list[int] = []
    for point in np.flatnonzero(stones):
        point = int(point)
        if point in status:
            continue
        chain = state.chain(point)
        sign = 1.0 if stones[point] == BLACK else -1.0
        lean = sign * float(np.mean(flat[chain]))
        if abs(lean) < UNSURE:  # the surroundings may condemn an unsure chain, never save one
            lean = min(lean, sign * float(np.mean(flat[chain + _empty_regions(state, chain)])))
        verdict = "dead" if lean < 0 else "alive"
        for p in chain:
            status[p] = verdict
        if verdict == "dead":
            dead.extend(chain)
    for point in _seki_points(state, dead, status):
        status[point] = "seki"
    return status


def dead_stones(state: GameState, ownership: np.ndarray | None = None, seed: int = 0) -> list[int]:
    """Sorted points of dead stones (ownership from seeded random rollouts when not given)."""
    own = rollout_ownership(state, seed=seed) if ownership is None else ownership
    return sorted(p for p, s in chain_status(state, own).items() if s == "dead")


def cleanup_move(state: GameState, dead: list[int]) -> int:
    """A move for the side to move that attacks the opponent's dead stones, or a pass.

    Plays a liberty of the dead opponent chain with the fewest liberties (never an own eye,
    never a move that puts the player's own stones in atari); passes when no such move exists.
    """
    color = state.to_play
    targets = sorted({p for p in dead if state.color_at(p) == 3 - color},
                     key=lambda p: (state.liberties(p), p))
    for point in targets:
        for lib in sorted(_liberties(state, point)):
            if not state.is_legal(lib) or state.fills_own_eye(lib):
                continue
            trial = state.copy()
            captured = trial.play(lib)
            if captured or trial.liberties(lib) >= 2:
                return lib
    return state.pass_move


def unsure_chains(state: GameState, ownership: np.ndarray) -> list[int]:
    """Sorted stone points of the chains whose mean ownership is within UNSURE of 0."""
    n = state.size
    flat = np.asarray(ownership, dtype=np.float64).reshape(n * n)
    stones = state.board().reshape(n * n)
    return sorted(int(p) for p in np.flatnonzero(stones)
                  if abs(float(np.mean(flat[state.chain(int(p))]))) < UNSURE)


# ----------------------------------------------------------------- helpers
def _empty_regions(state: GameState, chain: list[int]) -> list[int]:
    """Points of the empty regions (connected empty points) that touch `chain`."""
    n = state.size
    seen: set[int] = set()
    frontier = sorted(_liberties(state, chain[0]))
    while frontier:
        point = frontier.pop()
        if point in seen:
            continue
        seen.add(point)
        r, c = divmod(point, n)
        frontier += [rr * n + cc for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
                     if 0 <= rr < n and 0 <= cc < n and state.color_at(rr * n + cc) == EMPTY]
    return sorted(seen)


def _liberties(state: GameState, point: int) -> set[int]:
    """Empty points next to the chain at `point`."""
    n = state.size
    out = set()
    for p in state.chain(point):
        r, c = divmod(p, n)
        for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= rr < n and 0 <= cc < n and state.color_at(rr * n + cc) == EMPTY:
                out.add(rr * n + cc)
    return out


def _seki_points(state: GameState, dead: list[int], status: dict[int, str]) -> list[int]:
    """Living stones next to a shared liberty that would be self-atari for both colours."""
    if not status:
        return []
    work = GameState(state.size, state.rules)
    alive = [(state.color_at(p), p) for p, s in status.items() if s != "dead"]
    work.place(alive)
    owner = work.ownership().reshape(-1)
    seki = set()
    for color, point in alive:
        if point in seki:
            continue
        for lib in _liberties(work, point):
            if owner[lib] == EMPTY and all(_self_atari(work, lib, c) for c in (BLACK, WHITE)):
                seki.update(work.chain(point))
                break
    return sorted(seki)


def _self_atari(state: GameState, point: int, color: int) -> bool:
    """Whether `color` playing `point` is illegal or leaves its chain with one liberty."""
    if state.illegal_reason(point, color) is not None:
        return True
    trial = state.copy()
    trial.play(point, color)
    return trial.liberties(point) <= 1

