"""Evidence that the zero loop learns: four generations on 5x5 from a random network beat that network."""
from __future__ import annotations

from math import comb
from pathlib import Path

import pytest
import torch

from rlgo.train.common import OptimConfig
from rlgo.train.zero.config import ZeroConfig
from rlgo.train.zero.loop import checkpoint_path, train_zero
from rlgo.train.zero.selfplay import NEVER_RESIGN, PlaySettings, load_net, run_match
from rlgo.nn.model import NetConfig

GAMES, NEEDED = 64, 52


def binomial_tail(n: int, k: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2)."""
    return sum(comb(n, i) for i in range(k, n + 1)) / 2 ** n


@pytest.fixture
def one_thread():
    """One torch thread: tiny batches gain nothing from more, and idle spinning threads crawl on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_four_generations_beat_the_random_network_they_started_from(tmp_path, one_thread):
    cfg = ZeroConfig(out=str(tmp_path / "run"), size=5, komi=2.5, net=NetConfig(blocks=2, width=16), simulations=16,
                     games_per_generation=48, parallel_games=48, steps_per_generation=80, batch_size=128,
                     window_games=192, generations=4, gating=False, gate_games=2, workers=1, threads=1,
                     sgf_per_generation=0, seed=0, optim=OptimConfig(lr=0.05, schedule="constant", warmup=0.0))
    train_zero(cfg)
    match = PlaySettings.match(cfg, NEVER_RESIGN)
    match = PlaySettings(**{**match.__dict__, "simulations": 32})
    run = Path(cfg.out)
    nets = (load_net(str(checkpoint_path(run, 4)), match), load_net(str(checkpoint_path(run, 0)), match))
    result = run_match(nets, match, tuple(range(GAMES)), seed=123)
    score = sum(g.first_score for g in result.games)
    # Colours alternate, so against an equally strong opponent the expected score is GAMES / 2 whatever
    # the colour advantage; a score of NEEDED or more then has probability binomial_tail(64, 52) = 2.3e-7
    # for fair coin games (and Hoeffding's exp(-2 * 20**2 / 64) = 3.7e-6 for any mix of colour odds).
    assert binomial_tail(GAMES, NEEDED) < 1e-6
    assert score >= NEEDED, f"generation 4 scored {score}/{GAMES} against generation 0"
