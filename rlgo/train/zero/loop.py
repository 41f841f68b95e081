"""The AlphaGo Zero loop, top to bottom: self-play -> replay buffer -> train -> gate -> next generation.

Run folder:
    config.json            the ZeroConfig of the run
    state.json             generation, phase (selfplay / train / gate), best generation, resign threshold
    best.json              {"generation": g, "checkpoint": "checkpoints/gen-000g.pt"}: the self-play network
    checkpoints/gen-*.pt   generation 0 = random init, generation g + 1 = the candidate trained after g
    checkpoints/gen-*-int8.pt  with int8_play: the int8 copies that play the games (training stays fp32)
    train_state.pt         optimizer state, step, and the generation holding the trainer's weights
    buffer/*.npz           replay shards (rlgo.train.zero.buffer)
    results.jsonl          every gate game (rlgo.stats.results format), the source of the Elo ratings
    metrics.csv            one row per generation (+ tb/ for TensorBoard when installed)
    sgf/gen-*-*.sgf        sample self-play games
One numbering everywhere: generation n is the step that makes network n (checkpoints/gen-000n.pt):
the best network's self-play (buffer shards gen000n-*, sgf/gen-000n-*), the training of
candidate n and its gate (results.jsonl "generation": n, metrics.csv row n); state.json's
"generation" counts the generations done, so the next one is that + 1.
Every file is written atomically and each phase is idempotent, so a kill -9 at any moment
loses at most the games in flight; `resume=True` continues from state.json.
"""
from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from rich.console import Console

from rlgo.atomic import remove_stale_temps
from rlgo.go.sgf import GameRecord, save_sgf
from rlgo.go.state import GameState
from rlgo.nn.checkpoint import CheckpointError, load_archive, load_checkpoint, save_checkpoint
from rlgo.nn.model import build_model
from rlgo.nn.server import InferenceServer, ServerAddress
from rlgo.nn.transfer import init_from_checkpoint
from rlgo.procs import RunLock
from rlgo.renames import CONFIG_KEYS, migrate
from rlgo.train.common import MetricsLogger, TrainError, select_device
from rlgo.train.compress import quantize
from rlgo.train.distributed import Replica, launch, replica
from rlgo.train.zero.buffer import ReplayBuffer, calibrate_resign, false_positive_rate
from rlgo.train.zero.config import ZeroConfig, ZeroConfigError
from rlgo.train.zero.display import Dashboard, generation_line, remaining_time, summary_table
from rlgo.train.zero.gate import ACCEPT, CONTINUE, black_share, gate_decision, gate_scores, generation_name, \
    log_games, match_record, ratings
from rlgo.train.zero.pool import Workers, split
from rlgo.train.zero.raypool import RayWorkers
from rlgo.train.zero.selfplay import NEVER_RESIGN, MatchTask, PlaySettings, SelfPlayTask, play_match, play_selfplay
from rlgo.train.zero.storage import BEST, RunFileError, read_best, read_json, write_json
from rlgo.train.zero.trainer import Trainer

CONFIG, STATE, TRAIN_STATE = "config.json", "state.json", "train_state.pt"
INT8_SUFFIX, INT8_CALIBRATION = "-int8", 1024
"""Name suffix and calibration positions of the int8 copies that play with cfg.int8_play."""
RUN_CONTROL = ("generations", "hours", "workers", "device", "threads", "parallel_games", "sgf_per_generation", "ddp",
               "ray", "inference_server", "window_scaled_steps", "int8_play", "komi_spread", "komi_wide",
               "komi_wide_share", "resign_playthrough", "rescore_share", "lr")
"""Settings that `--resume` may change: ZeroConfig fields, and 'lr' (optim.lr: the optimizer, its schedule and
momentum stay, so the saved optimizer state still fits); the others must match the stored config."""
RECIPE = ("komi_spread", "komi_wide", "komi_wide_share", "resign_playthrough", "rescore_share", "lr")
"""The RUN_CONTROL settings of what the run trains on: a `--resume` that changes them stores them in config.json,
so that later resumes keep them (the others hold for one invocation)."""


@dataclass
class LoopState:
    """Where the loop stands (state.json)."""

    generation: int = 0
    """Generations done; generation + 1 is under way (self-play by the best network, candidate generation + 1)."""
    phase: str = "selfplay"
    """Next step of the generation: 'selfplay', 'train' or 'gate'."""
    best: int = 0
    """Generation of the best network (the one in best.json)."""
    resign_threshold: float = NEVER_RESIGN
    """Current resignation value."""
    selfplay_seconds: float = 0.0
    """Self-play wall time of the current generation so far."""
    selfplay_moves: int = 0
    """Moves played (recorded or not) in the current generation so far."""
    resign_fp_rate: float = 0.0
    """False-positive resignation rate of this generation's playthrough games at the threshold they used."""


def checkpoint_path(run: Path, generation: int) -> Path:
    """The checkpoint of a generation's network."""
    return run / "checkpoints" / f"gen-{generation:04d}.pt"


def play_checkpoint(cfg: ZeroConfig, run: Path, generation: int, buffer: ReplayBuffer) -> Path:
    """The checkpoint that plays generation `generation`'s games: its fp32 checkpoint, or with cfg.int8_play
    its int8 copy, quantized here on first use (calibrated on buffer positions; fp32 while the buffer is empty)."""
    fp32 = checkpoint_path(run, generation)
    if not cfg.int8_play or not buffer.window_games_held():
        return fp32
    int8 = fp32.with_name(f"{fp32.stem}{INT8_SUFFIX}.pt")
    if not int8.exists():
        quantize(fp32, int8, run, positions=INT8_CALIBRATION, seed=generation)
    return int8


def _write_best(run: Path, generation: int, elo: float) -> None:
    write_json(run / BEST, {"generation": generation, "elo": elo,
                            "checkpoint": str(checkpoint_path(run, generation).relative_to(run))})


def run_control(cfg: ZeroConfig) -> dict:
    """{name: value} of the RUN_CONTROL settings of `cfg`."""
    return {k: cfg.optim.lr if k == "lr" else getattr(cfg, k) for k in RUN_CONTROL}


def with_run_control(cfg: ZeroConfig, **changes) -> ZeroConfig:
    """`cfg` with some RUN_CONTROL settings changed."""
    lr = changes.pop("lr", None)
    cfg = dataclasses.replace(cfg, **changes)
    return cfg if lr is None else dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, lr=lr))


def resume_config(run: str | Path, **changes) -> ZeroConfig:
    """The stored config of a run folder with some RUN_CONTROL settings changed."""
    try:
        stored = ZeroConfig.from_dict({**read_json(Path(run) / CONFIG), "out": str(run)})
    except FileNotFoundError:
        raise ZeroConfigError(f"cannot resume: {str(run)!r} holds no zero run (no {CONFIG})") from None
    return with_run_control(stored, **changes)


def open_run(cfg: ZeroConfig, resume: bool) -> tuple[ZeroConfig, LoopState]:
    """Create a run folder (config, generation 0, best.json) or reopen one; returns its config and state."""
    run = Path(cfg.out)
    if resume:
        stored = resume_config(run)
        try:
            state = LoopState(**read_json(run / STATE))
        except FileNotFoundError:
            raise ZeroConfigError(f"cannot resume: {str(run)!r} has no {STATE}") from None
        except TypeError as e:
            raise RunFileError(f"{str(run / STATE)!r} is damaged ({e})") from None
        kept = with_run_control(cfg, **run_control(stored))
        changed = [f.name for f in dataclasses.fields(cfg) if f.name != "out"
                   and getattr(kept, f.name) != getattr(stored, f.name)]
        if changed:
            raise ZeroConfigError(f"cannot resume {str(run)!r} with other {', '.join(changed)} "
                                  f"(only {', '.join(RUN_CONTROL)} may change)")
        cfg = with_run_control(stored, **run_control(cfg))
        read_best(run)  # fails loudly on a damaged pointer
        stored_keys = read_json(run / CONFIG)
        if set(stored_keys) & set(CONFIG_KEYS):  # a run from before the renames: store the new names
            write_json(run / CONFIG, migrate(stored_keys, str(run / CONFIG)))
        recipe = {k: run_control(cfg)[k] for k in RECIPE}
        if recipe != {k: run_control(stored)[k] for k in RECIPE}:
            write_json(run / CONFIG, with_run_control(stored, **recipe).to_dict())
        remove_stale_temps(run, run / "checkpoints", run / "sgf")  # torn writes of a kill
        return cfg, state
    if (run / CONFIG).exists():
        raise ZeroConfigError(f"{str(run)!r} already holds a zero run; resume it or choose another folder")
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.net_config())
    if cfg.init:  # before anything is written, so a checkpoint that does not fit leaves no run behind
        try:
            init_from_checkpoint(model, cfg.init)
        except CheckpointError as e:
            raise ZeroConfigError(f"--init: {e}") from None
    (run / "checkpoints").mkdir(parents=True, exist_ok=True)
    write_json(run / CONFIG, cfg.to_dict())
    save_checkpoint(checkpoint_path(run, 0), model, 0)
    _write_best(run, 0, 0.0)
    state = LoopState(resign_threshold=cfg.resign_threshold if cfg.resign_threshold > -1 else NEVER_RESIGN)
    write_json(run / STATE, dataclasses.asdict(state))
    return cfg, state


def train_zero(cfg: ZeroConfig, resume: bool = False, console: Console | None = None) -> list[dict]:
    """Run (or continue) the loop until cfg.generations candidates exist or cfg.hours pass; returns the
    metrics rows of the run. The run folder is locked meanwhile (rlgo.procs.RunLock)."""
    # Ray first: a missing extra or an unreachable cluster is a one-line error before anything is written
    with RayWorkers(cfg.ray, cfg.workers) if cfg.ray else contextlib.nullcontext() as ray_workers:
        with RunLock(cfg.out, create=not resume):
            return _run(cfg, resume, console, ray_workers)


def _run(cfg: ZeroConfig, resume: bool, console: Console | None, ray_workers: RayWorkers | None) -> list[dict]:
    cfg, state = open_run(cfg, resume)
    run = Path(cfg.out)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    deadline = time.monotonic() + cfg.hours * 3600 if cfg.hours else float("inf")
    device = select_device(cfg.device)
    buffer = run_buffer(cfg, run)
    trainer, trained = _trainer(cfg, run, device)
    metrics = MetricsLogger(run, "metrics", resume_step=state.generation)
    rows = MetricsLogger.read(metrics.path) if metrics.fields else []

    def save_state() -> None:
        write_json(run / STATE, dataclasses.asdict(state))

    started, first = time.monotonic(), state.generation
    with ray_workers or Workers(cfg.worker_count, run) as workers, _server(cfg, run) as server, \
            Dashboard(console) as show:
        show.print(_start_line(cfg, state, resume))
        show.print(metrics.tensorboard_note())
        while state.generation < cfg.generations and time.monotonic() < deadline:
            g = state.generation
            n = g + 1  # the generation under way (module docstring)

            # 1. Self-play: the best network plays games_per_generation games into the replay buffer.
            if state.phase == "selfplay":
                settings = PlaySettings.selfplay(cfg, state.resign_threshold)
                best_ckpt = str(play_checkpoint(cfg, run, state.best, buffer))
                done = buffer.games(n)
                show.phase(f"gen {n}/{cfg.generations} self-play by gen {state.best}", cfg.games_per_generation,
                           done)
                sizes = split(cfg.games_per_generation - done, workers.count, cfg.parallel_games)
                tasks = [SelfPlayTask(best_ckpt, settings, games, _seed(cfg.seed, g, done + i), server)
                         for i, games in enumerate(sizes)]
                last = time.perf_counter()
                for result in workers.run(play_selfplay, tasks):
                    buffer.add(n, result.games)
                    _save_sgfs(run, cfg, n, state.best, result.games)
                    done += len(result.games)
                    state.selfplay_seconds += time.perf_counter() - last
                    last = time.perf_counter()
                    state.selfplay_moves += result.moves
                    show.update(done, f"{done / max(state.selfplay_seconds, 1e-9):.2f} games/s")
                    save_state()
                state.resign_fp_rate = false_positive_rate(buffer.playthrough(range(n, n + 1)),
                                                           state.resign_threshold)[0]
                if cfg.resign_threshold > -1:
                    state.resign_threshold = calibrate_resign(buffer.playthrough(range(n - 3, n + 1)),
                                                              state.resign_threshold, cfg.resign_fp_target)
                buffer.prune()
                state.phase = "train"
                save_state()

            # 2. Training: S steps on uniform samples of the window -> candidate network n.
            if state.phase == "train" and time.monotonic() < deadline:
                if trained != n:  # a kill after saving the candidate must not train it twice
                    show.phase(f"gen {n}/{cfg.generations} train", cfg.training_steps(buffer.window_games_held()))
                    if cfg.ddp > 1:
                        launch(cfg.ddp, train_candidate_rank, cfg, g)
                        trainer, trained = _trainer(cfg, run, device)
                    else:
                        _train_candidate(cfg, g, trainer, buffer,
                                         lambda i, losses: show.update(i, f"loss {losses['loss']:.3f}"))
                        trained = n
                state.phase = "gate"
                save_state()

            # 3. Gate: candidate vs best (AlphaGo Zero) or vs the previous network (rating only, no gating).
            if state.phase == "gate" and time.monotonic() < deadline:
                opponent = state.best if cfg.gating else g
                scores = _gate(cfg, run, workers, server, show, g, opponent, state.resign_threshold, buffer)
                decision = gate_decision(scores, cfg.gate_games, cfg.gate_threshold, cfg.gate_rule)
                elo = ratings(run)
                if decision == ACCEPT or not cfg.gating:
                    state.best = n
                    _write_best(run, n, elo[generation_name(n)].elo)
                row = _metrics_row(cfg, run, buffer, state, n, scores, decision, elo)
                metrics.log(n, **row)
                rows.append(row)
                left = remaining_time(time.monotonic() - started, n - first, cfg.generations - n,
                                      deadline - time.monotonic())
                show.print(generation_line(row, [float(r["elo"]) for r in rows], left))
                state = LoopState(n, "selfplay", state.best, state.resign_threshold)
                save_state()
        metrics.close()
    if rows:
        show.print(summary_table(rows))
    return rows


@contextlib.contextmanager
def _server(cfg: ZeroConfig, run: Path) -> Iterator[ServerAddress | None]:
    """The address of the run's inference server (--inference-server) while the `with` block runs, else None."""
    if not cfg.inference_server:
        yield None
        return
    with InferenceServer(cfg.device, folder=run) as server:
        yield server.address


def _start_line(cfg: ZeroConfig, state: LoopState, resume: bool) -> str:
    """What this process is about to do: the generation it starts at, and where the run stops."""
    bound = f"until generation {cfg.generations}" + (f" or {cfg.hours:g} h" if cfg.hours else "")
    if not resume:
        return f"new run {cfg.out}: generation 1, {bound}"
    return (f"resuming at generation {state.generation + 1} of {cfg.out} ({state.phase}; best network: "
            f"generation {state.best}), {bound}")


def _seed(base: int, generation: int, index: int) -> int:
    return int(np.random.SeedSequence([base, generation, index]).generate_state(1)[0])


def _train_candidate(cfg: ZeroConfig, g: int, trainer: Trainer, buffer: ReplayBuffer, on_step=None) -> None:
    """Train candidate g + 1 (cfg.training_steps on the window); rank 0 saves it and the trainer state."""
    run = Path(cfg.out)
    start = time.perf_counter()
    steps = cfg.training_steps(buffer.window_games_held())
    losses = trainer.train(buffer, steps, cfg.batch_size, np.random.default_rng([cfg.seed, g]), on_step)
    losses["train_samples_per_s"] = steps * cfg.batch_size / (time.perf_counter() - start)
    losses["train_steps"] = steps
    if trainer.replica.main:
        save_checkpoint(checkpoint_path(run, g + 1), trainer.model, trainer.step, losses)
        trainer.save(run / TRAIN_STATE, g + 1)


def train_candidate_rank(cfg: ZeroConfig, g: int) -> None:
    """One rank of the --ddp training of candidate g + 1 (rlgo.train.distributed.launch)."""
    run = Path(cfg.out)
    with replica(cfg.device, cfg.threads) as rep:
        trainer, _ = _trainer(cfg, run, rep.device, rep)
        _train_candidate(cfg, g, trainer, run_buffer(cfg, run))


def run_buffer(cfg: ZeroConfig, run: Path) -> ReplayBuffer:
    """The run's replay buffer, sampled as the config says (window, komi, rescored positions)."""
    return ReplayBuffer(run / "buffer", cfg.size, cfg.window_games, cfg.net.feature_set, cfg.game_rules().komi,
                        cfg.rescore_share, max(cfg.komi_wide, cfg.komi_spread))


def trained_generation(run: Path) -> int:
    """The generation whose checkpoint holds the trainer's weights (train_state.pt; 0 before any training)."""
    if not (run / TRAIN_STATE).exists():
        return 0
    try:
        return int(load_archive(run / TRAIN_STATE, "training state")["generation"])
    except CheckpointError as e:
        raise TrainError(f"cannot resume: {e}") from None
    except (KeyError, TypeError, ValueError) as e:
        raise TrainError(f"cannot resume: {str(run / TRAIN_STATE)!r} is damaged ({e})") from None


def _trainer(cfg: ZeroConfig, run: Path, device: torch.device, rep: Replica | None = None) -> tuple[Trainer, int]:
    """The network under training and the generation whose checkpoint holds its weights."""
    generation = trained_generation(run)
    model, meta = load_checkpoint(checkpoint_path(run, generation), expect_board_size=cfg.size,
                                  expect_feature_set=cfg.net.feature_set)
    if meta.config != cfg.net_config():
        raise CheckpointError(f"{checkpoint_path(run, generation)} holds {meta.config.name}, the run is "
                              f"{cfg.net_config().name}")
    trainer = Trainer(model, cfg.optim, cfg.generations * cfg.steps_per_generation, device, cfg.value_weight,
                      cfg.aux_weight, replica=rep)
    if (run / TRAIN_STATE).exists():
        trainer.load(run / TRAIN_STATE)
    return trainer, generation


def _gate(cfg: ZeroConfig, run: Path, workers: Workers | RayWorkers, server: ServerAddress | None, show: Dashboard,
          g: int, opponent: int, resign_threshold: float, buffer: ReplayBuffer) -> list[float]:
    """Play (or finish) the gate match of generation g + 1 (its candidate against `opponent`); returns the
    candidate's game scores."""
    n = g + 1
    settings = PlaySettings.match(cfg, resign_threshold)
    scores = gate_scores(run, n)
    show.phase(f"gen {n}/{cfg.generations} gate vs gen {opponent}", cfg.gate_games, len(scores))
    first, second = (str(play_checkpoint(cfg, run, gen, buffer)) for gen in (n, opponent))
    while gate_decision(list(scores.values()), cfg.gate_games, cfg.gate_threshold, cfg.gate_rule) == CONTINUE:
        start = max(scores, default=-1) + 1
        count = min(cfg.gate_games - len(scores), cfg.parallel_games * workers.count)
        sizes = split(count, workers.count, cfg.parallel_games)
        offsets = np.cumsum([0] + sizes)
        tasks = [MatchTask(first, second, settings, tuple(range(start + a, start + b)), _seed(cfg.seed, g, start + a),
                           server)
                 for a, b in zip(offsets[:-1], offsets[1:])]
        for result in workers.run(play_match, tasks):
            log_games(run, [match_record(n, n, opponent, game) for game in result.games])
            scores.update({game.index: game.first_score for game in result.games})
            show.update(len(scores), f"score {sum(scores.values()) / len(scores):.2f}")
    return list(scores.values())


def _save_sgfs(run: Path, cfg: ZeroConfig, n: int, player: int, games: list) -> None:
    """Save the first cfg.sgf_per_generation self-play games of generation n (played by network `player`) as SGF."""
    folder = run / "sgf"
    folder.mkdir(exist_ok=True)
    have = len(list(folder.glob(f"gen-{n:04d}-*.sgf")))
    for i, game in enumerate(games[:max(cfg.sgf_per_generation - have, 0)]):
        state = GameState(cfg.size, cfg.game_rules())
        for point in game.moves:
            state.play(point)
        if game.resigned:
            state.resign()
        name = generation_name(player)
        record = GameRecord.from_state(state, black=name, white=name, game_name=f"generation {n} self-play by {name}",
                                       root_comment=f"rlgo zero self-play, score {game.score:+g} by area")
        save_sgf(folder / f"gen-{n:04d}-{have + i:03d}.sgf", record)


def _metrics_row(cfg: ZeroConfig, run: Path, buffer: ReplayBuffer, state: LoopState, n: int, scores: list[float],
                 decision: str, elo: dict) -> dict:
    """The metrics.csv row of generation n (its self-play, training losses, gate and ratings)."""
    shards = buffer.readable([s for s in buffer.shards() if s.generation == n])
    games = sum(len(d["game_winner"]) for d in shards)
    positions = sum(len(d["to_play"]) for d in shards)
    resigned = sum(int(d["game_resigned"].sum()) for d in shards)
    _, meta = load_checkpoint(checkpoint_path(run, n))
    seconds = max(state.selfplay_seconds, 1e-9)
    cand = elo.get(generation_name(n))
    best = elo.get(generation_name(state.best))
    return {
        "generation": n, "best": state.best, "accepted": int(decision == ACCEPT or not cfg.gating),
        "games": games, "positions": positions, "avg_length": float(sum(int(d["game_length"].sum())
                                                                         for d in shards) / max(games, 1)),
        "resign_rate": resigned / max(games, 1), "resign_threshold": state.resign_threshold,
        "resign_fp_rate": state.resign_fp_rate, "playthrough_games": len(buffer.playthrough(range(n, n + 1))),
        "games_per_s": games / seconds, "positions_per_s": state.selfplay_moves / seconds,
        "buffer_games": buffer.window_games_held(), "buffer_positions": buffer.positions(),
        **{k: v for k, v in meta.metrics.items()},
        "gate_games": len(scores), "gate_score": sum(scores) / max(len(scores), 1),
        "gate_black_share": black_share(run, n),
        "elo": cand.elo if cand else 0.0, "elo_95": (cand.high - cand.elo) if cand else 0.0,
        "best_elo": best.elo if best else 0.0,
    }
