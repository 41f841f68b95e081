"""Worker processes that die with the run that started them, and run folders one run owns at a time.

A run (`rlgo train zero`, `rlgo tournament`, `rlgo datagen`) holds `RunLock(folder)` while it
works in its folder, and every worker process it starts calls `start_worker(folder)` first.

- A worker exits within moments of its parent's death, whatever the start method (spawn,
  fork, forkserver): a thread waits on multiprocessing's parent sentinel, a pipe that the
  parent's death closes, then kills the worker's own children (GTP engines) and exits.
- Workers start with SIGINT blocked (`sigint_blocked` around their start): Ctrl-C in the terminal
  reaches only the run, which stops its workers, and no worker prints a traceback from the middle
  of its start-up (the run holds the Ctrl-C until the start is done).
- A second run on a folder is refused while the first one lives (`<folder>/.rlgo-run.lock`
  holds the owner's pid), and a run waits until the workers of an earlier, killed run are
  gone before it starts (each worker holds a shared lock on `<folder>/.rlgo-workers.lock`).

Locks are advisory flock(2) locks: POSIX only; where fcntl is missing, folders are not locked.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.connection import wait
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no folder locks
    fcntl = None

RUN_LOCK = ".rlgo-run.lock"
"""Held (exclusively) by the process running in a folder; holds its pid."""
WORKERS_LOCK = ".rlgo-workers.lock"
"""Held (shared) by every worker process of the run in a folder."""
WORKER_EXIT_WAIT = 30.0
"""Seconds a new run waits for the leftover workers of a killed one (they exit within moments)."""

_held: list = []  # open lock files of this worker process, kept for its lifetime


class FolderBusyError(RuntimeError):
    """A run folder in use by another live run or by its leftover workers."""


@contextlib.contextmanager
def sigint_blocked():
    """Hold off Ctrl-C meanwhile: SIGINT is blocked in this thread, so processes started inside inherit
    the blocked mask (through exec, whatever the start method), and in the main thread a Ctrl-C that
    another thread takes meanwhile is kept and raised right after, not in the middle of a process's start
    (which would leave the new process reading a half-written start-up pipe)."""
    if not hasattr(signal, "pthread_sigmask"):  # not POSIX
        yield
        return
    main = threading.current_thread() is threading.main_thread()
    caught: list[int] = []
    handler = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum)) if main else None
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        if main:
            signal.signal(signal.SIGINT, handler)
            if caught and callable(handler):
                handler(signal.SIGINT, None)
            elif caught and handler == signal.SIG_DFL:
                raise KeyboardInterrupt


def start_worker(folder: str | os.PathLike | None = None) -> None:
    """First call in a worker process: exit when the parent dies; count as a worker of `folder`'s run."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with_parent, args=(parent.sentinel,), name="parent-watch",
                         daemon=True).start()
    if folder is not None and fcntl is not None:
        lock = open(Path(folder) / WORKERS_LOCK, "a")
        fcntl.flock(lock, fcntl.LOCK_SH)
        _held.append(lock)


def _exit_with_parent(sentinel) -> None:
    wait([sentinel])  # readable (EOF) once the parent is gone
    _kill_children(os.getpid())
    os._exit(1)


def _kill_children(pid: int) -> None:
    """SIGKILL the live child processes of `pid` (a worker's GTP engines)."""
    for child in child_pids(pid):
        try:
            os.kill(child, signal.SIGKILL)
        except OSError:
            pass


def stop_new_workers(before: set) -> None:
    """Terminate this process's multiprocessing children that are not in `before` (a pool's workers whose
    tasks will not be waited for: a pool shut down on Ctrl-C would otherwise wait for them at exit) and
    their GTP engines."""
    for process in set(multiprocessing.active_children()) - before:
        _kill_children(process.pid)
        process.terminate()
    for process in set(multiprocessing.active_children()) - before:
        process.join(timeout=5)


def child_pids(pid: int) -> list[int]:
    """Pids of the live child processes of `pid` (read from /proc; empty where there is none)."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid and fields[0] != b"Z":
                found.append(int(entry))
    return found


class RunLock:
    """Exclusive use of a run folder by this process while the `with` block runs.

    The folder is created if missing, unless `create` is False (then a missing folder is not
    locked: the run is about to fail for want of it).
    """

    def __init__(self, folder: str | os.PathLike, create: bool = True, wait_workers: float = WORKER_EXIT_WAIT):
        self.folder = Path(folder)
        self.create = create
        self.wait_workers = wait_workers
        self._file = None

    def __enter__(self) -> "RunLock":
        if self.create:
            self.folder.mkdir(parents=True, exist_ok=True)
        if fcntl is None or not self.folder.is_dir():
            return self
        f = open(self.folder / RUN_LOCK, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            owner = f.read().strip() or "?"
            f.close()
            raise FolderBusyError(f"{str(self.folder)!r} is in use by another run (process {owner}); "
                                  f"wait for it to finish or stop it") from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._file = f
        try:
            self._wait_for_old_workers()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_for_old_workers(self) -> None:
        deadline = time.monotonic() + self.wait_workers
        with open(self.folder / WORKERS_LOCK, "a") as f:
            while True:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise FolderBusyError(
                            f"worker processes of an earlier run still use {str(self.folder)!r} after "
                            f"{self.wait_workers:g} s; stop them first") from None
                    time.sleep(0.05)
                else:
                    fcntl.flock(f, fcntl.LOCK_UN)
                    return

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
