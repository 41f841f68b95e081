"""The compact state of a zero run: what `rlgo train zero --resume` needs, small enough to commit.

Kept: config.json, state.json, best.json, train_state.pt, results.jsonl (the Elo history),
metrics.csv, the fp32 checkpoints the next step reads (best network, the trainer's weights,
the previous generation it is rated against, the candidate awaiting its gate) and the replay
shards of the last few generations; self-play refills the rest of the window after the resume
(with `--window-scaled-steps` the training steps follow the window's size meanwhile). Left out:
older checkpoints and shards, int8 copies (re-made on first use), SGF samples, TensorBoard logs.

A live run may be compacted: its files are replaced atomically, and the copy is retried until
state.json reads the same before and after it, so the copy is of one moment of the run.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from rlgo.train.zero.buffer import list_shards
from rlgo.train.zero.loop import CONFIG, STATE, TRAIN_STATE, LoopState, checkpoint_path, trained_generation
from rlgo.train.zero.storage import BEST, RunFileError, read_best, read_json

FILES = (CONFIG, BEST, TRAIN_STATE, "results.jsonl", "metrics.csv")
"""Run files copied whole (state.json is copied last, as read at the start)."""
ATTEMPTS = 5


def needed_generations(run: Path) -> set[int]:
    """Generations whose checkpoints `--resume` of `run` reads next."""
    state = _state(run)
    needed = {read_best(run)[0], trained_generation(run), state.generation}
    if state.phase == "gate":
        needed.add(state.generation + 1)
    return needed


def _state(run: Path) -> LoopState:
    try:
        return LoopState(**read_json(run / STATE))
    except TypeError as e:
        raise RunFileError(f"{str(run / STATE)!r} is damaged ({e})") from None


def compact_run(run: str | os.PathLike, out: str | os.PathLike, generations: int = 4) -> dict:
    """Write the compact state of zero run `run` to folder `out` (replacing it); returns what was kept:
    {"generation", "checkpoints": [...], "shards": n, "bytes": total}."""
    run, out = Path(run), Path(out)
    if generations < 1:
        raise ValueError(f"generations must be >= 1, got {generations}")
    if not (run / STATE).is_file():
        raise RunFileError(f"{str(run)!r} is not a zero run folder (no {STATE})")
    if out.resolve() == run.resolve() or run.resolve() in out.resolve().parents:
        raise ValueError(f"the compact state must go outside the run folder, not {str(out)!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(ATTEMPTS):
        before = (run / STATE).read_bytes()
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
        try:
            kept = _copy(run, tmp, generations)
            (tmp / STATE).write_bytes(before)
            if (run / STATE).read_bytes() == before:
                _replace_folder(tmp, out)
                return kept
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    raise RunFileError(f"{str(run)!r} kept changing during {ATTEMPTS} copies; try again")


def _copy(run: Path, tmp: Path, generations: int) -> dict:
    for name in FILES:
        if (run / name).exists():
            shutil.copy2(run / name, tmp / name)
    (tmp / "checkpoints").mkdir()
    checkpoints = sorted(needed_generations(run))
    for g in checkpoints:
        shutil.copy2(checkpoint_path(run, g), checkpoint_path(tmp, g))
    (tmp / "buffer").mkdir()
    shards = list_shards(run / "buffer")
    newest = max((s.generation for s in shards), default=0)
    kept = [s for s in shards if s.generation > newest - generations]
    for s in kept:
        shutil.copy2(s.path, tmp / "buffer" / s.path.name)
    size = sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file())
    return {"generation": _state(run).generation, "checkpoints": checkpoints,
            "shards": len(kept), "bytes": size}


def _replace_folder(new: Path, out: Path) -> None:
    """Move folder `new` onto `out`; a crash leaves the old folder or the new one (or both, the old one renamed)."""
    new.chmod(0o755)
    if not out.exists():
        os.replace(new, out)
        return
    old = out.with_name(f".{out.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(out, old)
    os.replace(new, out)
    shutil.rmtree(old)
