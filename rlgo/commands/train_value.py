"""`rlgo train value`: AlphaGo value network from SL/RL self-play positions, one per game."""
from __future__ import annotations

import argparse

from rlgo.commands import add_config_option, add_options, next_steps, positive_float, positive_int, rules_from_args, \
    run_folder
from rlgo.commands.train_options import add_net_and_optim_options
from rlgo.train.common import OptimConfig

EPILOG = """\
examples:
  rlgo train value --sl models/sl9_b6c64.pt --rl runs/pg9/last.pt --games 20000 --out runs/value9 \\
      --blocks 4 --width 32 --epochs 20 --eval-rollouts 16
  rlgo train value --config configs/value9.toml   3000 games; the RL policy of configs/pg9.toml

Games: U uniform in [1, --cap]; the SL policy plays moves 1..U-1, move U is uniformly random,
the RL policy finishes the game; the position after move U and the result for its side to move
(area scoring) make one sample. Shards go to RUN/data (rerunning plays only missing shards),
then the net trains on all but the last --val-fraction of the games: RUN/last.pt, best.pt,
metrics.csv. With --eval-rollouts R, RUN/value_eval.csv compares, by move number on the held-out
positions, the value net's MSE with a constant's and with the mean of R playouts (AlphaGo Fig. 2b).
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("value", help="value network on SL/RL self-play positions (AlphaGo)",
                              description="Generate one position per game and regress outcomes on them.",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sl", required=True, metavar="CKPT", help="SL policy (moves before U)")
    p.add_argument("--rl", required=True, metavar="CKPT", help="RL policy (moves after U)")
    p.add_argument("--games", type=positive_int, required=True, help="games = training samples")
    p.add_argument("--out", metavar="RUN", help="run folder of a new run (--resume RUN continues one)")
    p.add_argument("--cap", type=positive_int, default=None, metavar="M", help="U is drawn in [1, M] (default: N*N)")
    p.add_argument("--shard-size", type=positive_int, default=256, help="games per shard (default: %(default)s)")
    p.add_argument("--eye-fills", action="store_true", help="let the policies fill their own single-point eyes")
    add_net_and_optim_options(p, blocks=4, width=32, epochs=20, batch_size=128, lr=0.01)
    p.add_argument("--val-fraction", type=positive_float, default=0.1, help="held-out share (default: %(default)s)")
    p.add_argument("--eval-rollouts", type=int, default=0, metavar="R",
                   help="after training, compare with the mean of R playouts per held-out position (default: skip)")
    p.add_argument("--rollout", metavar="NPZ", default=None,
                   help="trained rollout policy for --eval-rollouts (default: uniform random playouts)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's)")
    add_options(p, "komi", "rules", "device", "seed", "resume")
    add_config_option(p)


def run(args) -> int:
    from rich.console import Console

    from rlgo.train.value import ValueConfig, evaluate_run, train_value
    from rlgo.train.value_data import generate_data

    console = Console(stderr=True)
    rules = rules_from_args(args)
    out, resume = run_folder(args)
    data = generate_data(args.sl, args.rl, args.games, out, rules, cap=args.cap or 0, shard_size=args.shard_size,
                         prune_eye_fills=not args.eye_fills, device=args.device, seed=args.seed or 0,
                         console=console)
    optim = OptimConfig(optimizer=args.optimizer, lr=args.lr, weight_decay=args.weight_decay, schedule=args.schedule)
    cfg = ValueConfig(data=str(data), out=str(out), backbone=args.backbone, blocks=args.blocks, width=args.width,
                      feature_set=args.features, epochs=args.epochs, batch_size=args.batch_size, optim=optim,
                      val_fraction=args.val_fraction, device=args.device, seed=args.seed or 0, threads=args.threads)
    row = train_value(cfg, resume=resume, console=console)
    print(f"{out}: epoch {row.get('epoch')}, validation MSE {row.get('val_mse', float('nan')):.4f} "
          f"(constant {row.get('val_mse_constant', float('nan')):.4f}); checkpoints {out}/best.pt, {out}/last.pt")
    if args.eval_rollouts > 0:
        table = evaluate_run(cfg, rules, args.eval_rollouts, args.rollout, seed=args.seed or 0)
        print(table)
    print(next_steps(f"rlgo play --agent alphago:ckpt={args.sl},value={out}/best.pt", f"rlgo plot {out}"))
    return 0
