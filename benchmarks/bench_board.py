"""Board speed: uniform random rollouts/s (9x9, 19x19, one core), JIT warm-up, start-up latency, vs OpenSpiel;
memory of a GameState per game, the cost of its undo and of a legal-move mask."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from numba import njit

from rich.console import Console

from benchmarks import figure_table
from rlgo.go.legal import KO_POSITIONAL, legal_moves
from rlgo.go.rollout import rollouts_from, seed
from rlgo.go.state import GameState

ROOT = Path(__file__).resolve().parent.parent
BATCH = 20
"""Rollouts per timed call (keeps the Python overhead per rollout negligible)."""

_FIRST_MOVE = """\
import time
start = time.perf_counter()
import rlgo
from rlgo.go.state import GameState
state = GameState(9)
state.play(int(state.legal_mask().nonzero()[0][0]))
print(time.perf_counter() - start)
"""

_FIRST_ROLLOUT = """\
import time
from rlgo.go.state import GameState
state = GameState(9)
start = time.perf_counter()
from rlgo.go.rollout import rollouts_from
rollouts_from(state.b, state.m, state.zob, 7.5, 1)
print(time.perf_counter() - start)
"""


def rollout_rate(size: int, seconds: float, komi: float = 7.5) -> float:
    """Random rollouts per second from the empty `size` board (one core, after a warm-up call)."""
    state = GameState(size)
    seed(1)
    rollouts_from(state.b, state.m, state.zob, komi, 1)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        rollouts_from(state.b, state.m, state.zob, komi, BATCH)
        count += BATCH
    return count / (time.perf_counter() - start)


def game_memory(size: int = 19, moves: int = 400, seed_: int = 0) -> tuple[float, float, float]:
    """(MB a GameState holds after `moves` random non-eye-filling moves, us per play, us per undo)."""
    rng = np.random.default_rng(seed_)
    GameState(size).play(0)  # JIT warm-up outside the measurement
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    state = GameState(size)
    played, play_s = 0, 0.0
    while played < moves and not state.is_over:
        legal = [int(p) for p in np.flatnonzero(state.legal_mask()[:-1]) if not state.fills_own_eye(int(p))]
        move = int(rng.choice(legal)) if legal else state.pass_move
        start = time.perf_counter()
        state.play(move)
        play_s += time.perf_counter() - start
        played += 1
    held = (tracemalloc.get_traced_memory()[0] - base) / 1e6
    tracemalloc.stop()
    start = time.perf_counter()
    for _ in range(played):
        state.undo()
    undo_s = time.perf_counter() - start
    return held, 1e6 * play_s / played, 1e6 * undo_s / played


def legal_mask_us(size: int = 19, moves: int = 200, seconds: float = 2.0, seed_: int = 0) -> float:
    """Microseconds per GameState.legal_mask call (positional superko) after `moves` random moves."""
    rng = np.random.default_rng(seed_)
    state = GameState(size)
    for _ in range(moves):
        legal = [int(p) for p in np.flatnonzero(state.legal_mask()[:-1]) if not state.fills_own_eye(int(p))]
        if not legal:
            break
        state.play(int(rng.choice(legal)))
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        state.legal_mask()
        count += 1
    return 1e6 * (time.perf_counter() - start) / count


@njit(cache=True)
def _legal_moves_calls(b, m, zob, keys, ko_mode, prune_eyes, calls, out):
    path = np.zeros(1, np.int64)
    count = 0
    for _ in range(calls):
        count += legal_moves(b, m, zob, keys, path, 0, ko_mode, prune_eyes, out)
    return count


def legal_moves_kernel_us(prune_eyes: bool, size: int = 9, moves: int = 35, seconds: float = 2.0) -> float:
    """Microseconds per legal_moves kernel call (positional superko; `prune_eyes`: without own-eye fills, as
    every search agent asks at its leaves) after `moves` random moves, best of 5 timings."""
    rng = np.random.default_rng(0)
    state = GameState(size)
    for _ in range(moves):
        state.play(int(rng.choice(np.flatnonzero(state.legal_mask()[:-1]))))
    keys, out = np.sort(state.position_keys()), np.zeros(size * size + 1, np.bool_)
    args = (state.b, state.m, state.zob, keys, KO_POSITIONAL, prune_eyes)
    _legal_moves_calls(*args, 1, out)
    calls, best = 20_000, float("inf")
    for _ in range(5):
        start = time.perf_counter()
        _legal_moves_calls(*args, calls, out)
        best = min(best, (time.perf_counter() - start) / calls)
        if best * calls * 5 > seconds:
            calls = max(1000, calls // 2)
    return 1e6 * best


def subprocess_seconds(code: str, cache_dir: str | None = None) -> float:
    """Seconds printed by `code` run in a fresh interpreter (NUMBA_CACHE_DIR = cache_dir when given)."""
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def openspiel_rate(size: int, seconds: float) -> float | None:
    """Full random games/s of OpenSpiel's C++ game loop (evaluate_bots, uniform random bots); None if absent."""
    try:
        import pyspiel
    except ImportError:
        return None
    game = pyspiel.load_game("go", {"board_size": size})
    bots = [pyspiel.make_uniform_random_bot(0, 1), pyspiel.make_uniform_random_bot(1, 2)]
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        pyspiel.evaluate_bots(game.new_initial_state(), bots, count)
        count += 1
    return count / (time.perf_counter() - start)


def run(quick: bool = False) -> dict[str, float]:
    """Measure and print the board figures; `quick` shortens every timing (and skips the cold compile)."""
    seconds = 0.5 if quick else 3.0
    figures = {"rollouts_per_s_9x9": rollout_rate(9, seconds), "rollouts_per_s_19x19": rollout_rate(19, seconds)}
    figures["game_mb_19x19"], figures["play_us_19x19"], figures["undo_us_19x19"] = game_memory(19, 400)
    figures["legal_mask_us_19x19"] = legal_mask_us(19, 200, seconds)
    figures["legal_moves_us_9x9"] = legal_moves_kernel_us(False, seconds=seconds)
    figures["legal_moves_pruned_us_9x9"] = legal_moves_kernel_us(True, seconds=seconds)
    figures["first_move_warm_s"] = subprocess_seconds(_FIRST_MOVE)
    figures["rollout_cache_load_s"] = subprocess_seconds(_FIRST_ROLLOUT)
    if not quick:
        with tempfile.TemporaryDirectory() as cold:
            figures["rollout_compile_s"] = subprocess_seconds(_FIRST_ROLLOUT, cache_dir=cold)
    spiel = openspiel_rate(9, seconds)
    if spiel is not None:
        figures["openspiel_games_per_s_9x9"] = spiel
        figures["ratio_vs_openspiel_9x9"] = figures["rollouts_per_s_9x9"] / spiel
    _print(figures, spiel is None)
    return figures


ROWS = [
    ("rollouts_per_s_9x9", "9x9 random rollouts/s", "{:,.0f}"),
    ("rollouts_per_s_19x19", "19x19 random rollouts/s", "{:,.0f}"),
    ("game_mb_19x19", "GameState memory after 400 moves, 19x19 (MB)", "{:.2f}"),
    ("play_us_19x19", "GameState.play, 19x19 (us, legality + undo record)", "{:.1f}"),
    ("undo_us_19x19", "GameState.undo, 19x19 (us)", "{:.1f}"),
    ("legal_mask_us_19x19", "GameState.legal_mask after 200 moves, 19x19 superko (us)", "{:.1f}"),
    ("legal_moves_us_9x9", "legal_moves kernel after 35 random moves, 9x9 superko (us)", "{:.2f}"),
    ("legal_moves_pruned_us_9x9", "the same without own-eye fills, as search leaves ask (us)", "{:.2f}"),
    ("rollout_cache_load_s", "rollout kernels warm-up, cache load (s)", "{:.2f}"),
    ("rollout_compile_s", "rollout kernels warm-up, cold compile (s)", "{:.1f}"),
    ("first_move_warm_s", "import rlgo -> first legal move, warm cache (s)", "{:.2f}"),
    ("openspiel_games_per_s_9x9", "OpenSpiel C++ random games/s 9x9", "{:,.0f}"),
    ("ratio_vs_openspiel_9x9", "rlgo / OpenSpiel (9x9)", "{:.2f}x"),
]
"""(figure key, label, format) of the printed table."""


def _print(figures: dict[str, float], no_openspiel: bool) -> None:
    console = Console()
    console.print(figure_table("board: uniform random rollouts, one core", ROWS, figures))
    if no_openspiel:
        console.print("OpenSpiel column skipped: `pip install open_spiel` to compare with its C++ game loop.")
    else:
        console.print("Note: OpenSpiel's random bots also pass and fill eyes at random; rlgo's rollouts never "
                      "fill an own eye, so games differ in length.")
