"""Live progress of a zero run (rich): a bar per phase, one line per generation, a summary table."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from rlgo.train.common import progress_bar

SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    """Unicode bar per value, scaled between the smallest and the largest."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(SPARKS[int((v - low) / span * (len(SPARKS) - 1))] for v in values)


def _f(row: dict, key: str, fmt: str = ".3g") -> str:
    value = row.get(key, "")
    try:
        return format(float(value), fmt)
    except (TypeError, ValueError):
        return str(value)


def duration(seconds: float) -> str:
    """'45s', '12m', '3h05m'."""
    seconds = max(int(round(seconds)), 0)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def remaining_time(elapsed: float, generations_done: int, generations_left: int, seconds_left: float) -> str:
    """Whole-run ETA from the generations this process finished in `elapsed` seconds: 'run done in ~1h20m
    (12 generations at 6m each)', or the --hours limit when it comes first."""
    if generations_done <= 0 or generations_left <= 0:
        return ""
    each = elapsed / generations_done
    if seconds_left < each * generations_left:
        return (f"--hours ends the run in ~{duration(seconds_left)} (about {int(seconds_left // each)} more "
                f"generations at {duration(each)} each)")
    plural = "s" if generations_left > 1 else ""
    return (f"run done in ~{duration(each * generations_left)} ({generations_left} generation{plural} at "
            f"{duration(each)} each)")


def generation_line(row: dict, elo_curve: list[float], eta: str = "") -> str:
    """One line of what a generation did (values of a metrics row), then the run's ETA."""
    verdict = "accepted" if str(row.get("accepted")) in ("1", "True") else "rejected"
    return (f"gen {row['generation']}: {row['games']} games ({_f(row, 'games_per_s')} games/s, "
            f"{_f(row, 'positions_per_s', '.0f')} pos/s, resign {_f(row, 'resign_threshold', '.2f')}) | "
            f"buffer {row['buffer_games']} games | loss {_f(row, 'loss')} (policy {_f(row, 'policy_loss')}, "
            f"value {_f(row, 'value_loss')}) | gate {_f(row, 'gate_score', '.2f')} in {row['gate_games']} "
            f"(Black won {_f(row, 'gate_black_share', '.0%')}) -> {verdict} | Elo {_f(row, 'elo', '+.0f')} ±{_f(row, 'elo_95', '.0f')} {sparkline(elo_curve)}"
            + (f" | {eta}" if eta else ""))


def summary_table(rows: list[dict]) -> Table:
    """Per-generation table of a run's metrics rows."""
    table = Table(title="zero run")
    columns = [("gen", "generation", "d"), ("games", "games", "d"), ("pos/s", "positions_per_s", ".0f"),
               ("loss", "loss", ".3f"), ("policy", "policy_loss", ".3f"), ("value", "value_loss", ".3f"),
               ("gate", "gate_score", ".2f"), ("n", "gate_games", "d"), ("best", "best", "d"),
               ("Elo", "elo", "+.0f"), ("±95", "elo_95", ".0f")]
    for title, _, _ in columns:
        table.add_column(title, justify="right")
    for row in rows:
        table.add_row(*[_f(row, key, ".0f" if fmt == "d" else fmt) for _, key, fmt in columns])
    return table


class Dashboard:
    """Progress bars per phase plus printed generation lines (works in a terminal and under nohup)."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.bar = progress_bar(self.console)
        self.task = None

    def __enter__(self) -> "Dashboard":
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()

    def phase(self, description: str, total: int, completed: int = 0) -> None:
        """Replace the bar with one for a new phase."""
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.task = self.bar.add_task(description, total=total, completed=completed, info="")

    def update(self, completed: int, info: str = "") -> None:
        """Move the current bar."""
        self.bar.update(self.task, completed=completed, info=info)

    def print(self, text) -> None:
        """A line (or rich renderable) above the bar."""
        self.console.print(text)
