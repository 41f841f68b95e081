"""`rlgo plot RUN`: PNG figures of a training run's metrics (needs the optional extra `plot`)."""
from __future__ import annotations

import argparse
from pathlib import Path

EPILOG = """\
examples:
  rlgo plot runs/zero9                  losses, Elo per generation, games/s, resignations
  rlgo plot runs/sl9 --out figures/sl9  the figures of a supervised run, elsewhere

Figures are drawn from RUN/metrics.csv (any training run: zero, sl, pg, value) into RUN/plots/
unless --out says otherwise: losses.png, elo.png (95% intervals), speed.png, resign.png,
accuracy.png, each when the run has its columns. Needs matplotlib: pip install "rlgo[plot]".
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("plot", help="PNG figures of a training run's metrics",
                              description="Draw the metrics of a training run as PNG figures.", epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", type=Path, metavar="RUN", help="training run folder (holds metrics.csv)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help="folder for the PNGs (default: RUN/plots)")


def run(args) -> int:
    from rlgo.train.plots import plot_run

    paths = plot_run(args.folder, args.out)
    if not paths:
        print(f"{args.folder}: nothing to plot (metrics.csv has none of the plotted columns)")
        return 1
    for path in paths:
        print(f"wrote {path}")
    return 0
