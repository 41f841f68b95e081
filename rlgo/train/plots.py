"""PNG figures of a training run's metrics.csv (any loop: zero, sl, pg, value), with matplotlib.

matplotlib is the optional extra `plot` (pip install "rlgo[plot]"); it is imported only here,
when a figure is drawn. A figure is drawn when the run has its columns:

    losses.png    every column with "loss" in its name
    elo.png       elo with its 95% interval per generation, and the best network's Elo (zero)
    speed.png     every "*_per_s" column (games/s, positions/s, training samples/s), one panel each
    resign.png    false-positive resignations, resignations, and the resign threshold (zero)
    accuracy.png  top-1 / top-5 accuracy and win rates (sl, pg)
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

from rlgo.atomic import atomic_write
from rlgo.train.common import MetricsLogger, TrainError

FIGURE_NAMES = ("losses", "elo", "speed", "resign", "accuracy")


class PlotError(TrainError):
    """A run folder without metrics to plot, or matplotlib missing."""


def read_columns(run: str | os.PathLike) -> dict[str, list[float]]:
    """The numeric columns of RUN/metrics.csv (a blank or text cell is NaN)."""
    path = Path(run) / "metrics.csv"
    if not path.exists():
        raise PlotError(f"{str(run)!r} has no metrics.csv (is it a training run folder?)")
    rows = MetricsLogger.read(path)
    if not rows:
        raise PlotError(f"{path} has no rows yet")
    columns = {}
    for name in rows[0]:
        values = [_number(row.get(name)) for row in rows]
        if any(not math.isnan(v) for v in values):
            columns[name] = values
    return columns


def plot_run(run: str | os.PathLike, out: str | os.PathLike | None = None) -> list[Path]:
    """Write the figures the run's metrics allow into `out` (default RUN/plots); returns their paths."""
    columns = read_columns(run)  # a folder without metrics is the error to report, with or without matplotlib
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotError('rlgo plot needs matplotlib: pip install "rlgo[plot]" (or pip install matplotlib)') from None
    x = columns.get("generation") or columns["step"]
    xlabel = "generation" if "generation" in columns else "step"
    folder = Path(out) if out is not None else Path(run) / "plots"
    folder.mkdir(parents=True, exist_ok=True)
    target = _resign_target(run)
    written = []
    for name in FIGURE_NAMES:
        panels = _PANELS[name](columns)
        if not panels:
            continue
        figure = Figure(figsize=(8, 3.2 * len(panels)), layout="constrained")
        axes = figure.subplots(len(panels), 1, squeeze=False)[:, 0]
        for ax, draw in zip(axes, panels):
            draw(ax, x, columns, target)
            ax.set_xlabel(xlabel)
            ax.grid(alpha=0.3)
        figure.suptitle(f"{Path(run).name}: {name}")
        path = folder / f"{name}.png"
        atomic_write(path, lambda f: figure.savefig(f, format="png", dpi=100))
        written.append(path)
    return written


# ----------------------------------------------------------------- panels
def _lines(names: list[str], ylabel: str):
    def draw(ax, x, columns, target):
        for name in names:
            ax.plot(x, columns[name], marker=".", label=name)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize="small")
    return draw


def _elo(ax, x, columns, target) -> None:
    low_high = columns.get("elo_95", [0.0] * len(x))
    ax.errorbar(x, columns["elo"], yerr=low_high, fmt="o-", markersize=3, capsize=2,
                label="candidate Elo, 95% interval")
    if "best_elo" in columns:
        ax.step(x, columns["best_elo"], where="post", label="best network")
    ax.set_ylabel("Elo (generation 0 = 0)")
    ax.legend(fontsize="small")


def _resign(ax, x, columns, target) -> None:
    for name in ("resign_fp_rate", "resign_rate"):
        if name in columns:
            ax.plot(x, columns[name], marker=".", label=name)
    if target is not None:
        ax.axhline(target, color="grey", linestyle="--", label="resign_fp_target")
    ax.set_ylabel("share of games")
    ax.legend(fontsize="small", loc="upper left")
    if "resign_threshold" in columns:
        right = ax.twinx()
        right.plot(x, columns["resign_threshold"], color="black", alpha=0.6, label="resign_threshold")
        right.set_ylabel("resign threshold (value)")
        right.legend(fontsize="small", loc="upper right")


_PANELS = {
    "losses": lambda c: [_lines(names, "loss")] if (names := [n for n in c if "loss" in n]) else [],
    "elo": lambda c: [_elo] if "elo" in c else [],
    "speed": lambda c: [_lines([n], n.replace("_per_s", " per second")) for n in c if n.endswith("_per_s")],
    "resign": lambda c: [_resign] if "resign_fp_rate" in c else [],
    "accuracy": lambda c: [_lines(names, "share")] if (names := [n for n in c if "top" in n or "win_rate" in n])
    else [],
}


def _resign_target(run) -> float | None:
    try:
        return float(json.loads((Path(run) / "config.json").read_text())["resign_fp_target"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _number(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan
