"""Network and optimizer flags shared by the `rlgo train` commands that build a network from scratch."""
from __future__ import annotations

import argparse

from rlgo.commands import positive_float, positive_int
from rlgo.train.common import OPTIMIZERS, SCHEDULES


def add_ddp_option(p: argparse.ArgumentParser) -> None:
    """Add --ddp N (rlgo.train.distributed.launch)."""
    p.add_argument("--ddp", type=positive_int, default=1, metavar="N",
                   help="data-parallel training in N local processes, torch.distributed DDP (default: 1)")


def add_net_and_optim_options(p: argparse.ArgumentParser, *, blocks: int, width: int, epochs: int,
                              batch_size: int, lr: float) -> None:
    """Add --backbone --blocks --width --features --epochs --batch-size --optimizer --lr --weight-decay --schedule."""
    p.add_argument("--backbone", default="resnet", help="rlgo.nn backbone (default: %(default)s)")
    p.add_argument("--blocks", type=positive_int, default=blocks, help="trunk blocks (default: %(default)s)")
    p.add_argument("--width", type=positive_int, default=width, help="trunk channels (default: %(default)s)")
    p.add_argument("--features", default="agz", help="feature set (default: %(default)s)")
    p.add_argument("--epochs", type=positive_int, default=epochs, help="default: %(default)s")
    p.add_argument("--batch-size", type=positive_int, default=batch_size, help="default: %(default)s")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd")
    p.add_argument("--lr", type=positive_float, default=lr, help="peak learning rate (default: %(default)s)")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="default: %(default)s")
    p.add_argument("--schedule", choices=SCHEDULES, default="cosine")
