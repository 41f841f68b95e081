"""`rlgo compress quantize|prune|distill`: smaller or faster copies of a network (rlgo.train.compress)."""
from __future__ import annotations

import argparse

from rlgo.commands import add_options, number_in, positive_float, positive_int
from rlgo.commands.options import DataclassOptions
from rlgo.nn.compress.distill import DistillLoss
from rlgo.train.compress import TrainSettings

QUANTIZE_EPILOG = """\
example:
  rlgo compress quantize models/sl9_b6c64.pt --out runs/sl9-int8.pt --calibration data/gnugo9-shards
"""
PRUNE_EPILOG = """\
example:
  rlgo compress prune models/sl9_b6c64.pt --amount 0.5 --out runs/sl9-c50.pt \\
      --data data/gnugo9-shards --finetune-steps 500
"""
DISTILL_EPILOG = """\
example:
  rlgo compress distill --teacher models/sl9_b6c64.pt --student mobilenet-b4c32 \\
      --data data/gnugo9-shards --out runs/sl9-student.pt --steps 2000 --temperature 2
"""
EPILOG = QUANTIZE_EPILOG.replace("example:", "examples:") + PRUNE_EPILOG.split("\n", 1)[1] \
    + DISTILL_EPILOG.split("\n", 1)[1] + """
Every result is an rlgo checkpoint that agents take as they are (zero:ckpt=runs/sl9-int8.pt);
int8 ones run on ONNX Runtime. See docs/compression.md.
"""


fraction = number_in(lambda v: 0.0 < v < 1.0, "a fraction in (0, 1)")
"""argparse type: a number strictly between 0 and 1."""
unit_interval = number_in(lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]")
"""argparse type: a number in [0, 1]."""



def _settings(steps_flag: str, steps: int) -> DataclassOptions:
    """The options of TrainSettings, the step count under `steps_flag` with default `steps`."""
    return DataclassOptions(TrainSettings, types={"batch_size": positive_int, "lr": positive_float,
                                                  "threads": positive_int},
                            flags={"steps": (steps_flag,)}, metavars={"steps": "S"}, default=TrainSettings(steps=steps))


PRUNE_SETTINGS = _settings("--finetune-steps", 0)
DISTILL_SETTINGS = _settings("--steps", 1000)
value_share = number_in(lambda v: 0.0 <= v <= 1.0 or v == -1.0, "a number in [0, 1], or -1 (alpha)")
"""argparse type of --value-alpha."""
LOSS = DataclassOptions(DistillLoss, types={"temperature": positive_float, "alpha": unit_interval,
                                            "value_alpha": value_share},
                        metavars={"temperature": "T"})


def register(subparsers) -> None:
    p = subparsers.add_parser("compress", help="int8 quantization, pruning, distillation of a network",
                              description="Compress a policy/value network into another rlgo checkpoint.",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="compress_command", metavar="ACTION", required=True)
    raw = argparse.RawDescriptionHelpFormatter
    q = sub.add_parser("quantize", help="int8 post-training static quantization (ONNX Runtime)",
                       description="Int8 weights and activations, ranges calibrated on real positions.",
                       epilog=QUANTIZE_EPILOG, formatter_class=raw)
    q.add_argument("checkpoint", metavar="CKPT")
    q.add_argument("--out", required=True, metavar="OUT")
    q.add_argument("--calibration", required=True, metavar="DATA", help="dataset folder or zero run")
    q.add_argument("--positions", type=positive_int, default=1024, help="calibration positions (default: %(default)s)")
    add_options(q, "seed")
    r = sub.add_parser("prune", help="channel or magnitude pruning, then fine-tuning",
                       description="Remove channels (a smaller dense net) or zero small weights, then fine-tune.",
                       epilog=PRUNE_EPILOG, formatter_class=raw)
    r.add_argument("checkpoint", metavar="CKPT")
    r.add_argument("--amount", type=fraction, required=True, help="share of channels or weights to remove")
    r.add_argument("--stream", type=fraction, default=None, metavar="AMOUNT",
                   help="channels: also remove this share of the residual stream's channels (default: none)")
    r.add_argument("--out", required=True, metavar="OUT")
    r.add_argument("--method", choices=("channels", "magnitude"), default="channels", help="default: %(default)s")
    r.add_argument("--data", metavar="DATA", help="dataset folder or zero run to fine-tune on")
    PRUNE_SETTINGS.add_to(r)
    d = sub.add_parser("distill", help="train a student on a teacher's softened policy and value",
                       description="Knowledge distillation: soft teacher targets at temperature T mixed with hard targets.",
                       epilog=DISTILL_EPILOG, formatter_class=raw)
    d.add_argument("--teacher", required=True, metavar="CKPT")
    d.add_argument("--student", required=True, metavar="SPEC",
                   help="checkpoint to continue, or a fresh net as BACKBONE-bDEPTHcWIDTH (e.g. mobilenet-b4c32)")
    d.add_argument("--data", required=True, metavar="SHARDS|RUN", help="dataset folder or zero run (visit distributions)")
    d.add_argument("--out", required=True, metavar="OUT")
    LOSS.add_to(d)
    DISTILL_SETTINGS.add_to(d)


def run(args) -> int:
    from rlgo.train import compress

    action = args.compress_command
    if action == "quantize":
        print(f"{args.checkpoint}: int8 quantization, calibrating on up to {args.positions} positions of "
              f"{args.calibration}", flush=True)
        record = compress.quantize(args.checkpoint, args.out, args.calibration, args.positions, args.seed or 0)
    elif action == "prune":
        record = compress.prune(args.checkpoint, args.out, args.amount, args.method, args.data,
                                PRUNE_SETTINGS.config(args), stream=args.stream or 0.0)
    else:
        record = compress.distill(args.teacher, args.student, args.data, args.out, LOSS.config(args),
                                  DISTILL_SETTINGS.config(args))
    print(f"{args.out}: " + ", ".join(f"{k} {v}" for k, v in record.items() if not isinstance(v, dict)))
    return 0
