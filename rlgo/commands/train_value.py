"""`rlgo train value`: AlphaGo value network from SL/RL self-play positions, one per game."""
from __future__ import annotations

import argparse

from pathlib import Path

from rlgo.commands import add_config_option, add_run_options, next_steps, rules_from_args, run_folder, \
    standard_options
from rlgo.commands.options import DataclassOptions
from rlgo.commands.train import NET_EXCLUDE, TYPES
from rlgo.train.value import ValueConfig
from rlgo.train.value_data import ValueDataConfig

DATA = DataclassOptions(ValueDataConfig, exclude=("rules", "move_cap", "temperature", "seed"), types=TYPES,
                        required=("sl", "rl"))
TRAIN = DataclassOptions(ValueConfig, exclude=(*NET_EXCLUDE, "data", "out"), types=TYPES)

EPILOG = """\
examples:
  rlgo train value --sl models/sl9_b6c64.pt --rl runs/pg9/last.pt --games 20000 --out runs/value9 \\
      --blocks 4 --width 32 --epochs 20 --eval-rollouts 16
  rlgo train value --config configs/value9.toml   3000 games; the RL policy of configs/pg9.toml

Games: U uniform in [1, --random-move-max]; the SL policy plays moves 1..U-1, move U is uniformly random,
the RL policy finishes the game; the position after move U and the result for its side to move
(area scoring) make one sample. Shards go to RUN/data (rerunning plays only missing shards),
then the net trains on all but the last --val-fraction of the games: RUN/last.pt, best.pt,
metrics.csv. With --eval-rollouts R, RUN/value_eval.csv compares, by move number on the held-out
positions, the value net's MSE with a constant's and with the mean of R rollouts (AlphaGo Fig. 2b).
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("value", help="value network on SL/RL self-play positions (AlphaGo)",
                              description="Generate one position per game and regress outcomes on them.",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    DATA.add_to(p)
    TRAIN.add_to(p)
    rules = standard_options("komi", "rules")
    for option in rules:
        option.add_to(p)
    add_config_option(p, DATA.options + TRAIN.options + rules + add_run_options(p))


def run(args) -> int:
    from rich.console import Console

    from rlgo.train.distributed import launch
    from rlgo.train.value import evaluate_run, train_value
    from rlgo.train.value_data import generate_data

    console = Console(stderr=True)
    rules = rules_from_args(args)
    out, resume = run_folder(args)
    cfg = TRAIN.config(args, data=str(Path(out) / "data"), out=str(out))
    data = DATA.config(args, rules=rules, seed=cfg.seed)
    generate_data(data, out, device=cfg.device, console=console)
    row = launch(cfg.ddp, train_value, cfg, resume)
    print(f"{out}: epoch {row.get('epoch')}, validation MSE {row.get('val_mse', float('nan')):.4f} "
          f"(constant {row.get('val_mse_constant', float('nan')):.4f}); checkpoints {out}/best.pt, {out}/last.pt")
    if cfg.eval_rollouts > 0:
        print(evaluate_run(cfg, rules))
    print(next_steps(f"rlgo play --agent alphago:ckpt={data.sl},value={out}/best.pt", f"rlgo plot {out}"))
    return 0
