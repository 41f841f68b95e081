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


class RunFileError(ValueError):
    """A run file that is damaged or points at something that does not exist."""


def read_json(path: str | os.PathLike) -> dict:
    """Read a JSON object; FileNotFoundError when missing, RunFileError when it holds no JSON object."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RunFileError(f"{str(path)!r} is damaged (not JSON: {e})") from None
    if not isinstance(data, dict):
        raise RunFileError(f"{str(path)!r} is damaged (holds no JSON object)")
    return data


def read_best(run: str | os.PathLike) -> tuple[int, Path]:
    """(generation, checkpoint path) of a zero run folder's best.json; RunFileError unless that checkpoint exists."""
    run = Path(run)
    best = read_json(run / BEST)
    try:
        generation, path = int(best["generation"]), run / best["checkpoint"]
    except (KeyError, TypeError, ValueError) as e:
        raise RunFileError(f"{str(run / BEST)!r} is damaged ({type(e).__name__}: {e})") from None
    if not path.is_file():
        raise RunFileError(f"{str(run / BEST)!r} names the checkpoint {str(path)!r}, which does not exist")
    return generation, path
