"""Workers on Ray: the local pool's interface (`run(fn, tasks)`) with tasks run as Ray tasks, on this machine or a cluster.

Ray is the optional extra `ray` (pip install "rlgo[ray]"), imported only here. Each task runs
`fn(task)` in a Ray worker holding one CPU and one torch thread. The files a task names (the
fields listed in its class's `FILES`: its checkpoints) travel with it through Ray's object
store, so a worker on another machine needs rlgo installed but not the run folder.

A worker that dies mid-task (a killed process, a lost node) has its task run again, up to
RETRIES times. Results come back to the driver, which alone writes the replay buffer and the
gate results, and Ray returns the result of exactly one attempt: a retry neither loses nor
duplicates games.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import socket
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

import torch

from rlgo.train.common import TrainError

T = TypeVar("T")
R = TypeVar("R")

LOCAL = "local"
"""The address that starts a Ray instance on this machine (ray.init(num_cpus=workers))."""
RETRIES = 3
"""Times a task is run again after its worker died (Ray's max_retries)."""


def import_ray():
    """The ray module, or TrainError naming the extra that provides it."""
    try:
        import ray
    except ImportError:
        raise TrainError('--ray needs Ray: pip install "rlgo[ray]"') from None
    return ray


class RayWorkers:
    """Ray tasks with the interface of rlgo.train.zero.pool.Workers.

    `address` LOCAL starts a local Ray instance with `count` CPUs (0: every core); any other
    address ('auto', 'HOST:PORT', 'ray://HOST:10001') joins a running cluster, and `count` 0
    means its CPUs. When Ray is already initialised in this process, that instance is used and
    left running on close.
    """

    def __init__(self, address: str = LOCAL, count: int = 0):
        ray = self._ray = import_ray()
        self._owned = not ray.is_initialized()
        if self._owned:
            _check_reachable(address)
            try:
                if address == LOCAL:
                    ray.init(num_cpus=count or os.cpu_count() or 1, include_dashboard=False,
                             logging_level=logging.WARNING)
                else:
                    ray.init(address=address, logging_level=logging.WARNING)
            except ConnectionError as e:
                raise TrainError(f"--ray {address}: cannot join the Ray cluster ({e})") from None
        self.count = count or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._remote = ray.remote(num_cpus=1, max_retries=RETRIES)(_call)

    def run(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """fn(task) for every task, yielded in order of completion (pending tasks are cancelled if the
        caller stops early)."""
        ray = self._ray
        stored: dict[str, object] = {}  # path -> object ref of its bytes, each file put once

        def submit(task):
            names = getattr(type(task), "FILES", ())
            for name in names:
                path = getattr(task, name)
                if path not in stored:
                    stored[path] = ray.put(Path(path).read_bytes())
            return self._remote.remote(fn, task, names, *(stored[getattr(task, name)] for name in names))

        pending = [submit(task) for task in tasks]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield self._result(done[0])
        finally:
            for ref in pending:
                ray.cancel(ref)

    def _result(self, ref):
        exceptions = self._ray.exceptions
        try:
            return self._ray.get(ref)
        except exceptions.RayTaskError as e:  # the task raised: raise what it raised, as the local pool does
            raise (e.cause if isinstance(e.cause, BaseException) else e) from None
        except exceptions.RayError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise TrainError(f"a Ray task failed {RETRIES + 1} times ({type(e).__name__}: {first})") from None

    def close(self) -> None:
        """Shut down the Ray instance this object started (or leave the cluster it joined)."""
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()
        self._owned = False

    def __enter__(self) -> "RayWorkers":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _check_reachable(address: str) -> None:
    """TrainError unless something listens at a HOST:PORT address (Ray itself would retry for minutes)."""
    host, colon, port = address.rpartition(":")
    if not colon or not port.isdigit() or "://" in address:
        return
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as e:
        raise TrainError(f"--ray {address}: no Ray head answers there ({e.strerror or e}); "
                         f"start one with `ray start --head`") from None


def _call(fn: Callable[[T], R], task: T, names: tuple[str, ...], *contents: bytes) -> R:
    """In a Ray worker: write the task's files to a temporary folder, point the task at them, run fn."""
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="rlgo-ray-") as tmp:
        local = {}
        for k, (name, data) in enumerate(zip(names, contents)):
            path = Path(tmp) / f"{k}{Path(getattr(task, name)).suffix}"
            path.write_bytes(data)
            local[name] = str(path)
        return fn(dataclasses.replace(task, **local))
