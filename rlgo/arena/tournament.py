"""Tournaments: schedule, play (in parallel processes), log and resume games between agent specs.

Agents are built inside the worker from their spec strings by `agent_factory(spec, size=,
rules=, seed=)` (a picklable function such as agents.specs.make_agent), so nothing but
strings crosses process boundaries. Every finished game is saved as games/<id>.sgf and one
line in results.jsonl; rerunning the same command skips the games already there. The folder
is locked while a tournament plays in it, and its workers die with it (rlgo.procs).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal, get_args

from rlgo.arena.game import GameConfig, play_game
from rlgo.stats.results import append_result, game_id, load_results
from rlgo.atomic import remove_stale_temps, write_text_atomic
from rlgo.go.sgf import save_sgf
from rlgo.go.state import COLOR_NAMES, EMPTY
from rlgo.procs import RunLock, sigint_blocked, start_worker, stop_new_workers
from rlgo.seeds import fresh_seed

Mode = Literal["round-robin", "gauntlet"]
MODES = get_args(Mode)
CONFIG_FILE = "tournament.json"


class TournamentError(Exception):
    """A tournament that cannot run: bad settings, or a folder holding a different tournament."""


@dataclass(frozen=True)
class TournamentConfig:
    """What to play."""

    agents: tuple[str, ...]
    """Agent specs (also their labels in results and tables); at least two, all different."""
    out: Path
    """Folder for results.jsonl, tournament.json and games/*.sgf."""
    mode: Mode = "round-robin"
    """'round-robin' (every pair) or 'gauntlet' (the first agent against each other one)."""
    games_per_pair: int = 2
    """Games per pair; colours alternate, the first-listed agent takes Black in even games."""
    game: GameConfig = field(default_factory=GameConfig)
    """Board, rules, move cap, time per move and scoring of every game."""
    parallel: int = 1
    """Games played at once (1: in this process; more: spawned worker processes)."""
    seed: int | None = None
    """Base seed; each game's seed is derived from it and the game id. None: the one in the folder's
    tournament.json, else fresh entropy (then stored there)."""

    def __post_init__(self):
        if len(self.agents) < 2:
            raise TournamentError(f"a tournament needs at least two agents, got {list(self.agents)}")
        if len(set(self.agents)) != len(self.agents):
            raise TournamentError(f"agent specs must be different, got {list(self.agents)}")
        if self.mode not in MODES:
            raise TournamentError(f"unknown mode {self.mode!r}; valid: {', '.join(MODES)}")
        if self.games_per_pair < 1 or self.parallel < 1:
            raise TournamentError("games_per_pair and parallel must be at least 1")


@dataclass(frozen=True)
class GameTask:
    """One scheduled game."""

    id: str
    """Deterministic id from the pair and the index."""
    pair: tuple[str, str]
    """(first, second) in schedule order."""
    index: int
    """Game number within the pair."""
    black: str
    """Spec playing Black."""
    white: str
    """Spec playing White."""
    seed: int
    """Seed for the agents and the scoring rollouts of this game."""


def schedule(config: TournamentConfig) -> list[GameTask]:
    """Every game of the tournament, interleaved so that early games cover all pairs."""
    agents = config.agents
    if config.mode == "gauntlet":
        pairs = [(agents[0], other) for other in agents[1:]]
    else:
        pairs = [(a, b) for i, a in enumerate(agents) for b in agents[i + 1:]]
    tasks = []
    for index in range(config.games_per_pair):
        for first, second in pairs:
            gid = game_id(first, second, index)
            black, white = (first, second) if index % 2 == 0 else (second, first)
            seed = int(hashlib.sha1(f"{config.seed}:{gid}".encode()).hexdigest()[:8], 16)
            tasks.append(GameTask(gid, (first, second), index, black, white, seed))
    return tasks


def played_games(config: TournamentConfig) -> tuple[int, int]:
    """(games of the schedule already in results.jsonl, games scheduled)."""
    wanted = {t.id for t in schedule(config)}
    return len(wanted & set(load_results(config.out))), len(wanted)


def run_tournament(config: TournamentConfig, agent_factory: Callable,
                   on_result: Callable[[dict, int, int], None] | None = None) -> list[dict]:
    """Play every game not yet in results.jsonl; returns the records of all finished games.

    `on_result(record, finished, total)` is called in this process after each game is logged
    (raise KeyboardInterrupt from it to stop early: finished games stay logged).
    """
    out = Path(config.out)
    with RunLock(out):
        (out / "games").mkdir(parents=True, exist_ok=True)
        remove_stale_temps(out, out / "games")  # torn writes of a killed run
        config = _check_folder(config, out)
        return _play_pending(config, out, agent_factory, on_result)


def _play_pending(config: TournamentConfig, out: Path, agent_factory: Callable, on_result) -> list[dict]:
    tasks = schedule(config)
    done = load_results(out)
    pending = [t for t in tasks if t.id not in done]
    finished = sum(1 for t in tasks if t.id in done)

    def record(result: dict) -> None:
        nonlocal finished
        append_result(out, result)
        done[result["id"]] = result
        finished += 1
        if on_result is not None:
            on_result(result, finished, len(tasks))

    if config.parallel == 1:
        for task in pending:
            record(play_task(task, config.game, str(out), agent_factory))
    else:
        _run_parallel(config, pending, agent_factory, record)
    wanted = {t.id for t in tasks}
    return [r for gid, r in done.items() if gid in wanted]


def play_task(task: GameTask, game: GameConfig, out: str, agent_factory: Callable) -> dict:
    """Build both agents from their specs, play, save the SGF; returns the results record (worker side)."""
    game = dataclasses.replace(game, seed=task.seed)
    players = [_build(agent_factory, spec, game, task.seed + k) for k, spec in enumerate((task.black, task.white))]
    finisher = _build(agent_factory, game.play_out, game, task.seed + 2) if game.play_out else None
    try:
        result = play_game(players[0], players[1], game, black_name=task.black, white_name=task.white,
                           finisher=finisher)
    finally:
        for agent in players + ([finisher] if finisher else []):
            try:
                agent.close()
            except Exception:  # a broken engine must not cost the finished game
                pass
    sgf_path = Path(out) / "games" / f"{task.id}.sgf"
    note = f"rlgo tournament game {task.id}, seed {task.seed}; {result.record.root_comment}"
    save_sgf(sgf_path, dataclasses.replace(result.record, game_name=task.id, root_comment=note))
    return {
        "id": task.id, "pair": list(task.pair), "index": task.index, "black": task.black, "white": task.white,
        "winner": COLOR_NAMES.get(result.winner, "0") if result.winner != EMPTY else "0",
        "result": result.result, "reason": result.reason, "detail": result.detail, "score": result.score,
        "moves": result.moves, "seconds": list(result.seconds), "sgf": f"games/{task.id}.sgf", "seed": task.seed,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


class _FailedAgent:
    """Stands in for an agent whose construction raised: it forfeits its first move as a crash."""

    def __init__(self, spec: str, error: Exception):
        self.name, self.error = spec, error

    def select_move(self, state):
        raise RuntimeError(f"could not build agent {self.name!r}: {type(self.error).__name__}: {self.error}")

    def reset(self):
        pass

    def warm_up(self, state):
        pass

    def set_time(self, *args):
        pass

    def stop(self):
        pass

    def close(self):
        pass


def _build(agent_factory: Callable, spec: str, game: GameConfig, seed: int):
    try:
        return agent_factory(spec, size=game.size, rules=game.rules, seed=seed % (2 ** 31))
    except Exception as exc:
        return _FailedAgent(spec, exc)


def _run_parallel(config: TournamentConfig, pending: list[GameTask], agent_factory: Callable, record) -> None:
    context = multiprocessing.get_context("spawn")
    queue = list(reversed(pending))
    before = set(multiprocessing.active_children())
    with ProcessPoolExecutor(max_workers=config.parallel, mp_context=context, initializer=start_worker,
                             initargs=(str(config.out),)) as pool:
        running = set()
        try:
            while queue or running:
                with sigint_blocked():  # the pool starts its processes on submit
                    while queue and len(running) < config.parallel:
                        running.add(pool.submit(play_task, queue.pop(), config.game, str(config.out), agent_factory))
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    record(future.result())
        except BrokenProcessPool:
            raise TournamentError("a worker process died (rerun the same command to resume)") from None
        except BaseException:
            for future in running:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            stop_new_workers(before)
            raise


def _check_folder(config: TournamentConfig, out: Path) -> TournamentConfig:
    """Refuse to mix games of different settings in one folder; record the settings on first use.

    Returns `config` with its seed set (the folder's, or fresh entropy for a new folder).
    """
    path = out / CONFIG_FILE
    saved = _read_settings(path) if path.exists() else None
    if config.seed is None:
        config = dataclasses.replace(config, seed=saved["seed"] if saved and "seed" in saved else fresh_seed())
    settings = {"game": _game_settings(config.game), "seed": config.seed}
    if saved is not None:
        if {k: saved.get(k) for k in settings} != settings:
            raise TournamentError(f"{out} holds a tournament with other settings ({saved}); "
                                  f"use another --out folder or the same settings")
    settings["agents"] = list(config.agents)
    write_text_atomic(path, json.dumps(settings, indent=2) + "\n")
    return config


def _read_settings(path: Path) -> dict:
    """The settings a folder's tournament.json records; a damaged file is an error naming it."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TournamentError(f"{path} is damaged ({e}); remove it to start the folder afresh") from None
    if not isinstance(saved, dict):
        raise TournamentError(f"{path} is damaged (not a JSON object); remove it to start the folder afresh")
    return saved


def _game_settings(game: GameConfig) -> dict:
    return {"size": game.size, "rules": dataclasses.asdict(game.rules), "move_cap": game.cap,
            "time_per_move": game.time_per_move, "scoring": game.scoring, "dead_stones": game.dead_stones,
            "play_out": game.play_out}
