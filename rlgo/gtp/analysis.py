"""Streaming analysis for GUIs: `lz-analyze` / `kata-analyze` and their `genmove_analyze` twins.

Formats follow KataGo's docs/GTP_Extensions.md. Every value is for the side to move of the
analysed position. `lz-analyze` prints Leela Zero's fields (winrate, prior, lcb as integers in
1/10000); `kata-analyze` prints floats: winrate, utility (rlgo's search maximises the win
probability only, so utility = 2 * winrate - 1 and utilityLcb = 2 * lcb - 1), scoreLead =
scoreMean = scoreSelfplay (the expected final margin after the move) and scoreStdev, prior, lcb,
order, pv; with `ownership true` an `ownership` field of N*N values in [-1, 1] (network ownership
head, else rollouts), with `movesOwnership true` the same per move, with `rootInfo true` the root's
totals.

Where scores come from: a search that keeps scores (rollout search: rlgo.search.mcts) gives each
visited move the mean and spread of the final margins backed up under it (MoveInfo.score_lead /
score_stdev; no spread below 2 visits), and rootInfo pools them by visits. Otherwise, and for the
unvisited moves `minmoves` adds, the agent's estimate of the position after the move: the
network's score head where it has one (a mean only), else random rollouts from it (mean and spread).

`avoid` / `allow` (MoveFilter) restrict the agent's search itself for the stream (Agent.restrict,
rlgo.search.filters); the lines leave the banned root moves out as well.

`AnalysisStream`: Agent.ponder in one thread (none for genmove_analyze, whose genmove runs the
search), a printer thread that writes an `info` line every `interval` centiseconds from
Agent.analysis() and skips lines identical to the last one, until `stop()`.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from rlgo.go import coords
from rlgo.go.state import GameState
from rlgo.gtp.protocol import GTPCommandError, parse_color, parse_int, parse_vertex
from rlgo.search.filters import MoveFilter

DEFAULT_INTERVAL_CS = 100
"""Centiseconds between info lines when the command gives no interval."""
NEW_PER_LINE = 10
"""Candidates newly judged for one info line; less visited ones wait for later lines (KataGo's docs allow a
line to leave moves out; rootInfo counts every visit)."""
ROLLOUTS_PER_BATCH = 640
"""Random rollouts shared by the positions judged at once (16 to 100 each) for agents without score heads:
about 0.2 s on 19x19, so the printer leaves the search most of the time."""
KATA_FLAGS = ("ownership", "movesOwnership", "rootInfo")
"""kata-analyze `KEY true|false` options rlgo answers."""
UNSUPPORTED_FLAGS = ("ownershipStdev", "movesOwnershipStdev", "pvVisits", "pvEdgeVisits", "noResultValue")
"""kata-analyze options rlgo cannot answer with `true` (accepted with `false`)."""


@dataclass(frozen=True)
class AnalyzeRequest:
    """Arguments of an analyze command."""

    color: int | None
    """Side to move to analyse for (None: the position's side to move)."""
    interval_cs: int
    """Centiseconds between info lines."""
    max_moves: int
    """Candidates per line at most (0 = all)."""
    min_moves: int = 0
    """Candidates per line at least, unvisited legal moves added (visits 0)."""
    flags: frozenset = frozenset()
    """kata-analyze options set true (KATA_FLAGS)."""
    filters: tuple = ()
    """MoveFilter clauses (avoid / allow)."""


def parse_analyze_args(args: tuple[str, ...], size: int = 19, kata: bool = True) -> AnalyzeRequest:
    """`[color] [interval] KEY VALUE ...` as in KataGo's docs; GTPCommandError names the bad part."""
    color, interval, max_moves, min_moves, flags, filters = None, DEFAULT_INTERVAL_CS, 0, 0, set(), []
    rest = list(args)
    if rest and rest[0].lower() in ("b", "w", "black", "white"):
        color = parse_color(rest.pop(0))
    if rest and rest[0].isdigit():
        interval = parse_int(rest.pop(0), "interval")
    while rest:
        key = rest.pop(0)
        if key in ("avoid", "allow"):
            if len(rest) < 3:
                raise GTPCommandError(f"syntax error: {key} needs PLAYER VERTEX,VERTEX,... UNTILDEPTH")
            who, vertices, depth = parse_color(rest.pop(0)), rest.pop(0), parse_int(rest.pop(0), "untilDepth")
            if depth < 1:
                raise GTPCommandError(f"syntax error: untilDepth must be >= 1, got {depth}")
            points = frozenset(parse_vertex(v, size) for v in vertices.split(",") if v)
            filters.append(MoveFilter(who, points, depth, key == "allow"))
            continue
        if not rest:
            raise GTPCommandError(f"syntax error: {key!r} needs a value")
        value = rest.pop(0)
        if key == "interval":
            interval = parse_int(value, "interval")
        elif key == "maxmoves":
            max_moves = parse_int(value, "maxmoves")
        elif key == "minmoves":
            min_moves = parse_int(value, "minmoves")
        elif kata and key in KATA_FLAGS + UNSUPPORTED_FLAGS:
            if value not in ("true", "false"):
                raise GTPCommandError(f"syntax error: {key} must be true or false, got {value!r}")
            if value == "true" and key in UNSUPPORTED_FLAGS:
                raise GTPCommandError(f"{key} is not supported by rlgo")
            if value == "true":
                flags.add(key)
        else:
            raise GTPCommandError(f"syntax error: unknown analyze option {key!r}")
    if interval < 0 or max_moves < 0 or min_moves < 0:
        raise GTPCommandError("syntax error: interval, maxmoves and minmoves must not be negative")
    allows = [f for f in filters if f.allow]
    if allows and (len(allows) > 1 or len(allows) != len(filters)):
        raise GTPCommandError("syntax error: allow may be given once and not together with avoid")
    return AnalyzeRequest(color, interval, max_moves, min_moves, frozenset(flags), tuple(filters))


def lcb(winrate: float, visits: int) -> float:
    """Lower 95% confidence bound of a win rate from `visits` samples (0 with no visits)."""
    if visits <= 0:
        return 0.0
    return max(0.0, winrate - 1.96 * math.sqrt(max(winrate * (1 - winrate), 1e-4) / visits))


@dataclass
class Judged:
    """What the stream adds to an agent's candidates: estimates of the positions after each move."""

    agent: object
    state: GameState
    children: dict = field(default_factory=dict)
    """move -> Estimate of the position after it (that position's side to move's view)."""
    root: object = None
    """Estimate of the analysed position."""

    def of_root(self):
        if self.root is None:
            self.root = self.agent.estimate([self.state])[0]
        return self.root

    def of_moves(self, moves: list[int]) -> None:
        """Estimate the positions after `moves` not yet judged (one batch)."""
        todo = [m for m in dict.fromkeys(moves) if m not in self.children]
        if not todo:
            return
        states = []
        for move in todo:
            child = self.state.copy()
            child.reopen()
            child.play(move)
            states.append(child)
        rollouts = max(16, min(100, ROLLOUTS_PER_BATCH // len(todo)))
        for move, est in zip(todo, self.agent.estimate(states, rollouts=rollouts)):
            self.children[move] = est


@dataclass(frozen=True)
class Shown:
    """One candidate as printed (an agent's MoveInfo completed by `complete`), side to move's view."""

    move: int
    visits: int
    winrate: float
    prior: float
    pv: list
    score_lead: float | None
    score_stdev: float | None
    ownership: np.ndarray | None
    """float [N*N] ownership after the move (movesOwnership), or None."""


def complete(infos: list, judged: Judged, request: AnalyzeRequest, scores: bool = True,
             new_limit: int | None = None) -> list[Shown]:
    """Candidates to print: filtered by avoid/allow, at least min_moves (unvisited legal moves added by
    prior; the agent's estimate after the move gives their win rate), at most max_moves, each with the
    score of the position after it where the agent gave none (when `scores`); with `new_limit`, at most
    that many positions (or min_moves) are judged now and the list stops before the first one still unjudged."""
    state = judged.state
    color = state.to_play
    infos = [i for i in infos if not any(f.bans(i.move, color) for f in request.filters)]
    shown = [Shown(int(i.move), int(i.visits), float(i.winrate), float(i.prior), list(i.pv or [i.move]),
                   i.score_lead, i.score_stdev, None) for i in infos]
    if request.min_moves > len(shown):
        listed = {s.move for s in shown}
        legal = [int(p) for p in np.flatnonzero(state.legal_mask())
                 if p not in listed and not any(f.bans(int(p), color) for f in request.filters)]
        policy = judged.of_root().policy
        priors = {p: float(policy[p]) if policy is not None else 1.0 / len(legal) for p in legal}
        extra = sorted(legal, key=lambda p: -priors[p])[:request.min_moves - len(shown)]
        judged.of_moves(extra)
        shown += [Shown(p, 0, 1.0 - judged.children[p].winrate, priors[p], [p], None, None, None) for p in extra]
    if request.max_moves:
        shown = shown[:request.max_moves]
    moves_ownership = "movesOwnership" in request.flags
    needed = [s.move for s in shown if (scores and s.score_lead is None) or moves_ownership]
    fresh = [m for m in needed if m not in judged.children]
    judged.of_moves(fresh if new_limit is None else fresh[:max(new_limit, request.min_moves)])
    out = []
    for s in shown:
        child = judged.children.get(s.move)
        if s.move in needed and child is None:
            break
        if scores and s.score_lead is None:
            s = replace(s, score_lead=-child.score_lead, score_stdev=child.score_stdev)
        if moves_ownership:
            s = replace(s, ownership=-child.ownership)
        out.append(s)
    return out


def format_info(shown: list[Shown], size: int, kata: bool) -> str:
    """The `info move ...` parts of all candidates (best first)."""
    parts = []
    for order, info in enumerate(shown):
        pv = " ".join(coords.to_gtp(int(p), size) for p in info.pv)
        move = coords.to_gtp(info.move, size)
        bound = lcb(info.winrate, info.visits)
        if kata:
            parts.append(f"info move {move} visits {info.visits} utility {2 * info.winrate - 1:.6f} "
                         f"winrate {info.winrate:.6f} {_score_fields(info.score_lead, info.score_stdev)}"
                         f"prior {info.prior:.6f} lcb {bound:.6f} utilityLcb {2 * bound - 1:.6f} "
                         f"order {order} pv {pv}"
                         + ("" if info.ownership is None else " movesOwnership " + _floats(info.ownership)))
        else:
            parts.append(f"info move {move} visits {info.visits} winrate {round(10000 * info.winrate)} "
                         f"prior {round(10000 * info.prior)} lcb {round(10000 * bound)} order {order} pv {pv}")
    return " ".join(parts)


def format_root(infos: list, judged: Judged, request: AnalyzeRequest) -> str:
    """The `rootInfo ...` and `ownership ...` fields kata-analyze asked for (leading space), or ''; the root's
    visits and win rate are totals over all the agent's candidates `infos`."""
    out = ""
    if "rootInfo" in request.flags:
        root = judged.of_root()
        visits = sum(i.visits for i in infos)
        winrate = (sum(i.winrate * i.visits for i in infos) / visits) if visits else root.winrate
        out += (f" rootInfo visits {visits} utility {2 * winrate - 1:.6f} winrate {winrate:.6f} "
                + _score_fields(*root_score(infos, root)).rstrip())
    if "ownership" in request.flags:
        out += " ownership " + _floats(judged.of_root().ownership)
    return out


def root_score(infos: list, root) -> tuple[float | None, float | None]:
    """(lead, stdev) of the analysed position for its side to move: the candidates' search statistics pooled
    by visits where every visited candidate has them (a search that keeps scores), else the estimate `root`."""
    visited = [i for i in infos if i.visits > 0]
    if not visited or any(i.score_lead is None or i.score_stdev is None for i in visited):
        return root.score_lead, root.score_stdev
    n = sum(i.visits for i in visited)
    mean = sum(i.visits * i.score_lead for i in visited) / n
    square = sum(i.visits * (i.score_stdev ** 2 + i.score_lead ** 2) for i in visited) / n
    return mean, math.sqrt(max(square - mean * mean, 0.0))


def format_raw_nn(est, to_play_black: bool, symmetry: int) -> str:
    """kata-raw-nn's `symmetry K key values ...` for one network estimate (fill=False), White's view
    where KataGo's keys say white; keys of heads the network lacks are left out."""
    sign = -1.0 if to_play_black else 1.0  # side to move -> White
    lines = [f"symmetry {symmetry}"]
    if est.winrate is not None:
        white = est.winrate if sign > 0 else 1.0 - est.winrate
        lines.append(f"whiteWin {white:.6f}\nwhiteLoss {1.0 - white:.6f}\nnoResult 0")
    if est.score_lead is not None:
        lines.append(f"whiteLead {sign * est.score_lead:.3f}\nwhiteScoreSelfplay {sign * est.score_lead:.3f}")
    if est.policy is not None:
        n2 = len(est.policy) - 1
        side = int(round(math.sqrt(n2)))
        rows = [" ".join("NAN" if p <= 0 else f"{p:.6f}" for p in est.policy[r * side:(r + 1) * side])
                for r in range(side)]
        lines.append("policy\n" + "\n".join(rows) + f"\npolicyPass {est.policy[-1]:.6f}")
    if est.ownership is not None:
        own = sign * est.ownership
        side = int(round(math.sqrt(len(own))))
        lines.append("whiteOwnership\n" + "\n".join(_floats(own[r * side:(r + 1) * side]) for r in range(side)))
    return "\n".join(lines)


def _score_fields(lead: float | None, stdev: float | None) -> str:
    """`scoreMean X [scoreStdev S] scoreLead X scoreSelfplay X ` (one margin, see the module docstring), or ''."""
    if lead is None:
        return ""
    spread = "" if stdev is None else f"scoreStdev {stdev:.3f} "
    return f"scoreMean {lead:.3f} {spread}scoreLead {lead:.3f} scoreSelfplay {lead:.3f} "


def _floats(values) -> str:
    return " ".join(f"{float(v):.4f}" for v in values)


class AnalysisStream:
    """Ponder in one thread (unless `ponder` is False), print info lines in another, until `stop()`."""

    def __init__(self, agent, state: GameState, request: AnalyzeRequest, kata: bool,
                 write: Callable[[str], None], ponder: bool = True):
        self.agent, self.state, self.request, self.kata, self.write = agent, state, request, kata, write
        self.judged = Judged(agent, state)
        self._done = threading.Event()
        self._ponder = threading.Thread(target=self._run_ponder, name="gtp-ponder", daemon=True) if ponder else None
        self._printer = threading.Thread(target=self._run_printer, name="gtp-analysis", daemon=True)
        self.last_line = ""
        self.error: BaseException | None = None

    def start(self) -> None:
        """Restrict the agent to the request's avoid / allow (until `stop`), start pondering and printing."""
        self.agent.restrict(self.request.filters)
        if self._ponder is not None:
            self._ponder.start()
        self._printer.start()

    def stop(self) -> None:
        """Stop the search and the printer and lift the agent's filters; returns once neither writes any more."""
        self._done.set()
        if self._ponder is not None:
            self.agent.stop()
        self._printer.join()
        if self._ponder is not None:
            self._ponder.join()
        self.agent.restrict(())

    def line(self) -> str:
        """The info line for the agent's analysis now ('' when it has no candidates)."""
        infos = self.agent.analysis()
        if not infos and not self.request.min_moves:
            return ""
        shown = complete(infos, self.judged, self.request, scores=self.kata, new_limit=NEW_PER_LINE)
        if not shown:
            return ""
        text = format_info(shown, self.state.size, self.kata)
        return text + (format_root(infos, self.judged, self.request) if self.kata else "")

    def _run_ponder(self) -> None:
        try:
            self.agent.ponder(self.state)
        except Exception as exc:  # reported on stderr by the server; the stream just ends
            self.error = exc

    def _run_printer(self) -> None:
        period = max(self.request.interval_cs, 1) / 100.0
        while not self._done.wait(period):
            try:
                text = self.line()
            except Exception as exc:  # an estimate that fails must not hang the GUI's engine
                self.error = exc
                return
            if text and text != self.last_line and not self._done.is_set():
                self.last_line = text
                self.write(text + "\n")
