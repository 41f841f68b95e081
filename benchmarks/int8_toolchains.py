"""Int8 toolchains side by side on one checkpoint: torch fp32, ONNX Runtime int8 (QDQ), torch PT2E int8 (x86).

    python -m benchmarks.int8_toolchains models/sl9_b6c64.pt runs/compress/int8.pt --data runs/compress/gnugo9

The PT2E path needs the separate torchao package (torch 2.13 moved PT2E quantization there)
and torch.compile with inductor to produce int8 kernels; it is skipped when torchao is
absent. One thread; speeds round-robin (median of `--rounds`) so load falls on all alike.
"""
from __future__ import annotations

import argparse
import importlib.util
import time

import numpy as np
import torch

from benchmarks.compression import _rate
from rlgo.nn.backend import _HeadsOnly
from rlgo.nn.checkpoint import load_checkpoint
from rlgo.train.data.reader import ShardReader


def pt2e_int8(model, calibration: np.ndarray):
    """`model` quantized by torchao's PT2E X86InductorQuantizer, compiled; returns (net, seconds to build)."""
    import torchao.quantization.pt2e.quantizer.x86_inductor_quantizer as xiq
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    start = time.perf_counter()
    heads = _HeadsOnly(model, ["policy", "value"]).eval()
    example = torch.from_numpy(calibration[:8])
    exported = torch.export.export(heads, (example,),
                                   dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=1024)},)).module()
    quantizer = xiq.X86InductorQuantizer().set_global(xiq.get_default_x86_inductor_quantization_config())
    prepared = prepare_pt2e(exported, quantizer)
    for i in range(0, len(calibration), 32):
        prepared(torch.from_numpy(calibration[i:i + 32]))
    compiled = torch.compile(convert_pt2e(prepared))
    with torch.no_grad():
        compiled(example)

    def net(x):
        policy, value = compiled(x)
        return {"policy": policy, "value": value}
    return net, time.perf_counter() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("original")
    p.add_argument("int8", help="an `rlgo compress quantize` checkpoint of the original")
    p.add_argument("--data", required=True)
    p.add_argument("--seconds", type=float, default=1.5)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model, _ = load_checkpoint(args.original)
    calibration = next(ShardReader(args.data, "train").batches(1024, np.random.default_rng(0))).planes
    val = next(ShardReader(args.data, "val").batches(1_000_000)).planes
    nets = {"torch fp32": model, "onnxruntime int8": load_checkpoint(args.int8, backend="onnxruntime")[0]}
    if importlib.util.find_spec("torchao") is not None:
        nets["pt2e int8 (compiled)"], seconds = pt2e_int8(model, calibration)
        print(f"pt2e: export + calibration + compile {seconds:.0f} s")
    else:
        print("pt2e: skipped (pip install torchao)")
    with torch.no_grad():
        reference = model(torch.from_numpy(val))["policy"].argmax(1)
        agreement = {name: float((net(torch.from_numpy(val))["policy"].argmax(1) == reference).float().mean())
                     for name, net in nets.items()}
    planes = np.repeat(val, 1 + 64 // len(val), axis=0)
    print("| toolchain | b1 pos/s | b8 pos/s | b64 pos/s | top-1 agreement |\n|---|---|---|---|---|")
    rates = {name: {} for name in nets}
    with torch.no_grad():
        for b in (1, 8, 64):
            samples = {name: [] for name in nets}
            for _ in range(args.rounds):
                for name, net in nets.items():
                    samples[name].append(_rate(net, planes[:b], args.seconds / args.rounds))
            for name in nets:
                rates[name][b] = float(np.median(samples[name]))
    for name in nets:
        print(f"| {name} | " + " | ".join(f"{rates[name][b]:,.0f} ({rates[name][b] / rates['torch fp32'][b]:.2f}x)"
                                         for b in (1, 8, 64)) + f" | {agreement[name]:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
