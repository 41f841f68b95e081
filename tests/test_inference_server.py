"""The batched inference server (rlgo.nn.server): its answers equal direct evaluation for batches
from several client processes at once, self-play through it plays the same games, a client gets
a clear error once the server is gone, and no server process outlives its run or its parent."""
from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import cli
from rlgo.nn.checkpoint import load_checkpoint, save_checkpoint
from rlgo.nn.evaluator import TorchEvaluator
from rlgo.nn.model import build_model
from rlgo.nn.server import InferenceServer, InferenceServerError, ServerEvaluator
from rlgo.search.evaluator import LeafBatch
from rlgo.train.zero.buffer import ReplayBuffer
from rlgo.train.zero.config import ZeroConfig, ZeroConfigError
from rlgo.train.zero.selfplay import NEVER_RESIGN, PlaySettings, load_net, run_selfplay
from tests.test_procs import ROOT, descendants, kill_and_expect_orphans_gone, survivors, wait_until
from tests.test_zero_loop import TINY, TINY_FLAGS

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the Linux process table")]
CLIENTS = 3
ROUNDS = 6


@pytest.fixture(scope="module")
def net(tmp_path_factory) -> str:
    """Checkpoint of a tiny 5x5 network."""
    torch.manual_seed(0)
    cfg = ZeroConfig(out=".", **TINY)
    return str(save_checkpoint(tmp_path_factory.mktemp("net") / "net.pt", build_model(cfg.net_config())))


@pytest.fixture(scope="module")
def server():
    """A CPU server that waits up to 1 s for every connected client to join a batch (so that they do)."""
    with InferenceServer(wait=1.0) as s:
        yield s


def leaves(planes: np.ndarray, legal: np.ndarray) -> LeafBatch:
    """A LeafBatch carrying only what a network evaluator reads."""
    return LeafBatch(planes.shape[-1], None, None, legal, None, planes, None, 0.0, None)


def random_batches(seed: int, size: int = 5, planes: int = 17) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(ROUNDS):
        rows = int(rng.integers(1, 40))
        legal = rng.random((rows, size * size + 1)) < rng.random()
        legal[:, -1] = True
        out.append((rng.random((rows, planes, size, size), dtype=np.float32), legal))
    return out


def client(address, checkpoint: str, seed: int, barrier, results) -> None:
    """A client process: evaluate its batches, each round in step with the other clients."""
    evaluator = ServerEvaluator(address, checkpoint, "agz", 5)
    answers = []
    for planes, legal in random_batches(seed):
        barrier.wait()
        priors, values = evaluator.evaluate(leaves(planes, legal))
        answers.append((priors, values, evaluator.joined))
    results.put((seed, answers))


def test_answers_equal_direct_evaluation_for_batches_from_several_clients_at_once(server, net):
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(CLIENTS), ctx.Queue()
    procs = [ctx.Process(target=client, args=(server.address, net, seed, barrier, results)) for seed in range(CLIENTS)]
    for p in procs:
        p.start()
    answers = dict(results.get(timeout=300) for _ in procs)
    for p in procs:
        p.join()
    direct = TorchEvaluator(load_checkpoint(net)[0])
    joined = False
    for seed, got in answers.items():
        for (planes, legal), (priors, values, rows) in zip(random_batches(seed), got):
            want_priors, want_values = direct(planes, legal)
            np.testing.assert_allclose(priors, want_priors, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(values, want_values, rtol=1e-5, atol=1e-6)
            assert np.all(priors[~legal] == 0)
            joined |= rows > len(planes)
    assert joined, "no network call joined the batches of two clients"


def test_selfplay_through_the_server_plays_the_games_of_a_workers_own_network(server, net):
    settings = PlaySettings.selfplay(ZeroConfig(out=".", **TINY), NEVER_RESIGN)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the server and the workers
    try:
        own = run_selfplay(load_net(net, settings), settings, 3, seed=7)
        served = run_selfplay(load_net(net, settings, server.address), settings, 3, seed=7)
    finally:
        torch.set_num_threads(threads)
    assert [g.moves for g in served.games] == [g.moves for g in own.games]
    assert served.evaluations == own.evaluations > 0


def test_a_network_of_another_board_size_is_an_error_naming_it_and_the_server_serves_on(server, net):
    wrong = ServerEvaluator(server.address, net, "agz", 7)
    planes, legal = random_batches(0, size=7)[0]
    with pytest.raises(InferenceServerError, match="board"):
        wrong.evaluate(leaves(planes, legal))
    planes, legal = random_batches(1)[0]
    priors, _ = ServerEvaluator(server.address, net, "agz", 5).evaluate(leaves(planes, legal))
    assert priors.shape == (len(planes), 26)


def test_a_client_gets_a_clear_error_once_the_server_is_gone(net):
    planes, legal = random_batches(0)[0]
    with InferenceServer() as dead:
        evaluator = ServerEvaluator(dead.address, net, "agz", 5)
        evaluator.evaluate(leaves(planes, legal))
        os.kill(dead.pid, signal.SIGKILL)
        wait_until(lambda: not survivors([dead.pid]), 20, "the killed server to end")
        with pytest.raises(InferenceServerError, match="inference server .* is gone"):
            evaluator.evaluate(leaves(planes, legal))
        with pytest.raises(InferenceServerError, match="cannot reach the inference server"):
            ServerEvaluator(dead.address, net, "agz", 5)


def test_the_server_ends_on_close_and_with_its_killed_parent():
    with InferenceServer() as s:
        assert survivors([s.pid])
    assert not survivors([s.pid])
    code = textwrap.dedent("""
        import time
        from rlgo.nn.server import InferenceServer
        if __name__ == "__main__":
            server = InferenceServer()
            print(server.pid, flush=True)
            time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pid = int(proc.stdout.readline())
    assert pid in descendants(proc.pid)
    kill_and_expect_orphans_gone(proc, descendants(proc.pid))


def test_a_generation_with_the_inference_server_leaves_no_process(tmp_path, capsys):
    before = set(descendants(os.getpid()))
    run = tmp_path / "run"
    assert cli.main(["train", "zero", "--out", str(run), *TINY_FLAGS, "--workers=2", "--inference-server"]) == 0
    assert ReplayBuffer(run / "buffer", TINY["size"], TINY["window_games"]).games(1) == TINY["games_per_generation"]
    left = {pid: args for pid, args in descendants(os.getpid()).items()
            if pid not in before and "resource_tracker" not in args and not args.startswith("ps ")}
    assert not left, left
    with pytest.raises(ZeroConfigError, match="do not combine"):
        ZeroConfig(out=str(tmp_path), ray="local", inference_server=True)
