"""Worker processes die with their parent (kill -9 included); a run folder has one live run and no leftover workers.

Every check reads the process table (`ps`): after the parent is killed, each of its descendants
must be gone (or a zombie) within ORPHAN_SECONDS.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from rlgo.procs import RUN_LOCK, WORKERS_LOCK, FolderBusyError, RunLock, sigint_blocked
from rlgo.train.zero.pool import Workers

ROOT = Path(__file__).resolve().parents[1]
HANGING_ENGINE = f"{sys.executable} {ROOT / 'tests' / 'fixtures' / 'engines' / 'hanging_gtp.py'}"
ORPHAN_SECONDS = 20.0
"""How long a descendant may outlive its killed parent (it takes moments; the margin is for loaded machines)."""
START_SECONDS = 300.0
"""How long workers may take to start (imports and JIT on a loaded machine)."""

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the Linux process table")


def process_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (ppid, state, command line) of every process, from `ps`."""
    out = subprocess.run(["ps", "-e", "-ww", "-o", "pid=,ppid=,stat=,args="], capture_output=True, text=True,
                         check=True).stdout
    table = {}
    for line in out.splitlines():
        pid, ppid, stat, *args = line.split(None, 3)
        table[int(pid)] = (int(ppid), stat, args[0] if args else "")
    return table


def descendants(pid: int) -> dict[int, str]:
    """pid -> command line of every live descendant of `pid`."""
    table = process_table()
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, stat, args) in table.items():
            if ppid == parent and not stat.startswith("Z") and child not in found:
                found[child] = args
                frontier.append(child)
    return found


def survivors(pids) -> dict[int, str]:
    table = process_table()
    return {p: table[p][2] for p in pids if p in table and not table[p][1].startswith("Z")}


def wait_until(predicate, seconds: float, what: str, proc: subprocess.Popen | None = None):
    end = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the parent ended before {what}: {proc.stderr.read()[-3000:]}")
        if time.monotonic() > end:
            pytest.fail(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(0.1)


def worker_lock_holders(folder: Path) -> set[int]:
    """Pids holding a lock on `folder`'s workers lock file (from /proc/locks)."""
    path = folder / WORKERS_LOCK
    if not path.exists():
        return set()
    inode = path.stat().st_ino
    holders = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields:  # a waiting request, not a held lock
            continue
        if len(fields) >= 6 and fields[1] == "FLOCK" and int(fields[5].rsplit(":", 1)[1]) == inode:
            holders.add(int(fields[4]))
    return holders


def kill_parent_and_check(proc: subprocess.Popen, folder: Path, workers: int) -> None:
    """Once `workers` worker processes run (and, with rlgo.procs, hold the folder's worker lock),
    kill -9 the parent; every descendant must be gone within ORPHAN_SECONDS."""
    def ready():
        found = descendants(proc.pid)
        spawned = [p for p, args in found.items() if "multiprocessing" in args and "resource_tracker" not in args]
        locked = (folder / WORKERS_LOCK).exists()
        return found if len(spawned) >= workers and (
            not locked or len(worker_lock_holders(folder) & set(spawned)) >= workers) else None

    try:
        family = wait_until(ready, START_SECONDS, f"{workers} workers", proc)
    except BaseException:
        found = descendants(proc.pid)
        proc.kill()
        pytest.fail(f"no {workers} ready workers: descendants {found}, "
                    f"worker lock holders {worker_lock_holders(folder)}")
    kill_and_expect_orphans_gone(proc, descendants(proc.pid) | family)


def kill_and_expect_orphans_gone(proc: subprocess.Popen, family: dict[int, str]) -> None:
    """kill -9 `proc`; every process of `family` must be gone within ORPHAN_SECONDS (killed anyway after)."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    try:
        end = time.monotonic() + ORPHAN_SECONDS
        while survivors(family) and time.monotonic() < end:
            time.sleep(0.1)
        left = survivors(family)
        assert not left, f"still running {ORPHAN_SECONDS:g} s after the parent was killed: {left}"
    finally:  # leave nothing behind, failed or not
        for pid in [p for s in survivors(family) for p in (s, *descendants(s))]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def start_cli(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


# ----------------------------------------------------------------- the watch, for every start method
@pytest.mark.parametrize("method", ["spawn", "fork", "forkserver"])
def test_a_worker_and_its_children_exit_when_the_parent_is_killed(tmp_path, method):
    """The parent starts a worker (start_worker, then a `sleep` child) and is killed -9."""
    code = textwrap.dedent(f"""
        import multiprocessing, subprocess, sys, time
        from rlgo.procs import start_worker

        def work(folder):
            start_worker(folder)
            subprocess.Popen(["sleep", "3600"])
            time.sleep(3600)

        if __name__ == "__main__":
            multiprocessing.get_context({method!r}).Process(target=work, args=({str(tmp_path)!r},)).start()
            time.sleep(3600)
    """)
    script = tmp_path / "parent.py"
    script.write_text(code)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stderr=subprocess.PIPE, text=True)

    def ready():
        found = descendants(proc.pid)
        return found if any(args.startswith("sleep") for args in found.values()) else None

    kill_and_expect_orphans_gone(proc, wait_until(ready, START_SECONDS, "the worker's child", proc))


# ----------------------------------------------------------------- the three pools, through the CLI
@pytest.mark.slow
def test_tournament_workers_die_with_the_parent(tmp_path):
    out = tmp_path / "t"
    proc = start_cli(["tournament", "--agents", "random", f"gtp:{json.dumps(HANGING_ENGINE)},timeout=3600",
                      "--games-per-pair", "4", "--parallel", "2", "--size", "5", "--out", str(out)])
    kill_parent_and_check(proc, out, workers=2)


@pytest.mark.slow
def test_datagen_workers_die_with_the_parent(tmp_path):
    out = tmp_path / "d"
    proc = start_cli(["datagen", "--engine", HANGING_ENGINE, "--games", "4", "--workers", "2", "--size", "5",
                      "--out", str(out)])
    kill_parent_and_check(proc, out, workers=2)


@pytest.mark.slow
def test_zero_selfplay_workers_die_with_the_parent(tmp_path):
    run = tmp_path / "z"
    proc = start_cli(["train", "zero", "--out", str(run), "--size", "7", "--blocks", "1", "--width", "8",
                      "--simulations", "400", "--games-per-generation", "64", "--parallel-games", "8",
                      "--workers", "2", "--threads", "1", "--generations", "1"])
    kill_parent_and_check(proc, run, workers=2)


# ----------------------------------------------------------------- one run per folder
def _hold(folder: Path, what: str) -> subprocess.Popen:
    """A process that holds `folder`'s run lock ('run') or counts as one of its leftover workers ('worker')."""
    body = (f"from rlgo.procs import RunLock\nlock = RunLock({str(folder)!r}).__enter__()" if what == "run" else
            f"from rlgo.procs import start_worker\nstart_worker({str(folder)!r})")
    code = f"import sys\n{body}\nprint('held', flush=True)\nsys.stdin.read()\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_in_a_folder_is_refused_while_the_first_lives(tmp_path):
    holder = _hold(tmp_path, "run")
    try:
        assert (tmp_path / RUN_LOCK).read_text().strip() == str(holder.pid)
        with pytest.raises(FolderBusyError, match=f"in use by another run \\(process {holder.pid}\\)"):
            with RunLock(tmp_path):
                pass
    finally:
        holder.kill()
        holder.wait()
    with RunLock(tmp_path):  # the owner is gone: its lock went with it
        assert (tmp_path / RUN_LOCK).read_text().strip() == str(os.getpid())


def test_a_run_waits_for_the_leftover_workers_of_a_killed_run(tmp_path):
    worker = _hold(tmp_path, "worker")
    try:
        with pytest.raises(FolderBusyError, match="worker processes of an earlier run still use"):
            with RunLock(tmp_path, wait_workers=0.2):
                pass
    finally:
        worker.kill()
        worker.wait()
    with RunLock(tmp_path, wait_workers=0.2):
        pass
    with RunLock(tmp_path / "new", create=False):  # a missing folder is neither created nor locked
        assert not (tmp_path / "new").exists()


def test_library_runs_take_the_folder_lock(tmp_path):
    from agents.specs import make_agent
    from rlgo.arena.tournament import TournamentConfig, run_tournament
    from rlgo.train.data.engine_games import DatagenConfig, generate

    holder = _hold(tmp_path, "run")
    try:
        with pytest.raises(FolderBusyError):
            run_tournament(TournamentConfig(agents=("random", "random:seed=1"), out=tmp_path), make_agent)
        with pytest.raises(FolderBusyError):
            generate(DatagenConfig(engine=HANGING_ENGINE, games=1, size=5), tmp_path)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX signal masks")
def test_workers_start_with_sigint_blocked_and_the_run_still_gets_ctrl_c():
    mask_of = functools.partial(signal.pthread_sigmask, signal.SIG_BLOCK)  # (SIG_BLOCK, []) reads the mask
    with Workers(2) as pool:
        masks = list(pool.run(mask_of, [[], []]))
    assert masks and all(signal.SIGINT in mask for mask in masks)
    assert signal.SIGINT not in mask_of([])  # the run's own mask is as it was
    with pytest.raises(KeyboardInterrupt):  # the run itself still gets a Ctrl-C sent meanwhile
        with sigint_blocked():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
        time.sleep(0.05)


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX signal masks")
def test_a_ctrl_c_that_another_thread_takes_waits_for_the_end_of_the_block():
    """With another thread alive the signal goes to it, yet Python raises it in the main thread: inside
    the block that would be the middle of a worker's start. It comes right after the block instead."""
    release = threading.Event()
    other = threading.Thread(target=release.wait, daemon=True)
    other.start()
    finished = False
    try:
        with pytest.raises(KeyboardInterrupt):
            with sigint_blocked():
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(50):
                    time.sleep(0.002)
                finished = True
    finally:
        release.set()
    assert finished
