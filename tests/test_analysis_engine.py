"""`rlgo analysis`: KataGo's JSON analysis engine protocol (docs/Analysis_Engine.md)."""
from __future__ import annotations

import io
import json
import queue
import subprocess
import sys
from pathlib import Path

import pytest

from agents.specs import make_agent
from rlgo.gtp.analysis_config import AnalysisConfig
from rlgo.gtp.analysis_engine import AnalysisEngine, serve
from tests.analysis_formats import check_json_response
from tests.test_gtp_gui import SETTLED, SETTLED_LEAD

ROOT = Path(__file__).resolve().parents[1]


class Session:
    """An AnalysisEngine whose responses land in a queue."""

    def __init__(self, spec: str = "mcts", workers: int = 2, **options):
        self.out: queue.Queue = queue.Queue()
        self.engine = AnalysisEngine(lambda size, rules: make_agent(spec, size, rules, seed=1),
                                     lambda text: self.out.put(json.loads(text)), AnalysisConfig(workers, **options))

    def send(self, obj) -> None:
        self.engine.handle_line(obj if isinstance(obj, str) else json.dumps(obj))

    def take(self, timeout: float = 120) -> dict:
        return self.out.get(timeout=timeout)

    def close(self) -> None:
        self.engine.finish()


def query(qid: str, moves=(), **fields) -> dict:
    base = {"id": qid, "moves": [list(m) for m in moves], "rules": "tromp-taylor", "komi": 7.5,
            "boardXSize": 9, "boardYSize": 9, "maxVisits": 30}
    return base | fields


def settled_stones() -> list[list[str]]:
    rows = [r.split() for r in SETTLED.strip().splitlines()]
    return [["B" if c == "X" else "W", f"{'ABCDEFGHJ'[x]}{9 - y}"] for y, row in enumerate(rows)
            for x, c in enumerate(row) if c in "XO"]


def test_queries_in_flight_are_answered_as_they_finish():
    session = Session(workers=2)
    session.send(query("slow", maxVisits=10_000_000))
    session.send(query("fast", [("B", "E5"), ("W", "D4")], analyzeTurns=[0, 1, 2], maxVisits=20,
                       includeOwnership=True, includePolicy=True))
    fast = [session.take() for _ in range(3)]
    assert all(r["id"] == "fast" for r in fast)  # the slow query is still searching
    assert sorted(r["turnNumber"] for r in fast) == [0, 1, 2]
    for r in fast:
        check_json_response(r, 9, "fast")
        assert r["rootInfo"]["currentPlayer"] == "BWB"[r["turnNumber"]]
        assert not r["isDuringSearch"] and "ownership" in r and "policy" in r
        assert 12 <= r["rootInfo"]["visits"] <= 20  # maxVisits: the root's own first visits are not a candidate's
    session.send({"id": "t", "action": "terminate", "terminateId": "slow"})
    answers = [session.take(), session.take()]
    assert {"id": "t", "action": "terminate", "terminateId": "slow"} in answers
    slow = next(a for a in answers if a["id"] == "slow")
    check_json_response(slow, 9, "slow")
    assert not slow["isDuringSearch"] and slow["rootInfo"]["visits"] < 10_000_000
    session.close()


@pytest.mark.parametrize("line, field", [
    ("this is not json", None), ("[1, 2]", None), (json.dumps({"moves": []}), "id"),
    (json.dumps(query("q", boardXSize=9, boardYSize=7)), "boardYSize"),
    (json.dumps(query("q", boardXSize=40, boardYSize=40)), "boardXSize"),
    (json.dumps(query("q", [("B", "E5"), ("W", "E5")])), "moves"),
    (json.dumps(query("q", [("B", "Z99")])), "moves"),
    (json.dumps(query("q", rules="go")), "rules"),
    (json.dumps(query("q", rules={"scoring": "AREA", "hasButton": "yes"})), "rules"),
    (json.dumps(query("q", analyzeTurns=[5])), "analyzeTurns"),
    (json.dumps(query("q", maxVisits=0)), "maxVisits"),
    (json.dumps(query("q", komi="seven")), "komi"),
    (json.dumps({"id": "q", "action": "fly"}), "action"),
])
def test_malformed_queries_get_an_error_and_the_engine_goes_on(line, field):
    session = Session("random", workers=1)
    session.send(line)
    error = session.take()
    assert set(error) <= {"error", "field", "id"} and error["error"]
    assert error.get("field") == field
    session.send(query("after"))
    check_json_response(session.take(), 9, "after")
    session.close()


def test_warnings_for_fields_rlgo_cannot_honour_then_the_analysis():
    session = Session("random", workers=1)
    session.send(query("w", rules="japanese", includePVVisits=True, overrideSettings={"wideRootNoise": 0.04},
                       shiny=True))
    warnings = [session.take() for _ in range(4)]
    assert all(set(w) == {"warning", "field", "id"} and w["id"] == "w" for w in warnings)
    assert {w["field"] for w in warnings} == {"shiny", "includePVVisits", "overrideSettings", "rules"}
    check_json_response(session.take(), 9, "w")
    session.close()


@pytest.mark.parametrize("to_play, report_as, sign", [
    ("B", "BLACK", 1), ("W", "BLACK", 1), ("W", "SIDETOMOVE", -1), ("B", "WHITE", -1)])
def test_perspective_of_reportAnalysisWinratesAs(to_play, report_as, sign):
    session = Session("mcts", workers=1)
    session.send(query("s", initialStones=settled_stones(), initialPlayer=to_play, includeOwnership=True,
                       includeMovesOwnership=True, overrideSettings={"reportAnalysisWinratesAs": report_as}))
    answer = session.take()
    check_json_response(answer, 9, "s")
    root = answer["rootInfo"]
    assert root["currentPlayer"] == to_play
    assert root["scoreLead"] == pytest.approx(sign * SETTLED_LEAD)
    assert answer["moveInfos"][0]["move"] == "pass"
    assert answer["moveInfos"][0]["scoreLead"] == pytest.approx(sign * SETTLED_LEAD)
    assert root["winrate"] == (1.0 if sign > 0 else 0.0)
    assert answer["ownership"][0] == sign and answer["ownership"][8] == -sign  # A9 black, J9 white
    assert answer["moveInfos"][0]["ownership"] == answer["ownership"]  # passing changes nothing here
    session.close()


def test_moves_after_two_passes_are_played_on():
    session = Session("mcts", workers=1)
    session.send(query("pp", [("B", "E5"), ("W", "pass"), ("B", "pass"), ("W", "C3")], analyzeTurns=[3, 4]))
    answers = sorted((session.take() for _ in range(2)), key=lambda a: a["turnNumber"])
    for answer in answers:
        check_json_response(answer, 9, "pp")
    assert [a["rootInfo"]["currentPlayer"] for a in answers] == ["W", "B"]
    session.close()


def test_partial_reports_then_exactly_one_final():
    session = Session("mcts", workers=1)
    session.send(query("p", maxVisits=3000, reportDuringSearchEvery=0.05))
    answers = [session.take()]
    while answers[-1]["isDuringSearch"]:
        answers.append(session.take())
    assert 2990 <= answers[-1]["rootInfo"]["visits"] <= 3000
    assert all(a["isDuringSearch"] for a in answers[:-1])
    session.close()
    assert session.out.empty()


def test_actions_and_end_of_input_finishes_queued_queries():
    lines = [json.dumps({"id": "v", "action": "query_version"}), json.dumps(query("a", maxVisits=10)),
             json.dumps(query("b", [("B", "C3")], maxVisits=10)), "", json.dumps({"id": "m", "action": "query_models"})]
    written = []
    engine = AnalysisEngine(lambda size, rules: make_agent("random", size, rules), written.append,
                            AnalysisConfig(workers=1))
    assert serve(engine, io.StringIO("\n".join(lines) + "\n")) == 0
    answers = [json.loads(w) for w in written]
    version = next(a for a in answers if a["id"] == "v")
    assert version["action"] == "query_version" and version["version"] and version["git_hash"]
    assert {a["id"] for a in answers} == {"v", "a", "b", "m"}


def test_cli_analysis_subprocess():
    text = json.dumps(query("cli", [("B", "E5")], maxVisits=16)) + "\nnot json\n"
    done = subprocess.run([sys.executable, "-m", "cli", "analysis", "--agent", "mcts", "--seed", "1"], input=text,
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [("error" in a) for a in answers] == [True, False]
    check_json_response(answers[1], 9, "cli")


def test_katrain_queries():
    """The query shapes of KaTrain's katrain/core/engine.py (request_analysis, pondering, terminate_query)."""
    session = Session("mcts", workers=2)
    katrain = {"rules": "japanese", "priority": 1, "analyzeTurns": [2], "maxVisits": 40, "komi": 6.5,
               "boardXSize": 9, "boardYSize": 9, "includeOwnership": True, "includeMovesOwnership": True,
               "includePolicy": True, "initialStones": [], "initialPlayer": "B",
               "moves": [["B", "E5"], ["W", "C3"]], "avoidMoves": [{"moves": ["A1", "B1"], "player": "B",
                                                                    "untilDepth": 1}],
               "overrideSettings": {"reportAnalysisWinratesAs": "BLACK", "wideRootNoise": 0.04, "maxTime": 8.0},
               "id": "QUERY:1"}
    session.send(katrain)
    answers = [session.take() for _ in range(3)]
    assert sorted(a.get("field", "") for a in answers[:2]) == ["overrideSettings", "rules"]
    result = answers[2]
    check_json_response(result, 9, "QUERY:1")
    assert not {"A1", "B1"} & {m["move"] for m in result["moveInfos"]}
    assert all(len(m["ownership"]) == 81 for m in result["moveInfos"])
    session.send(katrain | {"id": "QUERY:2", "maxVisits": 10_000_000, "reportDuringSearchEvery": 0.1})
    assert session.take()["field"] in ("overrideSettings", "rules")
    assert session.take()["field"] in ("overrideSettings", "rules")
    partial = session.take()
    assert partial["isDuringSearch"] and partial["id"] == "QUERY:2"
    session.send({"action": "terminate", "terminateId": "QUERY:2", "id": "QUERY:3"})
    answers = []
    while not answers or answers[-1].get("isDuringSearch", True) or answers[-1]["id"] != "QUERY:2":
        answers.append(session.take())
    assert any(a.get("terminateId") == "QUERY:2" and a["id"] == "QUERY:3" for a in answers)
    session.close()
