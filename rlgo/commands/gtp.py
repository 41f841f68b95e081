"""`rlgo gtp`: a GTP v2 engine on stdin/stdout for Sabaki, GoGui, Lizzie, KGS/OGS bridges."""
from __future__ import annotations

import argparse

from rlgo.commands import add_options, board_size, rules_from_args

EPILOG = """\
examples:
  rlgo gtp --agent mcts:simulations=2000                   engine for Sabaki / GoGui (9x9, positional superko)
  rlgo gtp --agent mcts:time=2 --size 19 --komi 6.5     19x19, two seconds a move
  rlgo gtp --agent random --ko simple                   GNU Go's rules (simple ko, no suicide)
  gogui-twogtp -black "rlgo gtp --agent mcts:simulations=500" -white "gnugo --mode gtp" -games 10

connecting a GUI (the engine reads GTP on stdin and writes it on stdout):
  Sabaki   Engines > Manage Engines > Add: path `rlgo`, arguments `gtp --agent mcts:time=2`
  GoGui    Program > New Program: command `rlgo gtp --agent mcts:simulations=2000`
  Lizzie   config.txt "engine-command": "rlgo gtp --agent mcts:time=5 --compat katago" (uses kata-analyze)
  KGS      kgsGtp.ini: engine=rlgo gtp --agent mcts:time=5 (kgs-genmove_cleanup, kgs-time_settings)

Analysis for GUIs: lz-analyze and kata-analyze (Sabaki, Lizzie) stream until the next command, on a
tree as large as memory allows; kata-genmove_analyze / lz-genmove_analyze play with analysis (Sabaki).
Scoring (final_score, final_status_list) uses the agent's ownership or random rollouts.
Time: time_settings / time_left are passed to the agent, and the engine stops any search at the
per-move budget the agent computes for itself (rlgo.search.timecontrol), so it does not lose on time.
"""


COMPAT = ("none", "katago")
"""How `name` presents the engine: as itself, or as speaking KataGo's GTP extensions."""


def engine_name(name: str, compat: str) -> str:
    """The `name` answer: NAME, or 'KataGo-compatible NAME' (Lizzie takes a name starting with KataGo
    for an engine with kata-analyze; any other name for Leela Zero, whose version must be 0.15+)."""
    return f"KataGo-compatible {name}" if compat == "katago" else name


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "gtp", help="run a GTP engine on stdin/stdout", description="Speak GTP v2 on stdin/stdout.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(parser, "agent", "komi", "rules", "ko", "seed")
    parser.add_argument("--size", type=board_size, default=None, metavar="N",
                        help="board size 2..25 (default: a network agent's own size, else 9)")
    parser.add_argument("--name", default="rlgo", help="engine name reported by `name` (default: %(default)s)")
    parser.add_argument("--compat", choices=COMPAT, default="none",
                        help="katago: `name` answers 'KataGo-compatible NAME', the protocol rlgo speaks; GUIs "
                             "that read the name (Lizzie) then use kata-analyze instead of asking for Leela Zero "
                             "0.15+ (default: %(default)s)")


def run(args) -> int:
    from agents.specs import make_agent
    from rlgo.gtp.engine import GTPEngine
    from rlgo.gtp.server import serve
    from rlgo.seeds import fresh_seed

    rules = rules_from_args(args)
    seed = fresh_seed() if args.seed is None else args.seed
    agent = make_agent(args.agent, size=args.size, rules=rules, seed=seed)
    engine = GTPEngine(agent, size=args.size, rules=rules, name=engine_name(args.name, args.compat), seed=seed)
    agent.warm_up(engine.state.copy())  # JIT and first network call now, not inside the first timed genmove
    return serve(engine)
