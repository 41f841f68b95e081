"""A batched inference server: one process runs the networks for many search worker processes.

A client (`ServerEvaluator`, an evaluator of the search's protocol) writes its batch's planes
and legal masks into a shared-memory block of its own, sends a short request over a Unix
socket and waits. The server takes the requests that arrive within `wait` seconds of the
first one (or until every connected client waits), runs each network once on the joined
rows (TorchEvaluator on its device), writes priors and values back into each client's block
and answers. Networks are loaded by checkpoint path on first use (the last CACHE kept, and
reloaded when the file changes), so the workers hold no copy: this is how one GPU serves many
CPU search workers.

A client's block, for a request of B rows of C planes on N x N with M = N*N + 1 moves, holds
`planes float32 [B, C, N, N] | legal bool [B, M] | priors float32 [B, M] | values float32 [B]`,
each part starting at a multiple of 8 bytes. It is a file in /dev/shm that the client
unlinks as soon as the server has mapped it, so nothing is left behind whoever dies. The
server process exits with the process that started it (rlgo.procs.start_worker).
"""
from __future__ import annotations

import mmap
import multiprocessing
import os
import queue
import signal
import tempfile
import threading
import time
from multiprocessing.connection import Client, Connection, Listener, wait as wait_ready
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from rlgo.go import features
from rlgo.nn.checkpoint import load_checkpoint
from rlgo.nn.evaluator import TorchEvaluator, resolve_device
from rlgo.procs import sigint_blocked, start_worker
from rlgo.search.evaluator import LeafBatch

WAIT = 0.002
"""Seconds the server waits after a first request for other clients' requests to join its batch."""
CACHE = 4
"""Networks the server keeps loaded (self-play uses one, a gate match two)."""
START_SECONDS = 300.0
"""How long the server may take to start (imports on a loaded machine)."""
_SHM = Path("/dev/shm")


class InferenceServerError(RuntimeError):
    """The inference server could not start, is gone, or could not evaluate a request."""


class ServerAddress(NamedTuple):
    """Where clients reach a server (picklable: it travels in worker tasks)."""

    path: str
    """The server's Unix socket."""
    authkey: bytes
    """Key of the connection handshake."""


class _Views(NamedTuple):
    planes: np.ndarray
    legal: np.ndarray
    priors: np.ndarray
    values: np.ndarray


def _layout(rows: int, planes: int, size: int) -> tuple[list[tuple[int, int]], int]:
    """[(offset, bytes)] of planes, legal, priors, values for a request, and the bytes they need in all."""
    moves = size * size + 1
    parts, offset = [], 0
    for nbytes in (rows * planes * size * size * 4, rows * moves, rows * moves * 4, rows * 4):
        parts.append((offset, nbytes))
        offset += -(-nbytes // 8) * 8
    return parts, offset


def _views(block: mmap.mmap, rows: int, planes: int, size: int) -> _Views:
    """Numpy views of a request's four arrays in a shared block."""
    (p, _), (lg, _), (pr, _), (v, _) = _layout(rows, planes, size)[0]
    moves = size * size + 1
    return _Views(np.frombuffer(block, np.float32, rows * planes * size * size, p).reshape(rows, planes, size, size),
                  np.frombuffer(block, np.bool_, rows * moves, lg).reshape(rows, moves),
                  np.frombuffer(block, np.float32, rows * moves, pr).reshape(rows, moves),
                  np.frombuffer(block, np.float32, rows, v))


# ----------------------------------------------------------------- the client
class ServerEvaluator:
    """The search's evaluator of the network at `checkpoint`, run by the server at `address`.

    `feature_set` and `board_size` are those of the search; the server checks them against the
    checkpoint on first use (InferenceServerError naming the mismatch).
    """

    def __init__(self, address: ServerAddress, checkpoint: str, feature_set: str, board_size: int):
        self.address = address
        self.checkpoint = str(checkpoint)
        self.feature_set = feature_set
        self.history_length = features.HISTORY_LENGTH
        self.board_size = board_size
        self._block: mmap.mmap | None = None
        self.joined = 0
        """Rows of the network call that evaluated the last batch (this client's and other clients')."""
        try:
            self._conn = Client(address.path, family="AF_UNIX", authkey=address.authkey)
        except OSError as e:
            raise InferenceServerError(f"cannot reach the inference server at {address.path} "
                                       f"({type(e).__name__}: {e})") from None

    def evaluate(self, batch: LeafBatch) -> tuple[np.ndarray, np.ndarray]:
        """(priors float32 [B, N*N+1], values float32 [B]) of a LeafBatch, from the server."""
        rows, planes = batch.planes.shape[:2]
        need = _layout(rows, planes, self.board_size)[1]
        if self._block is None or len(self._block) < need:
            self._map(max(need, 2 * len(self._block) if self._block is not None else need))
        views = _views(self._block, rows, planes, self.board_size)
        views.planes[...] = batch.planes
        views.legal[...] = batch.legal
        self.joined = self._ask(("eval", self.checkpoint, self.board_size, self.feature_set, rows, planes))
        return views.priors.copy(), views.values.copy()

    def _map(self, nbytes: int) -> None:
        """A new shared block of `nbytes`, mapped by the server, then unlinked."""
        fd, path = tempfile.mkstemp(prefix="rlgo-infer-", dir=_SHM if _SHM.is_dir() else None)
        try:
            os.ftruncate(fd, nbytes)
            block = mmap.mmap(fd, nbytes)
            try:
                self._ask(("map", path, nbytes))
            except InferenceServerError:
                block.close()
                raise
        finally:
            os.close(fd)
            os.unlink(path)
        if self._block is not None:
            self._block.close()
        self._block = block

    def _ask(self, request: tuple) -> int:
        """Send a request and wait for its answer: the rows of the network call (0 for a map)."""
        try:
            self._conn.send(request)
            reply = self._conn.recv()
        except (EOFError, OSError) as e:
            raise InferenceServerError(f"the inference server at {self.address.path} is gone "
                                       f"({type(e).__name__}); its networks cannot be evaluated") from None
        if reply[0] != "ok":
            raise InferenceServerError(f"inference server: {reply[1]}")
        return reply[1]

    def close(self) -> None:
        """Disconnect (the server forgets this client's block)."""
        self._conn.close()
        if self._block is not None:
            self._block.close()
            self._block = None


# ----------------------------------------------------------------- the server process
class InferenceServer:
    """Start the server process on `device` (torch `threads` there) and stop it on close / exit of a `with`.

    `folder` makes the process a worker of the run in that folder (rlgo.procs). `address` is what
    clients connect to.
    """

    def __init__(self, device: str = "cpu", threads: int = 1, folder: str | os.PathLike | None = None,
                 wait: float = WAIT):
        ctx = multiprocessing.get_context("spawn")
        self._control, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, str(device), threads, folder, wait),
                                    name="rlgo-inference-server", daemon=True)
        with sigint_blocked():
            self._process.start()
        child.close()
        try:
            if not self._control.poll(START_SECONDS):
                raise InferenceServerError(f"the inference server did not start within {START_SECONDS:g} s")
            status, detail = self._control.recv()
        except (EOFError, OSError):
            status, detail = "error", f"the inference server exited at start (exit code {self._process.exitcode})"
        except BaseException:
            self.close()
            raise
        if status != "ready":
            self.close()
            raise InferenceServerError(detail)
        self.address: ServerAddress = detail
        self.pid = self._process.pid

    def close(self) -> None:
        """Stop the server and wait for its process to end."""
        if self._process is None:
            return
        try:
            self._control.send("stop")
        except OSError:
            pass
        self._process.join(10.0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._control.close()
        self._process = None

    def __enter__(self) -> "InferenceServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Networks:
    """TorchEvaluators by (checkpoint, board size, feature set), the last CACHE used, reloaded when the file changes."""

    def __init__(self, device: torch.device):
        self.device = device
        self._loaded: dict[tuple, tuple[int, TorchEvaluator]] = {}

    def get(self, path: str, size: int, feature_set: str) -> TorchEvaluator:
        key, stamp = (path, size, feature_set), os.stat(path).st_mtime_ns
        if key in self._loaded and self._loaded[key][0] == stamp:
            self._loaded[key] = self._loaded.pop(key)  # most recently used last
        else:
            self._loaded.pop(key, None)
            if len(self._loaded) >= CACHE:
                self._loaded.pop(next(iter(self._loaded)))
            model, _ = load_checkpoint(path, expect_board_size=size, expect_feature_set=feature_set)
            self._loaded[key] = (stamp, TorchEvaluator(model, self.device))
        return self._loaded[key][1]


def _serve(control: Connection, device: str, threads: int, folder, wait: float) -> None:
    """The server process: report the address (or why it cannot start), then serve until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which stops the server
    start_worker(folder)
    torch.set_num_threads(threads)
    try:
        dev = resolve_device(device)
        torch.zeros(1, device=dev)  # fails here, reported to the parent, when the device is missing
        authkey = os.urandom(16)
        listener = Listener(family="AF_UNIX", authkey=authkey)
    except Exception as e:
        control.send(("error", f"inference server on {device!r}: {type(e).__name__}: {e}"))
        return
    arrivals: queue.SimpleQueue = queue.SimpleQueue()
    wake_read, wake_write = os.pipe()
    threading.Thread(target=_accept, args=(listener, arrivals, wake_write), daemon=True).start()
    control.send(("ready", ServerAddress(listener.address, authkey)))
    try:
        _Loop(control, wake_read, arrivals, _Networks(dev), wait).run()
    finally:
        listener.close()


def _accept(listener: Listener, arrivals: queue.SimpleQueue, wake: int) -> None:
    while True:
        try:
            conn = listener.accept()
        except multiprocessing.AuthenticationError:
            continue
        except OSError:
            return  # the listener was closed
        arrivals.put(conn)
        os.write(wake, b"x")


class _Loop:
    """Gather requests, evaluate them in one batch per network, answer."""

    def __init__(self, control: Connection, wake: int, arrivals: queue.SimpleQueue, nets: _Networks, wait: float):
        self.control, self.wake, self.arrivals, self.nets, self.wait = control, wake, arrivals, nets, wait
        self.blocks: dict[Connection, mmap.mmap | None] = {}

    def run(self) -> None:
        while True:
            requests: dict[Connection, tuple] = {}
            if not self._take(requests, None):
                return
            deadline = time.monotonic() + self.wait
            while len(requests) < len(self.blocks) and (left := deadline - time.monotonic()) > 0:
                if not self._take(requests, left):
                    return
            if requests:
                self._evaluate(requests)

    def _take(self, requests: dict, timeout: float | None) -> bool:
        """Read what is ready within `timeout` into `requests`; False when the server must stop."""
        idle = [c for c in self.blocks if c not in requests]
        for ready in wait_ready([self.control, self.wake, *idle], timeout):
            if ready is self.control:
                return False  # "stop", or EOF: the parent is gone
            if ready == self.wake:
                os.read(self.wake, 4096)
                while not self.arrivals.empty():
                    self.blocks[self.arrivals.get()] = None
                continue
            try:
                message = ready.recv()
            except (EOFError, OSError):
                self._drop(ready)
                continue
            if message[0] == "map":
                self._map(ready, *message[1:])
            else:
                requests[ready] = message[1:]
        return True

    def _map(self, conn: Connection, path: str, nbytes: int) -> None:
        try:
            fd = os.open(path, os.O_RDWR)
            try:
                block = mmap.mmap(fd, nbytes)
            finally:
                os.close(fd)
        except OSError as e:
            self._answer(conn, ("error", f"cannot map the shared block {path} ({e})"))
            return
        if self.blocks.get(conn) is not None:
            self.blocks[conn].close()
        self.blocks[conn] = block
        self._answer(conn, ("ok", 0))

    def _evaluate(self, requests: dict[Connection, tuple]) -> None:
        """One network call per (checkpoint, size, feature set) on the rows of every request for it."""
        groups: dict[tuple, list[Connection]] = {}
        for conn, (path, size, feature_set, _, _) in requests.items():
            groups.setdefault((path, size, feature_set), []).append(conn)
        for (path, size, feature_set), conns in groups.items():
            try:
                views = [_views(self.blocks[c], requests[c][3], requests[c][4], size) for c in conns]
                net = self.nets.get(path, size, feature_set)
                priors, values = net(np.concatenate([v.planes for v in views]),
                                     np.concatenate([v.legal for v in views]))
            except Exception as e:
                for c in conns:
                    self._answer(c, ("error", f"{type(e).__name__}: {e}"))
                continue
            start = 0
            for c, v in zip(conns, views):
                rows = len(v.values)
                v.priors[...] = priors[start:start + rows]
                v.values[...] = values[start:start + rows]
                start += rows
                self._answer(c, ("ok", len(values)))
            del views

    def _answer(self, conn: Connection, reply: tuple) -> None:
        try:
            conn.send(reply)
        except OSError:
            self._drop(conn)

    def _drop(self, conn: Connection) -> None:
        block = self.blocks.pop(conn, None)
        conn.close()
        if block is not None:
            try:
                block.close()
            except BufferError:  # a view is still alive; the mapping goes with the process
                pass
