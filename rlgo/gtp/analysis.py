"""Streaming analysis for GUIs: `lz-analyze` (Leela Zero / Sabaki / Lizzie) and `kata-analyze`.

The engine answers `=id`, then Agent.ponder runs in a thread while another thread prints one
`info ...` line every `interval` centiseconds from Agent.analysis(); the next command (or EOF)
stops both and ends the response with a blank line.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Callable

from rlgo.go import coords
from rlgo.go.state import GameState
from rlgo.gtp.protocol import GTPCommandError, parse_color, parse_int

DEFAULT_INTERVAL_CS = 100
"""Centiseconds between info lines when the command gives no interval."""


@dataclass(frozen=True)
class AnalyzeRequest:
    """Arguments of an analyze command."""

    color: int | None
    """Side to move to analyse for (None: the position's side to move)."""
    interval_cs: int
    """Centiseconds between info lines."""
    max_moves: int
    """Candidates per line (0 = all)."""


def parse_analyze_args(args: tuple[str, ...]) -> AnalyzeRequest:
    """`[color] [interval] [interval N] [maxmoves N] [minmoves N] [ownership B]` in any order after the colour."""
    color, interval, max_moves = None, DEFAULT_INTERVAL_CS, 0
    rest = list(args)
    if rest and rest[0].lower() in ("b", "w", "black", "white"):
        color = parse_color(rest.pop(0))
    if rest and rest[0].isdigit():
        interval = parse_int(rest.pop(0), "interval")
    while rest:
        key = rest.pop(0)
        if not rest:
            raise GTPCommandError(f"syntax error: {key!r} needs a value")
        value = rest.pop(0)
        if key == "interval":
            interval = parse_int(value, "interval")
        elif key == "maxmoves":
            max_moves = parse_int(value, "maxmoves")
        elif key in ("minmoves", "ownership", "pvVisits", "rootInfo"):
            continue  # accepted for GUI compatibility; nothing to add for them
        else:
            raise GTPCommandError(f"syntax error: unknown analyze option {key!r}")
    if interval < 0 or max_moves < 0:
        raise GTPCommandError("syntax error: interval and maxmoves must not be negative")
    return AnalyzeRequest(color, interval, max_moves)


def lcb(winrate: float, visits: int) -> float:
    """Lower 95% confidence bound of a win rate from `visits` samples (0 with no visits)."""
    if visits <= 0:
        return 0.0
    return max(0.0, winrate - 1.96 * math.sqrt(max(winrate * (1 - winrate), 1e-4) / visits))


def format_info(infos, size: int, kata: bool) -> str:
    """One `info move ...` line for all candidates (MoveInfo list, best first)."""
    parts = []
    for order, info in enumerate(infos):
        pv = " ".join(coords.to_gtp(int(p), size) for p in (info.pv or [info.move]))
        move = coords.to_gtp(int(info.move), size)
        bound = lcb(info.winrate, info.visits)
        if kata:
            lead = float(getattr(info, "score_lead", 0.0))
            parts.append(f"info move {move} visits {info.visits} utility {2 * info.winrate - 1:.6f} "
                         f"winrate {info.winrate:.6f} scoreMean {lead:.3f} scoreLead {lead:.3f} "
                         f"prior {info.prior:.6f} lcb {bound:.6f} order {order} pv {pv}")
        else:
            parts.append(f"info move {move} visits {info.visits} winrate {round(10000 * info.winrate)} "
                         f"prior {round(10000 * info.prior)} lcb {round(10000 * bound)} order {order} pv {pv}")
    return " ".join(parts)


class AnalysisStream:
    """Ponder in one thread, print info lines in another, until `stop()`."""

    def __init__(self, agent, state: GameState, request: AnalyzeRequest, kata: bool,
                 write: Callable[[str], None]):
        self.agent, self.state, self.request, self.kata, self.write = agent, state, request, kata, write
        self._done = threading.Event()
        self._ponder = threading.Thread(target=self._run_ponder, name="gtp-ponder", daemon=True)
        self._printer = threading.Thread(target=self._run_printer, name="gtp-analysis", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        """Start pondering and printing."""
        self._ponder.start()
        self._printer.start()

    def stop(self) -> None:
        """Stop the search and the printer; returns once neither writes any more."""
        self._done.set()
        self.agent.stop()
        self._printer.join()
        self._ponder.join()

    def _run_ponder(self) -> None:
        try:
            self.agent.ponder(self.state)
        except Exception as exc:  # reported on stderr by the server; the stream just ends
            self.error = exc

    def _run_printer(self) -> None:
        period = max(self.request.interval_cs, 1) / 100.0
        while not self._done.wait(period):
            infos = self.agent.analysis()
            if self.request.max_moves:
                infos = infos[:self.request.max_moves]
            if infos and not self._done.is_set():
                self.write(format_info(infos, self.state.size, self.kata) + "\n")
