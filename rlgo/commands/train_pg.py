"""`rlgo train pg`: policy-gradient self-play of an SL policy against a pool of its past selves."""
from __future__ import annotations

import argparse

from rlgo.commands import add_config_option, add_run_options, next_steps, rules_from_args, run_folder, \
    standard_options
from rlgo.commands.options import DataclassOptions
from rlgo.commands.train import TYPES
from rlgo.train.pg import PGConfig, train_pg

OPTIONS = DataclassOptions(PGConfig, exclude=("out", "rules", "schedule", "warmup", "min_lr_ratio", "step_at",
                                              "step_gamma"), types=TYPES)

EPILOG = """\
examples:
  rlgo train pg --sl models/sl9_b6c64.pt --out runs/pg9 --iterations 2000 --games-per-iter 128 \\
      --snapshot-every 500 --lr 0.001 --baseline mean
  rlgo train pg --config configs/pg9.toml                   the shipped config (80 iterations)
  rlgo train pg --sl models/sl9_b6c64.pt --resume runs/pg9  continue a run

The run folder gets last.pt (the learner, an rlgo checkpoint), pool/snap-*.pt (the opponent
pool: the SL policy and a snapshot every --snapshot-every iterations), metrics.csv (one row per
iteration) and train_state.pt; --resume RUN continues it with the same pool and the same games.
Moves are sampled over the legal moves of the rules' ko rule (superko included); moves filling
one's own eye are left out unless --no-prune-eye-fills.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("pg", help="policy gradient vs a pool of past policies (AlphaGo RL)",
                              description="REINFORCE self-play against earlier snapshots of the policy.",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    OPTIONS.add_to(p)
    rules = standard_options("komi", "rules")
    for option in rules:
        option.add_to(p)
    add_config_option(p, OPTIONS.options + rules + add_run_options(p))


def run(args) -> int:
    out, resume = run_folder(args)
    cfg = OPTIONS.config(args, out=str(out), rules=rules_from_args(args))
    row = train_pg(cfg, resume=resume)
    print(f"{out}: iteration {cfg.iterations}, win rate {row.get('win_rate', float('nan')):.3f} "
          f"vs {row.get('opponent', '?')}; learner {out}/last.pt")
    print(next_steps(f"rlgo tournament --agents policy:ckpt={out}/last.pt policy:ckpt={cfg.sl} --out RUN",
                     f"rlgo train value --sl {cfg.sl} --rl {out}/last.pt --games 20000 --out RUN",
                     f"rlgo plot {out}"))
    return 0
