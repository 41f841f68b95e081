"""JSON files of a run folder, written atomically (rlgo.atomic)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from rlgo.atomic import write_text_atomic

BEST = "best.json"
"""The pointer to a run's best network: {"generation": g, "checkpoint": "checkpoints/gen-000g.pt"}."""


def write_json(path: str | os.PathLike, data: dict) -> None:
    """Write `data` as indented JSON atomically."""
    write_text_atomic(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike) -> dict:
    """Read a JSON object (FileNotFoundError / ValueError propagate to the caller)."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError(f"{str(path)!r} does not hold a JSON object")
    return data


def read_best(run: str | os.PathLike) -> tuple[int, Path]:
    """(generation, checkpoint path) of a zero run folder's best.json."""
    run = Path(run)
    best = read_json(run / BEST)
    return int(best["generation"]), run / best["checkpoint"]
