"""Games of an external GTP engine against itself, saved as one SGF per game (atomic, resumable).

The output folder is locked while games are generated, and worker processes die with the
process that started them (rlgo.procs).
"""
from __future__ import annotations

import multiprocessing as mp
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from rlgo.atomic import remove_stale_temps
from rlgo.go import coords
from rlgo.go.errors import GoError
from rlgo.go.rules import rules_from_name
from rlgo.go.sgf import GameRecord, save_sgf
from rlgo.go.state import BLACK, WHITE, GameState
from rlgo.gtpclient import GTPClient, GTPClientError, GTPError
from rlgo.procs import RunLock, sigint_blocked, start_worker

MOVE_TIMEOUT = 300.0
"""Seconds an engine may think about one command before it is declared hung."""


class EngineError(RuntimeError):
    """The engine failed (died, hung, refused a command) or played a move our rules reject."""


@dataclass(frozen=True)
class DatagenConfig:
    """How to generate engine self-play games."""

    games: int
    """Total number of games wanted in the output folder (existing ones count)."""
    engine: str = "/usr/games/gnugo --mode gtp --level 10"
    """Engine command line."""
    size: int = 9
    """Board size."""
    komi: float = 7.5
    """Komi sent to the engine and written to the records."""
    random_opening: int = 0
    """Uniform random legal (not eye-filling) moves played before the engine takes over."""
    seed: int = 0
    """Base seed: game i uses seed (seed, i) for its opening and the engine's random seed."""
    move_cap: int = 0
    """Stop a game after this many moves (0: 3 * size * size)."""


def game_path(out: str | os.PathLike, index: int) -> Path:
    """Deterministic file name of game `index` in `out`."""
    return Path(out) / f"game-{index:06d}.sgf"


def pending_games(out: str | os.PathLike, games: int) -> list[int]:
    """Indices in [0, games) whose SGF file does not exist yet."""
    return [i for i in range(games) if not game_path(out, i).exists()]


def random_opening(state: GameState, count: int, rng: np.random.Generator) -> list[int]:
    """Play `count` uniform random legal, non-eye-filling moves on `state`; returns the points."""
    played = []
    for _ in range(count):
        legal = np.flatnonzero(state.legal_mask()[:-1])
        legal = [int(p) for p in legal if not state.fills_own_eye(int(p))]
        if not legal:
            break
        point = legal[int(rng.integers(len(legal)))]
        state.play(point)
        played.append(point)
    return played


def play_game(engine, cfg: DatagenConfig, index: int) -> tuple[GameState, int, str]:
    """Play game `index` with `engine` (has .send); returns (state, opening moves, result string).

    Engine moves that our rules (simple ko, no suicide) reject raise EngineError; engine
    failures raise the GTP client's errors.
    """
    n = cfg.size
    rng = np.random.default_rng([cfg.seed, index])
    engine.send(f"boardsize {n}")
    engine.send("clear_board")
    engine.send(f"komi {cfg.komi:g}")
    if "set_random_seed" in engine.send("list_commands").split():
        engine.send(f"set_random_seed {int(rng.integers(1, 2**31 - 1))}")
    state = GameState(n, rules_from_name("gnugo").with_komi(cfg.komi))
    opening = random_opening(state, cfg.random_opening, rng)
    for i, point in enumerate(opening):
        engine.send(f"play {'b' if i % 2 == 0 else 'w'} {coords.to_gtp(point, n)}")
    move_cap = cfg.move_cap or 3 * n * n
    while not state.is_over and state.move_number < move_cap:
        color = "b" if state.to_play == BLACK else "w"
        reply = engine.send(f"genmove {color}").strip().lower()
        if reply == "resign":
            state.resign()
            break
        try:
            state.play_gtp(reply)
        except GoError as e:
            raise EngineError(f"game {index}: engine move {reply!r} rejected: {e}") from None
    return state, len(opening), _result(engine, state)


def _result(engine, state: GameState) -> str:
    """SGF RE value: resignation, else the engine's final_score, else our area score."""
    if state.resigned:
        return state.result()
    try:
        answer = engine.send("final_score").strip()
    except GTPError:
        answer = ""
    return answer if answer[:2] in ("B+", "W+") or answer == "0" else state.result()


def game_record(state: GameState, opening: int, result: str, engine: str, root_comment: str = "") -> GameRecord:
    """The record of a game whose first `opening` moves (random) become setup stones.

    Random moves are not expert moves, so they must not be training targets; as AB/AW
    setup (and PL) they still give the position the engine continued from.
    """
    start = GameState(state.size, state.rules)
    for _, point in state.moves[:opening]:
        start.play(point)
    board = start.board().ravel()
    return GameRecord(size=state.size, komi=float(state.rules.komi), rules="Chinese", black=engine, white=engine,
                      result=result, setup_black=[int(p) for p in np.flatnonzero(board == BLACK)],
                      setup_white=[int(p) for p in np.flatnonzero(board == WHITE)],
                      to_play=start.to_play if opening else None, root_comment=root_comment,
                      moves=[(c, p) for c, p in state.moves[opening:] if p >= 0])


def _run_indices(cfg: DatagenConfig, out: Path, indices: list[int], done: Callable[[int, str], None]) -> None:
    try:
        engine = GTPClient(cfg.engine, timeout=MOVE_TIMEOUT)
    except GTPClientError as e:
        raise EngineError(str(e)) from None
    try:
        for index in indices:
            state, opening, result = play_game(engine, cfg, index)
            note = f"rlgo datagen game {index}, seed {cfg.seed}"
            save_sgf(game_path(out, index), game_record(state, opening, result, cfg.engine, note))
            done(index, result)
    except GTPClientError as e:
        raise EngineError(f"engine {cfg.engine!r}: {e}") from None
    finally:
        engine.close()


def _worker(cfg: DatagenConfig, out: Path, indices: list[int], queue) -> None:
    start_worker(out)
    try:
        _run_indices(cfg, out, indices, lambda i, r: queue.put((i, r)))
    except EngineError as e:
        queue.put((-1, str(e)))
    queue.put(None)


def generate(cfg: DatagenConfig, out: str | os.PathLike, workers: int = 1,
             on_game: Callable[[int, str], None] = lambda i, r: None) -> int:
    """Play the missing games of `out` with `workers` processes; returns how many were played.

    Raises EngineError when an engine fails (games already written stay).
    """
    out = Path(out)
    with RunLock(out):
        remove_stale_temps(out)  # torn writes of a killed run
        return _generate(cfg, out, workers, on_game)


def _generate(cfg: DatagenConfig, out: Path, workers: int, on_game: Callable[[int, str], None]) -> int:
    todo = pending_games(out, cfg.games)
    if workers <= 1 or len(todo) <= 1:
        count = [0]

        def done(i, r):
            count[0] += 1
            on_game(i, r)
        _run_indices(cfg, out, todo, done)
        return count[0]
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(cfg, out, todo[w::workers], queue), daemon=True)
             for w in range(min(workers, len(todo)))]
    with sigint_blocked():
        for p in procs:
            p.start()
    played, running, errors = 0, len(procs), []
    while running:
        item = queue.get()
        if item is None:
            running -= 1
        elif item[0] < 0:
            errors.append(item[1])
        else:
            played += 1
            on_game(*item)
    for p in procs:
        p.join()
    if errors:
        raise EngineError("; ".join(errors))
    return played
