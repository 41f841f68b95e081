"""`rlgo train sl` (supervised policy network) and `rlgo train rollout` (fast rollout policy) from a dataset."""
from __future__ import annotations

import argparse

from rlgo.commands import add_config_option, add_options, next_steps, positive_float, positive_int, run_folder
from rlgo.commands.train_options import add_net_and_optim_options
from rlgo.train.common import OptimConfig
from rlgo.train.sl import SLConfig, train_sl

ROLLOUT_EPILOG = """\
example:
  rlgo train rollout --data data/gnugo9-shards --out models/rollout9.npz

Fits the linear softmax rollout policy (3x3 patterns, response patterns, distance to the last
move, capture / atari flags) on the training split and reports top-1 accuracy on validation.
"""

EPILOG = """\
example:
  rlgo train sl --data data/gnugo9-shards --out runs/sl9 --blocks 6 --width 64 --epochs 20 \\
      --optimizer sgd --lr 0.05 --schedule cosine --batch-size 256 --time-budget 35

The run folder gets last.pt / best.pt (rlgo checkpoints), metrics.csv (one row per epoch:
validation loss, top-1, top-5) and train.csv; --resume RUN continues it (with the same --data).
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("sl", help="supervised policy from expert moves",
                              description="Train a policy network on expert moves.", epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, metavar="DIR", help="dataset folder")
    p.add_argument("--out", metavar="RUN", help="run folder of a new run (--resume RUN continues one)")
    add_net_and_optim_options(p, blocks=6, width=64, epochs=10, batch_size=256, lr=0.05)
    p.add_argument("--value-weight", type=float, default=0.01, help="outcome MSE weight (default: %(default)s)")
    p.add_argument("--time-budget", type=float, default=0.0, metavar="MIN",
                   help="stop after MIN minutes of training; the schedule follows time (default: none)")
    p.add_argument("--no-symmetries", action="store_true", help="no random dihedral augmentation")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's)")
    p.add_argument("--init", default="", metavar="CKPT",
                   help="start from this checkpoint's weights, trained on any board size (default: random)")
    add_options(p, "device", "seed", "resume", device="auto")
    add_config_option(p)
    r = subparsers.add_parser("rollout", help="fast rollout policy from expert moves",
                              description="Fit the fast rollout policy on expert moves.", epilog=ROLLOUT_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--data", required=True, metavar="DIR", help="dataset folder")
    r.add_argument("--out", required=True, metavar="FILE.npz", help="weights file to write")
    r.add_argument("--iterations", type=positive_int, default=300, help="full-batch Adam steps (default: %(default)s)")
    r.add_argument("--lr", type=positive_float, default=0.1, help="Adam step size (default: %(default)s)")
    r.add_argument("--l2", type=float, default=1e-4, help="L2 penalty (default: %(default)s)")


def run(args) -> int:
    if args.kind == "rollout":
        return _run_rollout(args)
    optim = OptimConfig(optimizer=args.optimizer, lr=args.lr, weight_decay=args.weight_decay, schedule=args.schedule)
    out, resume = run_folder(args)
    cfg = SLConfig(data=args.data, out=str(out), backbone=args.backbone, blocks=args.blocks, width=args.width,
                   feature_set=args.features, epochs=args.epochs, batch_size=args.batch_size, optim=optim,
                   value_weight=args.value_weight, time_budget=args.time_budget * 60.0,
                   symmetries=not args.no_symmetries, device=args.device, seed=args.seed or 0,
                   threads=args.threads, init=args.init)
    row = train_sl(cfg, resume=resume)
    print(f"{out}: epoch {row.get('epoch')}, val top-1 {row.get('val_top1', float('nan')):.3f}, "
          f"top-5 {row.get('val_top5', float('nan')):.3f}; checkpoints {out}/best.pt, {out}/last.pt")
    print(next_steps(f"rlgo play --agent policy:ckpt={out}/best.pt", f"rlgo train pg --sl {out}/best.pt --out RUN",
                     f"rlgo plot {out}"))
    return 0


def _run_rollout(args) -> int:
    from rlgo.train.rollout_train import RolloutTrainConfig, train_rollout_policy
    result = train_rollout_policy(args.data, args.out, RolloutTrainConfig(args.iterations, args.lr, args.l2))
    nan = float("nan")
    print(f"{args.out}: validation top-1 {result.get('val_top1_all', nan):.3f} over all moves "
          f"({result.get('val_top1_candidates', nan):.3f} where the expert move is a candidate); "
          f"train {result['train_top1_all']:.3f}")
    return 0
