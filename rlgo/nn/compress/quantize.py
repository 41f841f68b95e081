"""Int8 post-training static quantization with ONNX Runtime (QDQ, per-channel weights).

Why ONNX Runtime: on the development CPU (AVX-512 VNNI, AMX) its int8 kernels ran the
shipped 9x9 net several times faster than torch fp32 at batch 8 (docs/compression.md), while
torch 2.13 has no int8 CPU path of its own (PT2E moved to the separate torchao package and
needs torch.compile to produce int8 kernels).
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
def input_range(planes: np.ndarray) -> tuple[float, float]:
    """(low, high) that the input planes are quantized over: the calibration planes' range widened to
    [-1, 1] where they go negative and to 1 above. The signed planes (komi / 20 for the side to move)
    must cover the komi a user may set, not only the training komi of the calibration positions:
    komi 0 or 9 would be clipped to it."""
    low, high = float(planes.min()), float(planes.max())
    return (min(low, -1.0) if low < 0 else low), max(high, 1.0)
QUANTIZED_OPS = ("Conv",)
"""ONNX ops given int8 weights and activations; normalization, pooling and adds stay fp32."""


class QuantizeError(ValueError):
    """Calibration data that does not fit the network, or a network the quantizer cannot take."""


def quantize_int8(model: nn.Module, calibration: np.ndarray) -> bytes:
    """`model` (a GoNet with policy and value heads) as an int8 ONNX graph calibrated on `calibration`.

    calibration: float32 planes [B, C, N, N] of real positions; activation ranges are their
    min/max. Weights are int8 per output channel, activations uint8 (what x86 VNNI runs).
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
                            weight_type=QuantType.QInt8, extra_options={"TensorQuantOverrides": {
                                "planes": [{"rmin": np.float32(input_range(planes)[0]),
                                            "rmax": np.float32(input_range(planes)[1])}]}})
            return int8.read_bytes()
    finally:
        logging.getLogger().setLevel(quiet)
