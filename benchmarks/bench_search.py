"""Search speed: rollout-MCTS simulations/s vs OpenSpiel's C++ MCTSBot, tree overhead, network batches, memory.

    python -m benchmarks.bench_search [--quick]
"""
from __future__ import annotations

import sys
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from agents.mcts_agent import ROLLOUT_CONFIG, MCTSAgent
from rlgo.go.state import GameState
from rlgo.search.config import SearchConfig
from rlgo.search.evaluator import NetworkEvaluator, UniformRolloutEvaluator, uniform_priors
from rlgo.search.mcts import MCTS
from rlgo.search.tree import bytes_per_node


class NoOpEvaluator:
    """Uniform priors and random values: what is left is the cost of the tree and the batch plumbing."""

    feature_set = None
    history_length = 0

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def evaluate(self, batch):
        return uniform_priors(batch.legal), self.rng.uniform(-1, 1, len(batch.b)).astype(np.float32)


def sims_per_second(evaluator, config: SearchConfig, playouts: int, repeats: int, size: int = 9) -> float:
    """Simulations/s of fresh searches from the empty board (after one warm-up search)."""
    search = MCTS(size, evaluator, config)
    state = GameState(size)
    search.search(state, playouts=min(playouts, 64))
    total, elapsed = 0, 0.0
    for _ in range(repeats):
        search.reset()
        result = search.search(state, playouts=playouts)
        total += result.playouts
        elapsed += result.seconds
    return total / elapsed


def openspiel_sims_per_second(playouts: int, repeats: int, size: int = 9) -> float | None:
    """Simulations/s of OpenSpiel's C++ MCTSBot with one random rollout per leaf; None if not installed."""
    try:
        import pyspiel
    except ImportError:
        return None
    game = pyspiel.load_game("go", {"board_size": size, "komi": 7.5})
    bot = pyspiel.MCTSBot(game, pyspiel.RandomRolloutEvaluator(1, 7), 1.4, playouts, 2000, False, 7, False)
    bot.step(game.new_initial_state())
    start = time.perf_counter()
    for _ in range(repeats):
        bot.step(game.new_initial_state())
    return repeats * playouts / (time.perf_counter() - start)


def network_sims_per_second(batch_sizes: tuple[int, ...], playouts: int) -> dict[int, float] | None:
    """PUCT simulations/s with a small rlgo.nn network (resnet 4x32, CPU, one thread); None without torch."""
    try:
        import torch
        from rlgo.nn.evaluator import TorchEvaluator
        from rlgo.nn.model import NetConfig, build_model
    except ImportError:
        return None
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = TorchEvaluator(build_model(NetConfig(width=32, depth=4, board_size=9)))
    evaluator = NetworkEvaluator(net, "agz")
    return {b: sims_per_second(evaluator, SearchConfig(batch_size=b), playouts, 1) for b in batch_sizes}


def run(quick: bool = False) -> dict[str, float]:
    """Measure and print the search figures; `quick` shortens every timing."""
    playouts, repeats = (2000, 1) if quick else (10000, 3)
    figures: dict[str, float] = {}
    plain = ROLLOUT_CONFIG.replace(rave=0.0)  # plain UCT with uniform playouts: what OpenSpiel's MCTSBot does
    figures["rollout_sims_per_s"] = sims_per_second(UniformRolloutEvaluator(seed=1), plain, playouts, repeats)
    figures["rollout_sims_per_s_batch1"] = sims_per_second(UniformRolloutEvaluator(seed=1),
                                                           plain.replace(batch_size=1), playouts, repeats)
    agent = MCTSAgent()
    figures["agent_sims_per_s"] = sims_per_second(agent.evaluator, agent.config, playouts, repeats)
    spiel = openspiel_sims_per_second(playouts, repeats)
    if spiel is not None:
        figures["openspiel_sims_per_s"] = spiel
        figures["ratio_vs_openspiel"] = figures["rollout_sims_per_s"] / spiel
        figures["ratio_vs_openspiel_batch1"] = figures["rollout_sims_per_s_batch1"] / spiel
    for batch in (1, 8, 32):
        rate = sims_per_second(NoOpEvaluator(), SearchConfig(batch_size=batch), playouts, repeats)
        figures[f"tree_us_per_sim_batch{batch}"] = 1e6 / rate
    net = network_sims_per_second((8, 16, 32), 256 if quick else 800)
    for batch, rate in (net or {}).items():
        figures[f"net_sims_per_s_batch{batch}"] = rate
    figures["bytes_per_node"] = bytes_per_node(MCTS(9, NoOpEvaluator(), SearchConfig(node_budget=1000)).tree)
    _print(figures, playouts, spiel is None, net is None)
    return figures


def _print(figures: dict[str, float], playouts: int, no_openspiel: bool, no_net: bool) -> None:
    table = Table(title=f"search: 9x9, empty board, {playouts} simulations per search, one core")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("rollout_sims_per_s", "UCT + uniform playouts, batch 8: simulations/s", "{:,.0f}"),
        ("rollout_sims_per_s_batch1", "UCT + uniform playouts, batch 1: simulations/s", "{:,.0f}"),
        ("openspiel_sims_per_s", "OpenSpiel C++ MCTSBot + RandomRolloutEvaluator sims/s", "{:,.0f}"),
        ("ratio_vs_openspiel", "rlgo batch 8 / OpenSpiel", "{:.2f}x"),
        ("ratio_vs_openspiel_batch1", "rlgo batch 1 / OpenSpiel", "{:.2f}x"),
        ("agent_sims_per_s", "MCTSAgent default (UCT-RAVE + heuristic playouts, batch 8) sims/s", "{:,.0f}"),
        ("tree_us_per_sim_batch1", "tree + plumbing per simulation, no-op evaluator, batch 1 (us)", "{:.1f}"),
        ("tree_us_per_sim_batch8", "tree + plumbing per simulation, no-op evaluator, batch 8 (us)", "{:.1f}"),
        ("tree_us_per_sim_batch32", "tree + plumbing per simulation, no-op evaluator, batch 32 (us)", "{:.1f}"),
        ("net_sims_per_s_batch8", "PUCT + resnet 4x32 (CPU, 1 thread) sims/s, batch 8", "{:,.0f}"),
        ("net_sims_per_s_batch16", "PUCT + resnet 4x32 (CPU, 1 thread) sims/s, batch 16", "{:,.0f}"),
        ("net_sims_per_s_batch32", "PUCT + resnet 4x32 (CPU, 1 thread) sims/s, batch 32", "{:,.0f}"),
        ("bytes_per_node", "tree memory per node (bytes)", "{:.0f}"),
    ]
    for key, label, fmt in rows:
        if key in figures:
            table.add_row(label, fmt.format(figures[key]))
    console = Console()
    console.print(table)
    if no_openspiel:
        console.print("OpenSpiel column skipped: `pip install open_spiel` to compare with its C++ MCTSBot.")
    else:
        console.print("Note: OpenSpiel's rollouts play uniformly random actions (passes and eye fills included); "
                      "rlgo's never fill an own eye, so rollouts differ in length.")
    if no_net:
        console.print("Network rows skipped: rlgo.nn (torch) is not importable.")


if __name__ == "__main__":
    run(quick="--quick" in sys.argv[1:])
