"""Search speed: rollout-MCTS simulations/s vs OpenSpiel's C++ MCTSBot, tree overhead, network efficiency, memory.

    python -m benchmarks.bench_search [--quick]        (or: rlgo bench search [--quick])

Times are CPU seconds of this process (one thread), so other jobs on the machine inflate them
less than wall time; targets (issue 13): tree + plumbing <= 8 us per simulation at batch 1 and
<= 3 us at batch 8; network search >= 90% of the bare forward throughput at batch 8 and 32.
"""
from __future__ import annotations

import sys
import time

import numpy as np
from rich.console import Console

from agents.mcts_agent import ROLLOUT_CONFIG, MCTSAgent
from benchmarks import figure_table
from rlgo.go.state import GameState
from rlgo.search.config import SearchConfig
from rlgo.search.evaluator import NetworkEvaluator, UniformRolloutEvaluator
from rlgo.search.mcts import MCTS


class NoOpEvaluator:
    """Equal priors (the search renormalises them over the legal moves) and values from a fixed random
    table, both preallocated: what is left is the cost of the tree and the batch plumbing."""

    feature_set = None
    history_length = 0

    def __init__(self, seed: int = 0, table: int = 4099):
        self.values = np.random.default_rng(seed).uniform(-1, 1, table).astype(np.float32)
        self.priors: dict[tuple, np.ndarray] = {}
        self.offset = 0

    def evaluate(self, batch):
        n = len(batch.b)
        priors = self.priors.get(batch.legal.shape)
        if priors is None:
            priors = self.priors[batch.legal.shape] = np.ones(batch.legal.shape, np.float32)
        self.offset = (self.offset + n) % (len(self.values) - n)
        return priors, self.values[self.offset:self.offset + n]


class ScoringNoOpEvaluator(NoOpEvaluator):
    """NoOpEvaluator that also reports scores (from the same table): the tree's score statistics' cost."""

    scores = True

    def evaluate(self, batch):
        priors, values = super().evaluate(batch)
        batch.score[:, 0] = values
        batch.score[:, 1] = values
        return priors, values


def sims_per_second(evaluator, config: SearchConfig, simulations: int, repeats: int, size: int = 9) -> float:
    """Simulations per CPU second of fresh searches from the empty board (after one warm-up search)."""
    search = MCTS(size, evaluator, config)
    state = GameState(size)
    search.search(state, simulations=min(simulations, 64))
    total, elapsed = 0, 0.0
    for _ in range(repeats):
        search.reset()
        start = time.process_time()
        total += search.search(state, simulations=simulations).simulations
        elapsed += time.process_time() - start
    return total / elapsed


def openspiel_sims_per_second(simulations: int, repeats: int, size: int = 9) -> float | None:
    """Simulations per CPU second of OpenSpiel's C++ MCTSBot with one random rollout per leaf; None if not installed."""
    try:
        import pyspiel
    except ImportError:
        return None
    game = pyspiel.load_game("go", {"board_size": size, "komi": 7.5})
    bot = pyspiel.MCTSBot(game, pyspiel.RandomRolloutEvaluator(1, 7), 1.4, simulations, 2000, False, 7, False)
    bot.step(game.new_initial_state())
    start = time.process_time()
    for _ in range(repeats):
        bot.step(game.new_initial_state())
    return repeats * simulations / (time.process_time() - start)


class Counted:
    """An evaluator that counts the positions it evaluates (simulations ending in a scored terminal
    position evaluate none, so network throughput is counted in positions)."""

    def __init__(self, evaluator):
        self.evaluator = evaluator
        self.feature_set = evaluator.feature_set
        self.history_length = evaluator.history_length
        self.board_size = getattr(evaluator, "board_size", None)
        self.positions = 0

    def evaluate(self, batch):
        self.positions += len(batch.b)
        return self.evaluator.evaluate(batch)


def network_efficiency(batch_sizes: tuple[int, ...], positions: int) -> dict[str, float] | None:
    """Positions per CPU second that PUCT and Gumbel-root searches evaluate with resnet-b6c64 on 9x9
    (one thread), as a share of the bare forward throughput of the same net at the same batch,
    measured in turn; None without torch."""
    try:
        import torch
        from rlgo.nn.evaluator import TorchEvaluator
        from rlgo.nn.model import NetConfig, build_model
    except ImportError:
        return None
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_model(NetConfig(width=64, blocks=6, board_size=9)).eval()
    evaluator = Counted(NetworkEvaluator(TorchEvaluator(model), "agz"))
    state = GameState(9)
    for gtp in ("E5", "C3", "G7", "C7"):
        state.play_gtp(gtp)
    out = {}
    for b in batch_sizes:
        x = torch.from_numpy(np.random.default_rng(0).random((b, 17, 9, 9), dtype=np.float32))
        searches = {root: MCTS(9, evaluator, SearchConfig(batch_size=b, root=root, node_budget=400_000))
                    for root in ("puct", "gumbel")}
        cpu = {"forward": 0.0, "puct": 0.0, "gumbel": 0.0}
        done = dict.fromkeys(cpu, 0)
        for search in searches.values():
            search.search(state, simulations=2 * b)
        with torch.inference_mode():
            model(x)
            for _ in range(positions):  # in turns, so a change of machine load hits all three
                if min(done.values()) >= positions:
                    break
                start = time.process_time()
                for _ in range(8):
                    model(x)
                cpu["forward"] += time.process_time() - start
                done["forward"] += 8 * b
                for root, search in searches.items():
                    evaluator.positions = 0
                    start = time.process_time()
                    search.search(state, simulations=8 * b)
                    cpu[root] += time.process_time() - start
                    done[root] += evaluator.positions
        forward = done["forward"] / cpu["forward"]
        out[f"forward_per_s_batch{b}"] = forward
        for root in searches:
            out[f"net_{root}_share_batch{b}"] = done[root] / cpu[root] / forward
    return out


def run(quick: bool = False) -> dict[str, float]:
    """Measure and print the search figures; `quick` shortens every timing."""
    simulations, repeats = (2000, 1) if quick else (10000, 3)
    figures: dict[str, float] = {}
    plain = ROLLOUT_CONFIG.replace(rave=0.0)  # plain UCT with uniform rollouts: what OpenSpiel's MCTSBot does
    figures["rollout_sims_per_s"] = sims_per_second(UniformRolloutEvaluator(seed=1), plain, simulations, repeats)
    figures["rollout_sims_per_s_batch1"] = sims_per_second(UniformRolloutEvaluator(seed=1),
                                                           plain.replace(batch_size=1), simulations, repeats)
    agent = MCTSAgent()
    figures["agent_sims_per_s"] = sims_per_second(agent.evaluator, agent.config, simulations, repeats)
    spiel = openspiel_sims_per_second(simulations, repeats)
    if spiel is not None:
        figures["openspiel_sims_per_s"] = spiel
        figures["ratio_vs_openspiel"] = figures["rollout_sims_per_s"] / spiel
        figures["ratio_vs_openspiel_batch1"] = figures["rollout_sims_per_s_batch1"] / spiel
    for batch in (1, 8, 32):
        for root in ("puct", "gumbel"):
            rate = sims_per_second(NoOpEvaluator(), SearchConfig(batch_size=batch, root=root), simulations, repeats)
            figures[f"tree_{root}_us_per_sim_batch{batch}"] = 1e6 / rate
    for batch in (1, 8):
        rate = sims_per_second(ScoringNoOpEvaluator(), SearchConfig(batch_size=batch), simulations, repeats)
        figures[f"tree_scores_us_per_sim_batch{batch}"] = 1e6 / rate
    net = network_efficiency((8, 32), 256 if quick else 1600)
    figures.update(net or {})
    figures["bytes_per_node"] = MCTS(9, NoOpEvaluator(), SearchConfig(node_budget=1000)).bytes_per_node()
    _print(figures, simulations, spiel is None, net is None)
    return figures


def _print(figures: dict[str, float], simulations: int, no_openspiel: bool, no_net: bool) -> None:
    rows = [
        ("rollout_sims_per_s", "UCT + uniform rollouts, batch 8: simulations/s", "{:,.0f}"),
        ("rollout_sims_per_s_batch1", "UCT + uniform rollouts, batch 1: simulations/s", "{:,.0f}"),
        ("openspiel_sims_per_s", "OpenSpiel C++ MCTSBot + RandomRolloutEvaluator sims/s", "{:,.0f}"),
        ("ratio_vs_openspiel", "rlgo batch 8 / OpenSpiel", "{:.2f}x"),
        ("ratio_vs_openspiel_batch1", "rlgo batch 1 / OpenSpiel", "{:.2f}x"),
        ("agent_sims_per_s", "MCTSAgent default (UCT-RAVE + heuristic rollouts, batch 8) sims/s", "{:,.0f}"),
        *[(f"tree_{root}_us_per_sim_batch{b}", f"tree + plumbing per simulation (CPU us), no-op evaluator, {root}, "
           f"batch {b}", "{:.1f}") for b in (1, 8, 32) for root in ("puct", "gumbel")],
        *[(f"tree_scores_us_per_sim_batch{b}", f"the same with score statistics (rollout search), puct, batch {b}",
           "{:.1f}") for b in (1, 8)],
        *[(f"forward_per_s_batch{b}", f"resnet-b6c64 bare forward, batch {b} (positions per CPU s)", "{:,.0f}")
          for b in (8, 32)],
        *[(f"net_{root}_share_batch{b}", f"{root} search with resnet-b6c64, batch {b}: positions/s as a share of "
           "bare forward", "{:.1%}") for b in (8, 32) for root in ("puct", "gumbel")],
        ("bytes_per_node", "tree memory per node (bytes)", "{:.0f}"),
    ]
    table = figure_table(f"search: 9x9, empty board, {simulations} simulations per search, one thread", rows, figures)
    console = Console()
    console.print(table)
    console.print("Targets: tree + plumbing <= 8 us at batch 1 and <= 3 us at batch 8; network search >= 90% of the "
                  "bare forward.")
    if no_openspiel:
        console.print("OpenSpiel column skipped: `pip install open_spiel` to compare with its C++ MCTSBot.")
    else:
        console.print("Note: OpenSpiel's rollouts play uniformly random actions (passes and eye fills included); "
                      "rlgo's never fill an own eye, so rollouts differ in length.")
    if no_net:
        console.print("Network rows skipped: rlgo.nn (torch) is not importable.")


if __name__ == "__main__":
    run(quick="--quick" in sys.argv[1:])
