"""`rlgo train sl` (supervised policy network) and `rlgo train rollout` (fast rollout policy) from a dataset."""
from __future__ import annotations

import argparse

from rlgo.commands import add_config_option, add_run_options, next_steps, run_folder
from rlgo.commands.options import DataclassOptions
from rlgo.commands.train import NET_EXCLUDE, TYPES
from rlgo.train.distributed import launch
from rlgo.train.rollout_train import RolloutTrainConfig
from rlgo.train.sl import SLConfig, train_sl

OPTIONS = DataclassOptions(SLConfig, exclude=(*NET_EXCLUDE, "out", "log_every", "checkpoint_seconds"), types=TYPES)
ROLLOUT_OPTIONS = DataclassOptions(RolloutTrainConfig, types=TYPES)

ROLLOUT_EPILOG = """\
example:
  rlgo train rollout --data data/gnugo9-shards --out models/rollout9.npz

Fits the linear softmax rollout policy (3x3 patterns, response patterns, distance to the last
move, capture / atari flags) on the training split and reports top-1 accuracy on validation.
"""

EPILOG = """\
example:
  rlgo train sl --data data/gnugo9-shards --out runs/sl9 --blocks 6 --width 64 --epochs 20 \\
      --optimizer sgd --lr 0.05 --schedule cosine --batch-size 256 --time-budget-s 2100

The run folder gets last.pt / best.pt (rlgo checkpoints), metrics.csv (one row per epoch:
validation loss, top-1, top-5) and train.csv; --resume RUN continues it (with the same --data).
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("sl", help="supervised policy from expert moves",
                              description="Train a policy network on expert moves.", epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    OPTIONS.add_to(p)
    add_config_option(p, OPTIONS.options + add_run_options(p))
    r = subparsers.add_parser("rollout", help="fast rollout policy from expert moves",
                              description="Fit the fast rollout policy on expert moves.", epilog=ROLLOUT_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--data", required=True, metavar="DIR", help="dataset folder")
    r.add_argument("--out", required=True, metavar="FILE.npz", help="weights file to write")
    ROLLOUT_OPTIONS.add_to(r)


def run(args) -> int:
    if args.kind == "rollout":
        return _run_rollout(args)
    out, resume = run_folder(args)
    cfg = OPTIONS.config(args, out=str(out))
    row = launch(cfg.processes, train_sl, cfg, resume)
    print(f"{out}: epoch {row.get('epoch')}, val top-1 {row.get('val_top1', float('nan')):.3f}, "
          f"top-5 {row.get('val_top5', float('nan')):.3f}; checkpoints {out}/best.pt, {out}/last.pt")
    print(next_steps(f"rlgo play --agent policy:ckpt={out}/best.pt", f"rlgo train pg --sl {out}/best.pt --out RUN",
                     f"rlgo plot {out}"))
    return 0


def _run_rollout(args) -> int:
    from rlgo.train.rollout_train import train_rollout_policy
    result = train_rollout_policy(args.data, args.out, ROLLOUT_OPTIONS.config(args))
    nan = float("nan")
    print(f"{args.out}: validation top-1 {result.get('val_top1_all', nan):.3f} over all moves "
          f"({result.get('val_top1_candidates', nan):.3f} where the expert move is a candidate); "
          f"train {result['train_top1_all']:.3f}")
    return 0
