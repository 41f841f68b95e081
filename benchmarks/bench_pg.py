"""Policy-gradient and value-data speed on 9x9: batched policy games (128 at once), REINFORCE update,
AlphaGo value-data generation; for an engine-bound tiny net and the b4c32 net of docs/alphago.md."""
from __future__ import annotations

import time

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from rlgo.go.rules import Rules
from rlgo.nn.inference import PolicyNet
from rlgo.nn.model import NetConfig, build_model
from rlgo.train import pg
from rlgo.train.batch_play import PlayConfig
from rlgo.train.value_data import ValueDataConfig, play_shard

BATCH = 128
"""Games played at once (the PG minibatch of AlphaGo)."""
NETS = {"b1c8": (1, 8), "b4c32": (4, 32)}
"""Networks timed: (blocks, channels); b1c8 shows the game engine's own cost."""


def _net(blocks: int, width: int, seed: int):
    torch.manual_seed(seed)
    return build_model(NetConfig(blocks=blocks, width=width, board_size=9, head_width=8, head_hidden=32))


def run(quick: bool = False) -> dict[str, float]:
    """Time the figures (one round each; `quick`: 32 games, b1c8 only) and print a table."""
    games = 32 if quick else BATCH
    nets = {"b1c8": NETS["b1c8"]} if quick else NETS
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small batches on a shared CPU: one thread is fastest
    figures: dict[str, float] = {}
    try:
        play = PlayConfig(9, Rules())
        warm = PolicyNet(_net(1, 8, 0))
        pg.play_episodes(warm, warm, 2, play, np.random.default_rng(0))  # compile the kernels
        for name, (blocks, width) in nets.items():
            learner, opponent = _net(blocks, width, 1), _net(blocks, width, 2)
            start = time.perf_counter()
            ep = pg.play_episodes(PolicyNet(learner), PolicyNet(opponent), games, play, np.random.default_rng(1))
            played = time.perf_counter() - start
            optimizer = torch.optim.SGD(learner.parameters(), lr=1e-3)
            start = time.perf_counter()
            pg.reinforce_step(learner, optimizer, ep, pg.advantages(ep, "none", None, "cpu"), torch.device("cpu"))
            learn = time.perf_counter() - start
            figures[f"pg_{name}_games_per_s"] = games / played
            figures[f"pg_{name}_positions_per_s"] = float(ep.lengths.sum()) / played
            figures[f"pg_{name}_update_s"] = learn
            start = time.perf_counter()
            play_shard(PolicyNet(learner), PolicyNet(opponent), games, ValueDataConfig(games, shard_size=games),
                       np.random.default_rng(2))
            figures[f"value_data_{name}_games_per_s"] = games / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    table = Table(title=f"policy games on 9x9, {games} at once, 1 torch thread")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        table.add_row(key, f"{value:,.2f}")
    Console().print(table)
    return figures


if __name__ == "__main__":
    run()
