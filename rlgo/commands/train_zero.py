"""`rlgo train zero`: the AlphaGo Zero self-play loop (rlgo.train.zero)."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from rlgo.commands import CommandError, add_config_option, add_options, board_size, komi_value, next_steps, \
    positive_float, positive_int, rules_name, run_folder
from rlgo.train.common import OPTIMIZERS, SCHEDULES
from rlgo.train.zero.config import GATE_RULES, ZeroConfig
from rlgo.train.zero.loop import RUN_CONTROL, read_best, resume_config, train_zero
from rlgo.train.zero.raypool import LOCAL

EPILOG = """\
examples:
  rlgo train zero --size 9 --out runs/zero9                   learn 9x9 from nothing
  rlgo train zero --size 7 --out runs/zero7 --playouts 64 --games-per-generation 100 --workers 1
  rlgo train zero --size 7 --out runs/z7g --playouts 16 --root gumbel   Gumbel root at 16 simulations
  rlgo train zero --config configs/zero9.toml                 the shipped 9x9 config (6x64 net, 40 generations)
  rlgo train zero --resume runs/zero9 --generations 40        continue (after a crash, too)
  rlgo train zero --size 9 --out runs/zero9 --inference-server   workers share one batched network process

The run folder holds config.json, state.json, best.json (the current best network),
checkpoints/gen-NNNN.pt, the replay buffer, results.jsonl (gate games), metrics.csv and
sample SGFs. On --resume only run-control options may change: """ + ", ".join(RUN_CONTROL) + "."

# (field, type, help); every default is ZeroConfig's, so a flag not given leaves the field alone
_FIELDS = [
    ("backbone", str, "trunk of rlgo.nn (resnet, dilated, densenet, ...)"),
    ("blocks", positive_int, "trunk depth"),
    ("width", positive_int, "trunk channels"),
    ("feature_set", str, "input planes"),
    ("init", str, "checkpoint whose weights start generation 0, any board size ('': random)"),
    ("komi_spread", float, "self-play komi drawn from the half points within komi +- this"),
    ("games_per_generation", positive_int, "self-play games per generation"),
    ("playouts", positive_int, "simulations of a full search"),
    ("fast_playouts", int, "playout cap randomization: simulations of a fast unrecorded search (0: off)"),
    ("full_search_prob", float, "share of full (recorded) searches with --fast-playouts"),
    ("root", str, "root policy of the search: puct or gumbel (Gumbel-top-k + sequential halving)"),
    ("gumbel_m", positive_int, "actions the Gumbel root considers"),
    ("c_puct", float, "PUCT exploration constant"),
    ("fpu", float, "first-play urgency reduction"),
    ("leaves_per_game", positive_int, "leaves per tree per network batch"),
    ("parallel_games", positive_int, "games stepped together per worker"),
    ("dirichlet_alpha", float, "root noise concentration (0: 0.03*361/N^2)"),
    ("dirichlet_epsilon", float, "root noise weight"),
    ("temperature_moves", int, "opening moves drawn in proportion to visits (-1: N*N//8)"),
    ("resign_threshold", float, "initial resign value in [-1, 0] (-1: never resign)"),
    ("resign_playthrough", float, "share of games played out to measure false resignations"),
    ("resign_fp_target", float, "keep false-positive resignations under this share"),
    ("max_moves", int, "move cap of a game (0: 2*N*N)"),
    ("workers", int, "self-play processes (0: one per core; 1: in this process)"),
    ("window_games", positive_int, "replay buffer window in games"),
    ("steps_per_generation", positive_int, "optimizer steps per generation"),
    ("batch_size", positive_int, "positions per optimizer step"),
    ("value_weight", float, "weight of the value loss"),
    ("aux_weight", float, "weight of the ownership and score losses (--aux-heads)"),
    ("gate_games", positive_int, "most games of a gate (or rating) match"),
    ("gate_rule", str, f"gate rule: {', '.join(GATE_RULES)}"),
    ("gate_threshold", float, "score needed to replace the best network"),
    ("gate_playouts", int, "simulations per move in gate games (0: --playouts)"),
    ("gate_temperature_moves", int, "random opening moves of gate games (-1: N*N//20+1)"),
    ("generations", positive_int, "stop after this many generations"),
    ("hours", positive_float, "stop after this many hours (resume continues)"),
    ("sgf_per_generation", int, "self-play games saved as SGF per generation"),
    ("threads", int, "torch threads of the main process (0: torch's default)"),
    ("ddp", positive_int, "training processes, torch.distributed DDP (1: in the main process)"),
]
_OPTIM = [("optimizer", str, f"optimizer: {', '.join(OPTIMIZERS)}"), ("lr", positive_float, "learning rate"),
          ("momentum", float, "SGD momentum / AdamW beta1"), ("weight_decay", float, "L2 weight decay"),
          ("schedule", str, f"LR schedule over the run: {', '.join(SCHEDULES)}")]


def _default(name: str, optim: bool = False):
    cfg = ZeroConfig(out=".")
    return getattr(cfg.optim if optim else cfg, name)


def register(subparsers) -> None:
    p = subparsers.add_parser("zero", help="AlphaGo Zero self-play loop",
                              description="Learn Go from nothing: MCTS self-play, replay buffer, training, gating.",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, metavar="RUN", help="run folder of a new run (--resume RUN continues one)")
    add_options(p, "resume")
    p.add_argument("--size", type=board_size, metavar="N", help=f"board size (default: {_default('size')})")
    p.add_argument("--rules", type=rules_name, metavar="NAME", help=f"rules preset (default: {_default('rules')})")
    p.add_argument("--komi", type=komi_value, help="komi (default: the rules')")
    p.add_argument("--aux-heads", action="store_const", const=True, help="KataGo ownership + score heads")
    p.add_argument("--no-gating", dest="gating", action="store_const", const=False,
                   help="AlphaZero: every candidate replaces the network (a rating match still runs)")
    p.add_argument("--no-pass-guard", dest="pass_guard", action="store_const", const=False,
                   help="allow passing while the area count favours the opponent (pure Tromp-Taylor choices)")
    p.add_argument("--seed", type=int, help="random seed (default: 0)")
    p.add_argument("--device", help="torch device of training and of the inference server (default: cpu)")
    p.add_argument("--ray", nargs="?", const=LOCAL, metavar="ADDRESS",
                   help="self-play and gate tasks on Ray: a local instance, or the cluster at ADDRESS ('auto': "
                        "the one `ray start` joined on this machine); needs pip install \"rlgo[ray]\"")
    p.add_argument("--inference-server", action="store_const", const=True,
                   help="workers evaluate through one batched inference process on --device")
    for name, kind, text in _FIELDS:
        p.add_argument("--" + name.replace("_", "-"), type=kind, metavar="X",
                       help=f"{text} (default: {_default(name)})")
    for name, kind, text in _OPTIM:
        p.add_argument("--" + name.replace("_", "-"), type=kind, metavar="X",
                       help=f"{text} (default: {_default(name, optim=True)})")
    add_config_option(p)


def config_from_args(args: argparse.Namespace) -> tuple[ZeroConfig, bool]:
    """(ZeroConfig, resume) from parsed arguments; flags not given keep the defaults (or the stored run's)."""
    fields = {f.name for f in dataclasses.fields(ZeroConfig)}
    given = {k: v for k, v in vars(args).items() if k in fields and k != "out" and v is not None}
    optim = {name: getattr(args, name) for name, _, _ in _OPTIM if getattr(args, name) is not None}
    run, resume = run_folder(args)
    if resume:  # a setting may be repeated (a config file's), not changed
        stored = resume_config(run)
        other = sorted(k for k in set(given) - set(RUN_CONTROL) if given[k] != getattr(stored, k))
        other += sorted(k for k in optim if optim[k] != getattr(stored.optim, k))
        if other:
            raise CommandError(f"--resume keeps the run's settings; cannot change {', '.join(other)} "
                               f"(only {', '.join(RUN_CONTROL)})")
        return resume_config(run, **given), True
    if optim:
        given["optim"] = dataclasses.replace(_default("optim"), **optim)
    return ZeroConfig(out=str(run), **given), False


def run(args) -> int:
    cfg, resume = config_from_args(args)
    rows = train_zero(cfg, resume=resume)
    generation, path = read_best(cfg.out)
    print(f"{cfg.out}: {len(rows)} generations; best network: generation {generation}, {path}")
    board = f"--size {cfg.size} --komi {cfg.game_rules().komi:g}" + (
        f" --rules {cfg.rules}" if cfg.rules != "chinese" else "")
    agent = f"zero:ckpt={cfg.out},playouts={cfg.playouts}"
    print(next_steps(f"rlgo play --agent {agent} {board}",
                     f"rlgo tournament --agents {agent} mcts:playouts=1000 {board} --games-per-pair 20 "
                     f"--out {cfg.out}/rating",
                     f"rlgo plot {cfg.out}",
                     f"rlgo train zero --resume {cfg.out} --generations {cfg.generations + 20}"))
    return 0
