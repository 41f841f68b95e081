"""`rlgo train zero`: the AlphaGo Zero self-play loop (rlgo.train.zero)."""
from __future__ import annotations

import argparse

from rlgo.commands import CommandError, add_config_option, add_run_options, board_size, komi_value, next_steps, \
    positive_int, rules_name, run_folder
from rlgo.commands.options import DataclassOptions
from rlgo.commands.train import NET_EXCLUDE, TYPES
from rlgo.train.common import TrainError
from rlgo.train.zero.compact import compact_run
from rlgo.train.zero.config import ZeroConfig
from rlgo.train.zero.loop import RUN_CONTROL, read_best, resume_config, train_zero
from rlgo.train.zero.raypool import LOCAL
from rlgo.train.zero.storage import RunFileError

EPILOG = """\
examples:
  rlgo train zero --size 9 --out runs/zero9                   learn 9x9 from nothing
  rlgo train zero --size 7 --out runs/zero7 --simulations 64 --games-per-generation 100 --workers 1
  rlgo train zero --size 7 --out runs/z7g --simulations 16 --root gumbel   Gumbel root at 16 simulations
  rlgo train zero --config configs/zero9.toml                 the shipped 9x9 config (6x64 net, 40 generations)
  rlgo train zero --resume runs/zero9 --generations 40        continue (after a crash, too)
  rlgo train zero --size 9 --out runs/zero9 --inference-server   workers share one batched network process

The run folder holds config.json, state.json, best.json (the current best network),
checkpoints/gen-NNNN.pt, the replay buffer, results.jsonl (gate games), metrics.csv and
sample SGFs. On --resume only run-control options may change: """ + ", ".join(RUN_CONTROL) + "."

COMPACT_EPILOG = """\
example:
  rlgo train zero-compact runs/zero9 --out training/zero9     then: git add training/zero9
  cp -r training/zero9 runs/zero9 && rlgo train zero --resume runs/zero9 --window-scaled-steps
"""

OPTIONS = DataclassOptions(ZeroConfig, exclude=(*NET_EXCLUDE, "out"),
                           types={**TYPES, "size": board_size, "rules": rules_name, "komi": komi_value},
                           metavars={"ray": "ADDRESS"}, bare={"ray": LOCAL})


def register(subparsers) -> None:
    p = subparsers.add_parser("zero", help="AlphaGo Zero self-play loop",
                              description="Learn Go from nothing: MCTS self-play, replay buffer, training, gating.",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    OPTIONS.add_to(p)
    add_config_option(p, OPTIONS.options + add_run_options(p))
    c = subparsers.add_parser("zero-compact", help="the compact state of a zero run (to commit, then --resume)",
                              description="Copy what `rlgo train zero --resume` needs of a zero run (config, state, "
                                          "optimizer, Elo history, the checkpoints it reads next, the replay shards "
                                          "of the last generations) into a folder, replacing it. Safe on a live run.",
                              epilog=COMPACT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("folder", metavar="RUN", help="zero run folder")
    c.add_argument("--out", required=True, metavar="DIR", help="folder to write (replaced)")
    c.add_argument("--generations", type=positive_int, default=4, metavar="N",
                   help="keep the replay shards of the last N generations (default 4)")


def config_from_args(args: argparse.Namespace) -> tuple[ZeroConfig, bool]:
    """(ZeroConfig, resume) from parsed arguments; flags not given keep the defaults (or the stored run's)."""
    run, resume = run_folder(args)
    if resume:  # a setting may be repeated (a config file's), not changed
        stored = resume_config(run)
        given, kept = OPTIONS.given(args), OPTIONS.flat(stored)
        other = sorted(k for k in set(given) - set(RUN_CONTROL) if given[k] != kept[k])
        if other:
            raise CommandError(f"--resume keeps the run's settings; cannot change {', '.join(other)} "
                               f"(only {', '.join(RUN_CONTROL)})")
        return resume_config(run, **{k: given[k] for k in given if k in RUN_CONTROL}), True
    return OPTIONS.config(args, out=str(run)), False


def run(args) -> int:
    if args.kind == "zero-compact":
        return _run_compact(args)
    cfg, resume = config_from_args(args)
    rows = train_zero(cfg, resume=resume)
    generation, path = read_best(cfg.out)
    print(f"{cfg.out}: {len(rows)} generations; best network: generation {generation}, {path}")
    board = f"--size {cfg.size} --komi {cfg.game_rules().komi:g}" + (
        f" --rules {cfg.rules}" if cfg.rules != "chinese" else "")
    agent = f"zero:ckpt={cfg.out},simulations={cfg.simulations}"
    print(next_steps(f"rlgo play --agent {agent} {board}",
                     f"rlgo tournament --agents {agent} mcts:simulations=1000 {board} --games-per-pair 20 "
                     f"--out {cfg.out}/rating",
                     f"rlgo plot {cfg.out}",
                     f"rlgo train zero --resume {cfg.out} --generations {cfg.generations + 20}"))
    return 0


def _run_compact(args) -> int:
    try:
        kept = compact_run(args.folder, args.out, args.generations)
    except (RunFileError, TrainError, ValueError) as e:
        raise CommandError(str(e)) from None
    print(f"{args.out}: generation {kept['generation']}, checkpoints {kept['checkpoints']}, "
          f"{kept['shards']} replay shards, {kept['bytes'] / 1e6:.1f} MB")
    print(next_steps(f"cp -r {args.out} RUN && rlgo train zero --resume RUN --window-scaled-steps"))
    return 0
