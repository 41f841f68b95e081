"""Benchmarks run by `rlgo bench`: each benchmarks/bench_<name>.py exposes `run(quick=False) -> dict`.

`run` prints its own table and returns its figures by name (floats; units in the names).
Timing targets live here, never as assertions in tests.
"""
from rich.table import Table


def figure_table(title: str, rows: list[tuple[str, str, str]], figures: dict[str, float]) -> Table:
    """A two-column rich table of `figures`: rows are (key, label, format such as '{:,.0f}'); absent keys skipped."""
    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, label, fmt in rows:
        if key in figures:
            table.add_row(label, fmt.format(figures[key]))
    return table
