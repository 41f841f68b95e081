"""Int8 post-training static quantization with ONNX Runtime (QDQ, per-channel weights).

Why ONNX Runtime: on the development CPU (AVX-512 VNNI, AMX) its int8 kernels ran the
shipped 9x9 net several times faster than torch fp32 at batch 8 (docs/compression.md), while
torch 2.13 has no int8 CPU path of its own (PT2E moved to the separate torchao package and
needs torch.compile to produce int8 kernels).

Two choices keep the graph right on every x86 CPU (measured in docs/compression.md, "Int8 on
CPUs without VNNI"):
- weights use 7 bits (`reduce_range`). Without VNNI, ONNX Runtime multiplies uint8 activations by
  int8 weights with VPMADDUBSW, whose int16 sum of two products saturates above 32,767; with
  |weight| <= 64 it cannot (2 x 255 x 64 = 32,640). Full 8-bit weights made the shipped network
  agree with fp32 on 63% of held-out moves on an AVX2 CPU, 7-bit ones on 94%.
- the convolution that reads the input planes stays fp32: it reads the komi plane, and its int8
  copy blurred komi (win rate spread over komi -7..21 0.090 instead of fp32's 0.103).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
from torch import nn

from rlgo.nn.backend import export_onnx, resolve_backend

CALIBRATION_BATCH = 32
"""Positions per calibration forward pass."""


QUANTIZED_OPS = ("Conv",)
"""ONNX ops given int8 weights and activations; normalization, pooling and adds stay fp32."""


class QuantizeError(ValueError):
    """Calibration data that does not fit the network, or a network the quantizer cannot take."""


def quantize_int8(model: nn.Module, calibration: np.ndarray) -> bytes:
    """`model` (a GoNet with policy and value heads) as an int8 ONNX graph calibrated on `calibration`.

    calibration: float32 planes [B, C, N, N] of real positions; activation ranges are their
    min/max. Weights are int8 per output channel (7 bits used), activations uint8; the convolutions
    reading the input planes stay fp32.
    """
    resolve_backend("onnxruntime")  # BackendError naming the extra when onnxruntime is absent
    cfg = model.cfg
    shape = (cfg.in_planes, cfg.board_size, cfg.board_size)
    if calibration.ndim != 4 or tuple(calibration.shape[1:]) != shape or len(calibration) == 0:
        raise QuantizeError(f"calibration planes must be [B>0, {', '.join(map(str, shape))}], "
                            f"got {list(calibration.shape)}")
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    planes = np.ascontiguousarray(calibration, dtype=np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(planes[i:i + CALIBRATION_BATCH] for i in range(0, len(planes), CALIBRATION_BATCH))

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {"planes": batch}

    quiet = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # the quantizer logs per-tensor notes at WARNING
    try:
        with tempfile.TemporaryDirectory() as tmp:
            fp32, pre, int8 = (Path(tmp) / name for name in ("fp32.onnx", "pre.onnx", "int8.onnx"))
            fp32.write_bytes(export_onnx(model))
            quant_pre_process(fp32, pre)
            quantize_static(pre, int8, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            op_types_to_quantize=list(QUANTIZED_OPS), activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, reduce_range=True,
                            nodes_to_exclude=input_convolutions(pre))
            return int8.read_bytes()
    finally:
        logging.getLogger().setLevel(quiet)


def input_convolutions(graph: Path) -> list[str]:
    """Names of the Conv nodes of the ONNX graph file `graph` that read its input planes."""
    import onnx
    return [node.name for node in onnx.load(str(graph)).graph.node
            if node.op_type == "Conv" and node.input[0] == "planes"]
