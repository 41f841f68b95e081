"""Where worker tasks run: in this process (one worker) or in spawned processes, results as they finish.

Tasks and results are plain picklable values and the worker functions are module-level, so
Ray tasks run the same functions (rlgo.train.zero.raypool.RayWorkers, the same interface).
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable, Iterable, Iterator, TypeVar

import torch

from rlgo.procs import sigint_blocked, start_worker, stop_new_workers
from rlgo.train.zero.selfplay import init_worker

T = TypeVar("T")
R = TypeVar("R")


class Workers:
    """`count` worker processes (spawn start method, 1 torch thread each); count 1 runs tasks inline,
    also on 1 torch thread (small batches gain nothing from more, and spinning threads hurt on a busy machine).

    The processes are workers of the run in `folder` (rlgo.procs): they exit when this process dies.
    """

    def __init__(self, count: int, folder: str | os.PathLike | None = None):
        self.count = max(1, count)
        self._pool = None
        self._before = set(multiprocessing.active_children())
        if self.count > 1:
            self._pool = ProcessPoolExecutor(self.count, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start, initargs=(1, folder))

    def run(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """fn(task) for every task, yielded in order of completion (pending tasks are cancelled if the
        caller stops early)."""
        if self._pool is None:
            for task in tasks:
                threads = torch.get_num_threads()
                torch.set_num_threads(1)
                try:
                    result = fn(task)
                finally:
                    torch.set_num_threads(threads)
                yield result
            return
        with sigint_blocked():  # the pool starts its processes on submit
            pending = {self._pool.submit(fn, task) for task in tasks}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()

    def close(self, wait_running: bool = True) -> None:
        """Stop the processes (cancelling tasks not started); `wait_running` False: terminate the running ones."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait_running, cancel_futures=True)
            if not wait_running:
                stop_new_workers(self._before)
            self._pool = None

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, kind, *exc) -> None:
        self.close(wait_running=kind is None)


def _start(threads: int, folder: str | os.PathLike | None) -> None:
    start_worker(folder)
    init_worker(threads)


def split(total: int, parts: int, most: int) -> list[int]:
    """Sizes of tasks covering `total` items: about total / parts each, at most `most`, none empty."""
    if total <= 0:
        return []
    per = min(most, -(-total // max(parts, 1)))
    sizes = [per] * (total // per)
    if total % per:
        sizes.append(total % per)
    return sizes
