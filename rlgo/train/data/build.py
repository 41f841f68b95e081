"""Build a sharded SGF dataset: filter, replay, dedupe, split by game; resumable and atomic."""
from __future__ import annotations

import dataclasses
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from rlgo.go.sgf import SGFError, parse_sgf
from rlgo.train.data.replay import game_hash, game_samples, is_handicap, is_validation, rank_value
from rlgo.train.data.shards import FIELDS, MANIFEST, Manifest, ShardError, shard_name, write_shard
from rlgo.train.data.sources import Source, iter_sources

SKIP_REASONS = ("unreadable", "malformed", "wrong_size", "handicap", "too_short", "rank", "illegal", "duplicate")
"""Why a record is not used, in the order the checks run."""


class DatasetError(ValueError):
    """A dataset folder built with other options, or invalid build options."""


@dataclass(frozen=True)
class BuildConfig:
    """Which records go into a dataset and how it is split and sharded."""

    size: int = 9
    """Board size; records of other sizes are skipped."""
    min_moves: int = 20
    """Skip games with fewer main-line moves."""
    no_handicap: bool = False
    """Skip handicap games (HA >= 1, or black setup stones only)."""
    min_rank: str = ""
    """Skip games unless both BR and WR are at least this rank ('1d', '5k'; '' = no filter)."""
    val_fraction: float = 0.1
    """Share of games (by a hash of the game id) in the validation split."""
    shard_size: int = 50_000
    """Positions per training shard (a shard holds whole games, so it may run over slightly)."""

    def __post_init__(self):
        if not 0.0 <= self.val_fraction < 1.0:
            raise DatasetError(f"val_fraction must be in [0, 1), got {self.val_fraction!r}")
        if self.shard_size < 1:
            raise DatasetError(f"shard_size must be >= 1, got {self.shard_size!r}")
        if self.min_rank and rank_value(self.min_rank) is None:
            raise DatasetError(f"min_rank must look like '5k', '1d' or '3p', got {self.min_rank!r}")


def classify(source: Source, cfg: BuildConfig) -> tuple[str, dict | None, str]:
    """(skip reason or '', samples, game hash) of one source; never raises on bad records."""
    if source.data is None:
        return "unreadable", None, ""
    try:
        record = parse_sgf(source.data)
    except (SGFError, UnicodeError, ValueError):
        return "malformed", None, ""
    if record.size != cfg.size:
        return "wrong_size", None, ""
    if cfg.no_handicap and is_handicap(record):
        return "handicap", None, ""
    if len(record.moves) < cfg.min_moves:
        return "too_short", None, ""
    if cfg.min_rank:
        ranks = (rank_value(record.black_rank), rank_value(record.white_rank))
        if None in ranks or min(ranks) < rank_value(cfg.min_rank):
            return "rank", None, ""
    try:
        samples = game_samples(record)
    except (SGFError, ValueError):
        return "illegal", None, ""
    return "", samples, game_hash(record)


class _Builder:
    """Buffers whole games and flushes train/val shards plus the manifest together."""

    def __init__(self, out: Path, manifest: Manifest, cfg: BuildConfig):
        self.out, self.manifest, self.cfg = out, manifest, cfg
        self.hashes = set(manifest.game_hashes)
        self.games: dict[str, list[tuple[str, dict]]] = {"train": [], "val": []}
        self.done: list[str] = []
        self.new_hashes: list[str] = []
        self.stats: Counter = Counter()

    def add(self, source: Source) -> str:
        """Process one source; returns its skip reason or the split it went to."""
        reason, samples, digest = classify(source, self.cfg)
        if not reason and (digest in self.hashes):
            reason = "duplicate"
        self.done.append(source.key)
        self.stats["sources"] += 1
        if reason:
            self.stats[reason] += 1
            return reason
        split = "val" if is_validation(source.key, self.cfg.val_fraction) else "train"
        self.hashes.add(digest)
        self.new_hashes.append(digest)
        self.games[split].append((source.key, samples))
        self.stats["games"] += 1
        self.stats[f"positions_{split}"] += len(samples["move"])
        if sum(len(s["move"]) for _, s in self.games["train"]) >= self.cfg.shard_size:
            self.flush()
        return split

    def flush(self) -> None:
        """Write the buffered games as shard files, then record them in the manifest."""
        if not self.done:
            return
        entry = {"index": len(self.manifest.shards)}
        for split, games in self.games.items():
            entry[split] = sum(len(s["move"]) for _, s in games)
            if games:
                arrays = {k: np.concatenate([s[k] for _, s in games]) for k in FIELDS if k != "game"}
                arrays["game"] = np.concatenate([np.full(len(s["move"]), i, np.int32)
                                                 for i, (_, s) in enumerate(games)])
                write_shard(self.out / shard_name(split, entry["index"]), self.cfg.size, arrays,
                            [key for key, _ in games])
        m = self.manifest
        if entry["train"] or entry["val"]:
            m.shards.append(entry)
        m.done += self.done
        m.game_hashes += self.new_hashes
        m.stats = dict(Counter(m.stats) + self.stats)
        m.save(self.out)
        self.games = {"train": [], "val": []}
        self.done, self.new_hashes, self.stats = [], [], Counter()


def open_manifest(out: Path, cfg: BuildConfig) -> Manifest:
    """The manifest to continue (same options required) or a fresh one."""
    config = dataclasses.asdict(cfg)
    if not (out / MANIFEST).exists():
        return Manifest(size=cfg.size, config=config)
    manifest = Manifest.load(out)
    if manifest.config != config:
        raise DatasetError(f"{str(out)!r} was built with {manifest.config}, not {config}; use another folder")
    return manifest


def build_dataset(inputs: str | os.PathLike, out: str | os.PathLike, cfg: BuildConfig,
                  on_source: Callable[[str, str], None] = lambda key, status: None) -> Manifest:
    """Add every not yet processed SGF under `inputs` to the dataset in `out`; returns the manifest.

    Skipped records are counted by reason in manifest.stats (see SKIP_REASONS). Interrupted
    (Ctrl-C), the folder keeps only complete shards and a rerun continues after the last one.
    Raises SourceError for a missing input, DatasetError / ShardError for a foreign `out`.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".*.tmp"):
        stale.unlink()
    builder = _Builder(out, open_manifest(out, cfg), cfg)
    for source in iter_sources(inputs, skip=frozenset(builder.manifest.done)):
        on_source(source.key, builder.add(source))
    builder.flush()
    return builder.manifest


__all__ = ["BuildConfig", "DatasetError", "ShardError", "SKIP_REASONS", "build_dataset", "classify"]
