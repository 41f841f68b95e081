"""How `rlgo analysis` (KataGo's JSON analysis engine protocol) runs queries (no Numba here:
`rlgo analysis --help` builds its options from it)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Perspective = Literal["BLACK", "WHITE", "SIDETOMOVE"]
PERSPECTIVES = get_args(Perspective)
"""The values of KataGo's reportAnalysisWinratesAs."""


@dataclass(frozen=True)
class AnalysisConfig:
    """How the analysis engine runs queries."""

    workers: int = 2
    """Queries searched at the same time, each with its own agent."""
    max_visits: int = 500
    """Visits per position when a query gives no maxVisits."""
    report_as: Perspective = "BLACK"
    """Perspective of every value, as reportAnalysisWinratesAs (KataGo's example config's; a query's
    overrideSettings may change it)."""

    def __post_init__(self):
        if self.report_as not in PERSPECTIVES:
            raise ValueError(f"report_as must be one of {', '.join(PERSPECTIVES)}, got {self.report_as!r}")
        if self.workers < 1 or self.max_visits < 1:
            raise ValueError(f"workers and max_visits must be >= 1, got {self.workers}, {self.max_visits}")
