"""Feature encoding speed: microseconds per position for each feature set (9x9, 19x19), batch throughput."""
from __future__ import annotations

import time

import numpy as np
from rich.console import Console
from rich.table import Table

from agents.random_agent import RandomAgent
from rlgo.go.features import FEATURE_SETS, HISTORY_LENGTH, encode, encode_batch, feature_planes, kernel
from rlgo.go.state import GameState

MIDGAME_MOVES = {9: 50, 19: 200}
"""Random moves played before timing: a middle-game position with chains, ataris and captures."""
BATCH = 64
"""States per `encode_batch` call."""
POSITIONS = 8
"""Distinct positions per board size (the batch repeats them)."""


def midgame(size: int, seed: int) -> GameState:
    """A position after MIDGAME_MOVES[size] random moves (no own-eye filling)."""
    agent = RandomAgent(seed)
    state = GameState(size)
    for _ in range(MIDGAME_MOVES[size]):
        if state.is_over:
            break
        state.play(agent.select_move(state))
    return state


def _rate(call, seconds: float, rounds: int = 10) -> float:
    """Calls per second of `call()`: the best of `rounds` timings over `seconds` in all (after a warm-up).

    The best round, as `timeit` advises, keeps other processes on a shared machine out of the figure.
    """
    call()
    best = 0.0
    for _ in range(rounds):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / rounds:
            call()
            count += 1
        best = max(best, count / (time.perf_counter() - start))
    return best


def run(quick: bool = False) -> dict[str, float]:
    """Measure and print the feature figures; `quick` shortens every timing."""
    seconds = 0.2 if quick else 1.0
    figures = {}
    for size in (9, 19):
        positions = [midgame(size, seed) for seed in range(POSITIONS)]
        states = [positions[i % POSITIONS] for i in range(BATCH)]
        state = positions[0]
        history = state.position_history(HISTORY_LENGTH)
        for name in FEATURE_SETS:
            f = kernel(name)
            out = np.empty((feature_planes(name), size, size), dtype=np.float32)
            figures[f"kernel_us_{name}_{size}x{size}"] = 1e6 / _rate(lambda: f(state.b, state.m, history, out), seconds)
            figures[f"encode_us_{name}_{size}x{size}"] = 1e6 / _rate(lambda: encode(state, name), seconds)
            figures[f"batch_pos_per_s_{name}_{size}x{size}"] = BATCH * _rate(
                lambda: encode_batch(states, name), seconds)
    _print(figures)
    return figures


def _print(figures: dict[str, float]) -> None:
    table = Table(title=f"features: one core, middle-game positions, batches of {BATCH}")
    for column in ("feature set", "board", "kernel µs", "encode(state) µs", "encode_batch positions/s"):
        table.add_column(column, justify="right")
    for size in (9, 19):
        for name in FEATURE_SETS:
            key = f"{name}_{size}x{size}"
            table.add_row(name, f"{size}x{size}", f"{figures['kernel_us_' + key]:.1f}",
                          f"{figures['encode_us_' + key]:.1f}", f"{figures['batch_pos_per_s_' + key]:,.0f}")
    console = Console()
    console.print(table)
    console.print("kernel: the Numba function on raw arrays; encode(state) adds position_history(). "
                  "Best of 10 rounds.")


if __name__ == "__main__":
    run()
