"""KataGo's JSON analysis engine protocol (docs/Analysis_Engine.md) over any rlgo agent.

One JSON query per input line; one JSON response per analysed turn, written as each finishes
(several queries are searched at once by `workers` threads, each with its own agents; a query
with a higher `priority` starts first). A line that is not a valid query is answered with an
error object (`{"error": ..., "field": ..., "id": ...}` when the id is known) and the engine
goes on; fields rlgo reads but cannot honour give a warning object and the query proceeds. At
the end of input the queued queries are finished, then the engine exits.

Values are from the perspective of `reportAnalysisWinratesAs` (BLACK unless the engine or a
query's overrideSettings says WHITE or SIDETOMOVE), ownership included, as in KataGo's example
analysis config. Field meanings (scores, utility, lcb) are those of rlgo.gtp.analysis; rootInfo
`visits` sums the candidates' visits (the root's own first visits before it had children are not
counted, so it is a little below maxVisits).
"""
from __future__ import annotations

import itertools
import json
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO

import numpy as np

from rlgo.go import coords
from rlgo.go.errors import CoordinateError, GoError
from rlgo.go.state import BLACK, WHITE, GameState
from rlgo.gtp.analysis import (
    NEW_PER_LINE,
    AnalyzeRequest,
    Judged,
    complete,
    lcb,
    root_score,
)
from rlgo.gtp.analysis_config import PERSPECTIVES, AnalysisConfig
from rlgo.gtp.engine import engine_version
from rlgo.gtp.katarules import RulesError, handicap_bonus, nearest_kata_rules
from rlgo.search.filters import MoveFilter

POLL_SECONDS = 0.02
"""How often a running search is checked against its visit and time limits."""
QUERY_FIELDS = {"id", "moves", "initialStones", "initialPlayer", "rules", "komi", "whiteHandicapBonus",
                "boardXSize", "boardYSize", "analyzeTurns", "maxVisits", "analysisPVLen", "includeOwnership",
                "includeOwnershipStdev", "includeMovesOwnership", "includeMovesOwnershipStdev", "includePolicy",
                "includePVVisits", "includeNoResultValue", "avoidMoves", "allowMoves", "overrideSettings",
                "reportDuringSearchEvery", "priority", "priorities", "rootPolicyTemperature",
                "rootFpuReductionMax"}
"""Query fields of the docs; any other field gets a warning."""
UNSUPPORTED = ("includeOwnershipStdev", "includeMovesOwnershipStdev", "includePVVisits", "includeNoResultValue",
               "rootPolicyTemperature", "rootFpuReductionMax")
"""Fields rlgo accepts but cannot honour (a warning; the analysis leaves them out)."""
OVERRIDES = ("reportAnalysisWinratesAs", "maxVisits", "maxTime")
"""overrideSettings keys rlgo honours; others get a warning."""


class QueryError(Exception):
    """A query rlgo cannot run: becomes `{"error": message, "field": field, "id": id}`."""

    def __init__(self, message: str, field_name: str | None = None):
        super().__init__(message)
        self.field = field_name


@dataclass
class Job:
    """One turn of one query."""

    query_id: str
    turn: int
    state: GameState
    max_visits: int
    max_time: float | None
    perspective: str
    request: AnalyzeRequest
    ownership: bool
    moves_ownership: bool
    policy: bool
    pv_length: int | None
    report_every: float | None
    priority: int
    terminated: threading.Event = field(default_factory=threading.Event)


def parse_query(query: dict, max_visits: int, perspective: str) -> tuple[list[Job], list[tuple[str, str]]]:
    """The jobs of an analysis query (turns in the order asked) and its (field, warning) pairs; QueryError."""
    warnings = [(k, f"unexpected or unused field {k!r}") for k in query if k not in QUERY_FIELDS]
    warnings += [(k, f"{k} is not supported by rlgo and is ignored") for k in UNSUPPORTED if query.get(k)]
    size = _board_size(query)
    komi_given = query.get("komi")
    if komi_given is not None and (not _is_number(komi_given) or not -400 <= komi_given <= 400):
        raise QueryError(f"komi must be a number in [-400, 400], got {komi_given!r}", "komi")
    if "rules" not in query:
        raise QueryError("rules is required", "rules")
    try:
        kata, note = nearest_kata_rules(query["rules"], 7.5 if komi_given is None else komi_given)
    except RulesError as exc:
        raise QueryError(str(exc), "rules") from None
    if note:
        warnings.append(("rules", note))
    rules = kata.rules
    if komi_given is None:
        rules = rules.with_komi(6.5 if rules.scoring == "territory" else 7.5)
    state = GameState(size, rules)
    stones = _moves(query.get("initialStones", []), size, "initialStones")
    bonus = str(query.get("whiteHandicapBonus", handicap_bonus(query["rules"])))
    if bonus != "0" and any(color == BLACK for color, _ in stones):
        warnings.append(("whiteHandicapBonus", f"rlgo scores with komi only: no whiteHandicapBonus {bonus}"))
    try:
        state.place(stones)
    except GoError as exc:
        raise QueryError(f"bad initialStones: {exc}", "initialStones") from None
    if "moves" not in query:
        raise QueryError("moves is required", "moves")
    moves = _moves(query["moves"], size, "moves")
    if "initialPlayer" in query:
        state.set_to_play(_player(query["initialPlayer"], "initialPlayer"))
    elif moves:
        state.set_to_play(moves[0][0])
    turns = query.get("analyzeTurns", [len(moves)])
    if not isinstance(turns, list) or not all(_is_int(t) and 0 <= t <= len(moves) for t in turns):
        raise QueryError(f"analyzeTurns must be a list of integers in 0..{len(moves)}", "analyzeTurns")
    overrides = query.get("overrideSettings", {})
    if not isinstance(overrides, dict):
        raise QueryError("overrideSettings must be an object", "overrideSettings")
    warnings += [("overrideSettings", f"overrideSettings {k!r} is not used by rlgo") for k in overrides
                 if k not in OVERRIDES]
    perspective = overrides.get("reportAnalysisWinratesAs", perspective)
    if perspective not in PERSPECTIVES:
        raise QueryError(f"reportAnalysisWinratesAs must be one of {', '.join(PERSPECTIVES)}", "overrideSettings")
    visits = overrides.get("maxVisits", query.get("maxVisits", max_visits))
    if not _is_int(visits) or visits < 1:
        raise QueryError(f"maxVisits must be an integer >= 1, got {visits!r}", "maxVisits")
    max_time = overrides.get("maxTime")
    if max_time is not None and (not _is_number(max_time) or max_time <= 0):
        raise QueryError(f"maxTime must be a number > 0, got {max_time!r}", "overrideSettings")
    every = query.get("reportDuringSearchEvery")
    if every is not None and (not _is_number(every) or every <= 0):
        raise QueryError("reportDuringSearchEvery must be a number > 0", "reportDuringSearchEvery")
    pv_length = query.get("analysisPVLen")
    if pv_length is not None and (not _is_int(pv_length) or pv_length < 0):
        raise QueryError("analysisPVLen must be an integer >= 0", "analysisPVLen")
    priorities = query.get("priorities", [query.get("priority", 0)] * len(turns))
    if not isinstance(priorities, list) or len(priorities) != len(turns) or not all(map(_is_int, priorities)):
        raise QueryError("priorities must be a list of integers as long as analyzeTurns", "priorities")
    flags = {k: _flag(query, k) for k in ("includeOwnership", "includeMovesOwnership", "includePolicy")}
    request = AnalyzeRequest(None, 0, 0, 0, frozenset({"movesOwnership"} if flags["includeMovesOwnership"] else ()),
                             _filters(query, size))
    states, position = {}, state.copy()
    for turn in range(len(moves) + 1):
        position.reopen()  # play goes on after two passes, as over GTP
        if turn in turns:
            states[turn] = position.copy()
        if turn < len(moves):
            color, point = moves[turn]
            try:
                position.play(point, color)
            except GoError:
                raise QueryError(f"Illegal move {turn}: {query['moves'][turn][1]}", "moves") from None
    jobs = [Job(str(query["id"]), t, states[t], visits, max_time, perspective, request, flags["includeOwnership"],
                flags["includeMovesOwnership"], flags["includePolicy"], pv_length, every, p)
            for t, p in zip(turns, priorities)]
    return jobs, warnings


def response(job: Job, infos: list, judged: Judged, during: bool) -> dict:
    """The JSON object of one analysed turn (see the module docstring for the perspective)."""
    state = job.state
    flip = (job.perspective == "WHITE" and state.to_play == BLACK) or (job.perspective == "BLACK"
                                                                        and state.to_play == WHITE)
    sign = -1.0 if flip else 1.0
    shown = complete(infos, judged, job.request, new_limit=NEW_PER_LINE if during else None)
    move_infos = []
    for order, s in enumerate(shown):
        winrate = 1.0 - s.winrate if flip else s.winrate
        bound = lcb(winrate, s.visits)
        pv = s.pv if job.pv_length is None else s.pv[:job.pv_length + 1]
        info = {"move": coords.to_gtp(s.move, state.size), "visits": s.visits, "edgeVisits": s.visits,
                "winrate": winrate, "scoreLead": sign * s.score_lead, "scoreMean": sign * s.score_lead,
                "scoreSelfplay": sign * s.score_lead, "prior": s.prior, "utility": 2 * winrate - 1, "lcb": bound,
                "utilityLcb": 2 * bound - 1, "order": order, "pv": [coords.to_gtp(p, state.size) for p in pv]}
        if s.score_stdev is not None:
            info["scoreStdev"] = s.score_stdev
        if job.moves_ownership:
            info["ownership"] = _rounded(sign * s.ownership)
        move_infos.append(info)
    root = judged.of_root()
    visits = sum(i.visits for i in infos)
    winrate = sum(i.winrate * i.visits for i in infos) / visits if visits else root.winrate
    winrate = 1.0 - winrate if flip else winrate
    lead, stdev = root_score(infos, root)
    root_info = {"currentPlayer": "B" if state.to_play == BLACK else "W", "visits": visits, "winrate": winrate,
                 "scoreLead": sign * lead, "scoreSelfplay": sign * lead,
                 "utility": 2 * winrate - 1, "lcb": lcb(winrate, visits)}
    if stdev is not None:
        root_info["scoreStdev"] = stdev
    if root.sources.get("winrate") == "network":
        root_info["rawWinrate"] = 1.0 - root.winrate if flip else root.winrate
    if root.sources.get("score") == "network":
        root_info["rawLead"] = sign * root.score_lead
    out = {"id": job.query_id, "isDuringSearch": during, "turnNumber": job.turn, "moveInfos": move_infos,
           "rootInfo": root_info}
    if job.ownership:
        out["ownership"] = _rounded(sign * root.ownership)
    if job.policy:
        legal = state.legal_mask()
        priors = root.policy if root.policy is not None else legal / legal.sum()
        out["policy"] = [float(p) if ok else -1.0 for p, ok in zip(priors, legal)]
    return out


class AnalysisEngine:
    """Reads queries, runs them on `config.workers` threads (agents from `make_agent(size, rules)`), writes
    responses."""

    def __init__(self, make_agent: Callable, write: Callable[[str], None], config: AnalysisConfig = AnalysisConfig()):
        self.make_agent, self._write, self.config = make_agent, write, config
        self._lock = threading.Lock()
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()
        self._jobs: dict[str, list[Job]] = {}
        self._threads = [threading.Thread(target=self._work, name=f"analysis-{i}", daemon=True)
                         for i in range(config.workers)]
        for thread in self._threads:
            thread.start()

    def write(self, obj: dict) -> None:
        with self._lock:
            self._write(json.dumps(obj, separators=(",", ":")) + "\n")

    def handle_line(self, line: str) -> None:
        """One input line: a query, an action, or something answered with an error object."""
        if not line.strip():
            return
        try:
            query = json.loads(line)
        except json.JSONDecodeError as exc:
            self.write({"error": f"could not parse query as JSON: {exc}"})
            return
        if not isinstance(query, dict):
            self.write({"error": "query must be a JSON object"})
            return
        if "id" not in query or not isinstance(query["id"], str):
            self.write({"error": "id is required and must be a string", "field": "id"})
            return
        try:
            if "action" in query:
                self._action(query)
                return
            jobs, warnings = parse_query(query, self.config.max_visits, self.config.report_as)
        except QueryError as exc:
            self.write({"error": str(exc), "field": exc.field, "id": query["id"]})
            return
        for name, text in warnings:
            self.write({"warning": text, "field": name, "id": query["id"]})
        with self._lock:
            self._jobs.setdefault(query["id"], []).extend(jobs)
        for job in jobs:
            self._queue.put((-job.priority, next(self._order), job))

    def finish(self) -> None:
        """Answer every queued query, then stop the workers."""
        for _ in self._threads:
            self._queue.put((float("inf"), next(self._order), None))
        for thread in self._threads:
            thread.join()

    def _action(self, query: dict) -> None:
        action = query["action"]
        if action == "query_version":
            self.write(dict(query, version=engine_version(), git_hash="<omitted>"))
        elif action == "clear_cache":
            self.write(dict(query))
        elif action == "query_models":
            self.write(dict(query, models=[]))
        elif action in ("terminate", "terminate_all"):
            turns = query.get("turnNumbers")
            if turns is not None and (not isinstance(turns, list) or not all(map(_is_int, turns))):
                raise QueryError("turnNumbers must be a list of integers", "turnNumbers")
            if action == "terminate" and not isinstance(query.get("terminateId"), str):
                raise QueryError("terminateId is required", "terminateId")
            with self._lock:
                ids = list(self._jobs) if action == "terminate_all" else [query["terminateId"]]
                for job in (j for i in ids for j in self._jobs.get(i, [])):
                    if turns is None or job.turn in turns:
                        job.terminated.set()
            self.write(dict(query))
        else:
            raise QueryError(f"unknown action {action!r}", "action")

    def _work(self) -> None:
        agents: dict = {}
        while True:
            job = self._queue.get()[2]
            if job is None:
                return
            try:
                self._run(job, agents)
            except Exception as exc:  # one failing query must not stop the engine
                self.write({"error": f"analysis failed: {type(exc).__name__}: {exc}", "id": job.query_id})
            finally:
                with self._lock:
                    left = [j for j in self._jobs.get(job.query_id, []) if j is not job]
                    if left:
                        self._jobs[job.query_id] = left
                    else:
                        self._jobs.pop(job.query_id, None)

    def _run(self, job: Job, agents: dict) -> None:
        if job.terminated.is_set():
            self.write({"id": job.query_id, "isDuringSearch": False, "noResults": True, "turnNumber": job.turn})
            return
        size = job.state.size
        if size not in agents:
            agents[size] = self.make_agent(size, job.state.rules)
        agent = agents[size]
        judged = Judged(agent, job.state.copy())
        agent.restrict(job.request.filters)
        thread = threading.Thread(target=agent.ponder, args=(job.state.copy(), job.max_visits), daemon=True)
        start = time.monotonic()
        next_report = start + job.report_every if job.report_every else None
        thread.start()
        while thread.is_alive():
            thread.join(POLL_SECONDS)
            infos = agent.analysis()
            elapsed = time.monotonic() - start
            if (sum(i.visits for i in infos) >= job.max_visits or job.terminated.is_set()
                    or (job.max_time is not None and elapsed >= job.max_time)):
                agent.stop()
            elif next_report is not None and time.monotonic() >= next_report and infos:
                self.write(response(job, infos, judged, during=True))
                next_report = time.monotonic() + job.report_every
        agent.restrict(())
        self.write(response(job, agent.analysis(), judged, during=False))


def serve(engine: AnalysisEngine, infile: TextIO | None = None) -> int:
    """Feed input lines to `engine` until EOF, then finish the queued queries; returns 0."""
    for line in infile if infile is not None else sys.stdin:
        engine.handle_line(line)
    engine.finish()
    return 0


# ----------------------------------------------------------------- field parsing
def _board_size(query: dict) -> int:
    x, y = query.get("boardXSize"), query.get("boardYSize")
    for name, value in (("boardXSize", x), ("boardYSize", y)):
        if not _is_int(value):
            raise QueryError(f"{name} is required and must be an integer", name)
    if x != y:
        raise QueryError(f"rlgo plays square boards only, got {x}x{y}", "boardYSize")
    if not coords.MIN_SIZE <= x <= coords.MAX_SIZE:
        raise QueryError(f"board size must be in {coords.MIN_SIZE}..{coords.MAX_SIZE}, got {x}", "boardXSize")
    return x


def _player(text, name: str) -> int:
    if text in ("B", "b"):
        return BLACK
    if text in ("W", "w"):
        return WHITE
    raise QueryError(f"player must be \"B\" or \"W\", got {text!r}", name)


def _moves(items, size: int, name: str) -> list[tuple[int, int]]:
    if not isinstance(items, list):
        raise QueryError(f"{name} must be a list of [player, location] pairs", name)
    out = []
    for item in items:
        if not isinstance(item, list) or len(item) != 2 or not isinstance(item[1], str):
            raise QueryError(f"{name} entries must be [player, location] pairs, got {item!r}", name)
        try:
            out.append((_player(item[0], name), coords.from_gtp(item[1], size)))
        except CoordinateError:
            raise QueryError(f"invalid location {item[1]!r} in {name}", name) from None
    return out


def _filters(query: dict, size: int) -> tuple[MoveFilter, ...]:
    out = []
    for name, allow in (("avoidMoves", False), ("allowMoves", True)):
        items = query.get(name, [])
        if not isinstance(items, list):
            raise QueryError(f"{name} must be a list of objects", name)
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("moves"), list) or \
                    not _is_int(item.get("untilDepth")) or item["untilDepth"] < 1:
                raise QueryError(f"{name} entries need player, moves and untilDepth >= 1, got {item!r}", name)
            points = [m for _, m in _moves([[item.get("player"), m] for m in item["moves"]], size, name)]
            out.append(MoveFilter(_player(item.get("player"), name), frozenset(points), item["untilDepth"], allow))
    if sum(f.allow for f in out) > 2 or (any(f.allow for f in out) and not all(f.allow for f in out)):
        raise QueryError("allowMoves takes at most one entry per player and not together with avoidMoves",
                         "allowMoves")
    return tuple(out)


def _flag(query: dict, name: str) -> bool:
    value = query.get(name, False)
    if not isinstance(value, bool):
        raise QueryError(f"{name} must be true or false", name)
    return value


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def _rounded(values) -> list[float]:
    return [round(float(v), 4) for v in values]

