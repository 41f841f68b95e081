"""`rlgo analysis`: KataGo's JSON analysis engine protocol on stdin/stdout (KaTrain, scripts)."""
from __future__ import annotations

import argparse
import sys

from rlgo.commands import add_options, positive_int
from rlgo.commands.options import DataclassOptions
from rlgo.gtp.analysis_config import AnalysisConfig

EPILOG = """\
examples:
  rlgo analysis --agent mcts                            rollout MCTS, 500 visits per query unless maxVisits
  rlgo analysis --agent zero:ckpt=models/zero7_b4c32.pt --workers 1
  echo '{"id":"a","moves":[["B","E5"]],"rules":"chinese","komi":7.5,"boardXSize":9,"boardYSize":9}' | rlgo analysis

One JSON query per line in (docs/Analysis_Engine.md of KataGo: id, moves, initialStones, rules,
komi, boardXSize/boardYSize, analyzeTurns, maxVisits, includeOwnership, includePolicy, ...), one
JSON response per analysed turn out, in the order they finish. Malformed queries get an error
object; the engine keeps going. At the end of input the queued queries are finished.
KaTrain: set its engine to a custom command `rlgo analysis --agent ...`.
"""


OPTIONS = DataclassOptions(AnalysisConfig, types={"workers": positive_int, "max_visits": positive_int})


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "analysis", help="KataGo's JSON analysis engine protocol on stdin/stdout",
        description="KataGo's JSON analysis engine protocol on stdin/stdout.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(parser, "agent", "seed")
    OPTIONS.add_to(parser)


def run(args) -> int:
    from agents.specs import make_agent
    from rlgo.gtp.analysis_engine import AnalysisEngine, serve

    def agent_for(size, rules):
        return make_agent(args.agent, size=size, rules=rules, seed=args.seed)

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    config = OPTIONS.config(args)
    engine = AnalysisEngine(agent_for, write, config)
    # on stderr, as KataGo announces it: stdout carries only JSON
    print(f"rlgo analysis: ready for JSON queries on stdin (agent {args.agent}, {config.workers} workers)",
          file=sys.stderr, flush=True)
    return serve(engine)
