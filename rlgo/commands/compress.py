"""`rlgo compress quantize|prune|distill`: smaller or faster copies of a network (rlgo.train.compress)."""
from __future__ import annotations

import argparse

from rlgo.commands import add_options, number_in, positive_float, positive_int

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
int8 ones run on ONNX Runtime (pip install 'rlgo[onnx]'). See docs/compression.md.
"""


fraction = number_in(lambda v: 0.0 < v < 1.0, "a fraction in (0, 1)")
"""argparse type: a number strictly between 0 and 1."""
unit_interval = number_in(lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]")
"""argparse type: a number in [0, 1]."""


def _training_options(p: argparse.ArgumentParser, steps_flag: str, steps: int) -> None:
    p.add_argument(steps_flag, type=int, default=steps, dest="steps", metavar="S",
                   help="optimizer steps (default: %(default)s)")
    p.add_argument("--batch-size", type=positive_int, default=128, help="default: %(default)s")
    p.add_argument("--lr", type=positive_float, default=1e-3, help="peak AdamW rate, cosine schedule (default: %(default)s)")
    p.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads (default: %(default)s)")
    add_options(p, "seed")


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
    r.add_argument("--out", required=True, metavar="OUT")
    r.add_argument("--method", choices=("channels", "magnitude"), default="channels", help="default: %(default)s")
    r.add_argument("--data", metavar="DATA", help="dataset folder or zero run to fine-tune on")
    _training_options(r, "--finetune-steps", 0)
    d = sub.add_parser("distill", help="train a student on a teacher's softened policy and value",
                       description="Knowledge distillation: soft teacher targets at temperature T mixed with hard targets.",
                       epilog=DISTILL_EPILOG, formatter_class=raw)
    d.add_argument("--teacher", required=True, metavar="CKPT")
    d.add_argument("--student", required=True, metavar="SPEC",
                   help="checkpoint to continue, or a fresh net as BACKBONE-bDEPTHcWIDTH (e.g. mobilenet-b4c32)")
    d.add_argument("--data", required=True, metavar="SHARDS|RUN", help="dataset folder or zero run (visit distributions)")
    d.add_argument("--out", required=True, metavar="OUT")
    d.add_argument("--temperature", type=positive_float, default=2.0, help="softmax temperature T (default: %(default)s)")
    d.add_argument("--alpha", type=unit_interval, default=0.5,
                   help="weight of the teacher terms; 0 = hard targets only (default: %(default)s)")
    d.add_argument("--value-weight", type=float, default=0.25, help="value terms vs policy terms (default: %(default)s)")
    _training_options(d, "--steps", 1000)


def run(args) -> int:
    from rlgo.nn.compress.distill import DistillLoss
    from rlgo.train import compress

    action = args.compress_command
    if action == "quantize":
        print(f"{args.checkpoint}: int8 quantization, calibrating on up to {args.positions} positions of "
              f"{args.calibration}", flush=True)
        record = compress.quantize(args.checkpoint, args.out, args.calibration, args.positions, args.seed or 0)
    else:
        if args.steps < 0:
            raise compress.DistillError(f"steps must be >= 0, got {args.steps}")
        settings = compress.TrainSettings(args.steps, args.batch_size, args.lr, args.seed or 0, args.threads)
        if action == "prune":
            record = compress.prune(args.checkpoint, args.out, args.amount, args.method, args.data, settings)
        else:
            loss = DistillLoss(args.temperature, args.alpha, args.value_weight)
            record = compress.distill(args.teacher, args.student, args.data, args.out, loss, settings)
    print(f"{args.out}: " + ", ".join(f"{k} {v}" for k, v in record.items() if not isinstance(v, dict)))
    return 0
