"""`rlgo train pg`: policy-gradient self-play of an SL policy against a pool of its past selves."""
from __future__ import annotations

import argparse

from rlgo.commands import add_config_option, add_options, next_steps, positive_float, positive_int, rules_from_args, \
    run_folder
from rlgo.train.common import OPTIMIZERS, OptimConfig
from rlgo.train.pg import BASELINES, PG_OPTIM, PGConfig, train_pg

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
one's own eye are left out unless --eye-fills.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("pg", help="policy gradient vs a pool of past policies (AlphaGo RL)",
                              description="REINFORCE self-play against earlier snapshots of the policy.",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sl", required=True, metavar="CKPT", help="starting (SL) policy checkpoint")
    p.add_argument("--out", metavar="RUN", help="run folder of a new run (--resume RUN continues one)")
    p.add_argument("--iterations", type=positive_int, default=1000, help="default: %(default)s")
    p.add_argument("--games-per-iter", type=positive_int, default=128, help="default: %(default)s")
    p.add_argument("--snapshot-every", type=positive_int, default=500, metavar="K",
                   help="add the learner to the pool every K iterations (default: %(default)s)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=PG_OPTIM.optimizer)
    p.add_argument("--lr", type=positive_float, default=PG_OPTIM.lr, help="learning rate (default: %(default)s)")
    p.add_argument("--baseline", choices=BASELINES, default="none",
                   help="reward baseline: none, mean (minibatch), value (needs --value) (default: %(default)s)")
    p.add_argument("--value", metavar="CKPT", default=None, help="value network for --baseline value")
    p.add_argument("--pool", metavar="DIR", default=None, help="add the snapshots of another run's pool at the start")
    p.add_argument("--temperature", type=positive_float, default=1.0, help="sampling temperature (default: 1)")
    p.add_argument("--move-cap", type=positive_int, default=None, help="score games after N moves (default: 2*N*N)")
    p.add_argument("--eye-fills", action="store_true", help="let the policies fill their own single-point eyes")
    p.add_argument("--eval-every", type=int, default=0, metavar="K",
                   help="play the SL policy every K iterations and log the win rate (default: never)")
    p.add_argument("--eval-games", type=positive_int, default=128, help="games of each such match")
    p.add_argument("--checkpoint-every", type=positive_int, default=10, metavar="K", help="default: %(default)s")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's)")
    add_options(p, "komi", "rules", "device", "seed", "resume")
    add_config_option(p)


def run(args) -> int:
    optim = OptimConfig(optimizer=args.optimizer, lr=args.lr, momentum=PG_OPTIM.momentum,
                        weight_decay=PG_OPTIM.weight_decay, schedule="constant", warmup=0.0)
    out, resume = run_folder(args)
    cfg = PGConfig(sl=args.sl, out=str(out), iterations=args.iterations, games_per_iter=args.games_per_iter,
                   snapshot_every=args.snapshot_every, optim=optim, baseline=args.baseline, value=args.value,
                   pool=args.pool, rules=rules_from_args(args), move_cap=args.move_cap or 0,
                   prune_eye_fills=not args.eye_fills, temperature=args.temperature, eval_every=args.eval_every,
                   eval_games=args.eval_games, checkpoint_every=args.checkpoint_every, device=args.device,
                   seed=args.seed or 0, threads=args.threads)
    row = train_pg(cfg, resume=resume)
    print(f"{out}: iteration {args.iterations}, win rate {row.get('win_rate', float('nan')):.3f} "
          f"vs {row.get('opponent', '?')}; learner {out}/last.pt")
    print(next_steps(f"rlgo tournament --agents policy:ckpt={out}/last.pt policy:ckpt={args.sl} --out RUN",
                     f"rlgo train value --sl {args.sl} --rl {out}/last.pt --games 20000 --out RUN",
                     f"rlgo plot {out}"))
    return 0
