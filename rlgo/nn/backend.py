"""Inference backends: the same network run by torch (fp32 or bf16) or by ONNX Runtime (fp32 or int8).

Every backend gives a module with GoNet's inference interface, so evaluators and agents take
it unchanged: forward(x float32 [B, C, N, N], legal_mask bool [B, N*N+1] | None) -> {"policy":
logits [B, N*N+1] (illegal moves masked exactly as GoNet does), "value": [B]}, plus `.cfg` and
`.name`. ONNX Runtime is one of rlgo's dependencies (the default agent's int8 network runs on it);
where it is missing anyway, the `onnxruntime` backend is a BackendError naming the fix, and `auto`
falls back to torch.

| backend       | runs                                              | where                      |
|---------------|---------------------------------------------------|----------------------------|
| `torch`       | the GoNet itself, fp32                            | any torch device           |
| `bf16`        | the GoNet under bfloat16 autocast                 | cpu (AMX/AVX-512) or cuda  |
| `onnxruntime` | the net exported to ONNX (or a stored int8 graph) | cpu                        |
| `auto`        | onnxruntime on cpu when installed, else torch     |                            |
"""

from __future__ import annotations

import io
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch import nn

from rlgo.nn.heads import mask_illegal
from rlgo.nn.model import GoNet, NetConfig, check_planes

BACKENDS = ("auto", "torch", "bf16", "onnxruntime")
"""Valid backend names."""
ONNX_OPSET = 17
"""ONNX opset of exported networks."""


class BackendError(ValueError):
    """A backend that is unknown, not installed, or unable to run a network on a device."""


def onnxruntime_available() -> bool:
    """Whether the optional onnxruntime package can be imported."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(name: str, device: str | torch.device = "cpu") -> str:
    """The concrete backend for `name` on `device`: "auto" -> onnxruntime on cpu when installed, else torch."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; valid: {', '.join(BACKENDS)}")
    on_cpu = torch.device(device).type == "cpu"
    if name == "auto":
        return "onnxruntime" if on_cpu and onnxruntime_available() else "torch"
    if name == "onnxruntime":
        if not on_cpu:
            raise BackendError(f"backend onnxruntime runs on cpu only, not {str(device)!r}; use torch or bf16")
        if not onnxruntime_available():
            raise BackendError("backend onnxruntime needs the onnxruntime package: pip install onnxruntime onnx")
    return name


class _HeadsOnly(nn.Module):
    """GoNet -> the tuple of its head outputs in `heads` order, as an ONNX graph returns them (policy unmasked)."""

    def __init__(self, model: nn.Module, heads: list[str]):
        super().__init__()
        self.model = model
        self.heads = heads

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(x)
        return tuple(out[h] for h in self.heads)


def export_onnx(model: GoNet) -> bytes:
    """`model` (a GoNet) as an ONNX graph with a dynamic batch axis.

    Input "planes" float32 [B, C, N, N]; one output per head, named as the head, shaped as
    GoNet's outputs (the policy logits unmasked).
    """
    cfg = model.cfg
    heads = list(cfg.heads)
    x = torch.zeros(1, cfg.in_planes, cfg.board_size, cfg.board_size)
    batch = {0: "batch"}
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter warns about its own deprecation and shape checks
        warnings.simplefilter("ignore")
        torch.onnx.export(_HeadsOnly(model, heads).cpu().eval(), (x,), buffer, input_names=["planes"],
                          output_names=heads, opset_version=ONNX_OPSET, dynamo=False,
                          dynamic_axes={"planes": batch, **{h: batch for h in heads}})
    return buffer.getvalue()


class _InferenceNet(nn.Module):
    """What every backend's module shares: the NetConfig, its name, and GoNet's masking of illegal moves."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg

    @property
    def name(self) -> str:
        return self.cfg.name

    @staticmethod
    def _masked(out: dict[str, torch.Tensor], legal_mask: torch.Tensor | None) -> dict[str, torch.Tensor]:
        if legal_mask is not None and "policy" in out:
            out["policy"] = mask_illegal(out["policy"], legal_mask.to(out["policy"].device))
        return out


class OnnxNet(_InferenceNet):
    """An ONNX graph (fp32 or int8) run by ONNX Runtime on the CPU, with GoNet's inference interface.

    `threads` (default: torch.get_num_threads(), so a spec's `threads=` applies to both backends):
    a batch of at least 2 positions a thread is cut into `threads` equal parts, run at the same time
    by one single-threaded session from that many threads (ONNX Runtime releases the GIL). For the
    small batches of a search this runs 1.5x the positions/s of one thread on two cores, where ONNX
    Runtime's own intra-op threads gain little or nothing (benchmarks/compression.py, docs/compression.md).
    It has no parameters and cannot be trained.
    """

    def __init__(self, graph: bytes, cfg: NetConfig, threads: int | None = None):
        super().__init__(cfg)
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.graph = graph
        self.threads = max(1, threads or torch.get_num_threads())
        self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self.heads = [o.name for o in self.session.get_outputs()]
        self._pool: ThreadPoolExecutor | None = None
        # No weights of its own, but code that asks a network for its device (next(net.parameters()))
        # finds the CPU; not trainable, not counted, not saved.
        self.anchor = nn.Parameter(torch.zeros(0), requires_grad=False)

    def _run(self, planes: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {"planes": planes})

    def forward(self, x: torch.Tensor, legal_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        check_planes(self.cfg, x)
        planes = x.detach().to("cpu", torch.float32).contiguous().numpy()
        if self.threads > 1 and len(planes) >= 2 * self.threads:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="onnx")
            parts = np.array_split(planes, self.threads)
            pending = [self._pool.submit(self._run, part) for part in parts[1:]]
            results = [self._run(parts[0]), *(p.result() for p in pending)]
            outputs = [np.concatenate(heads) for heads in zip(*results)]
        else:
            outputs = self._run(planes)
        out = {h: torch.from_numpy(a) for h, a in zip(self.heads, outputs)}
        return self._masked(out, legal_mask)


class Bf16Net(_InferenceNet):
    """A GoNet run under bfloat16 autocast on its device; outputs cast back to float32."""

    def __init__(self, model: GoNet):
        super().__init__(model.cfg)
        self.model = model

    def forward(self, x: torch.Tensor, legal_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            out = self.model(x)
        return self._masked({k: v.float() for k, v in out.items()}, legal_mask)


def inference_net(model: GoNet, backend: str, device: str | torch.device = "cpu") -> nn.Module:
    """`model` (a GoNet in eval mode) behind `backend` (see BACKENDS) on `device`."""
    backend = resolve_backend(backend, device)
    if backend == "onnxruntime":
        return OnnxNet(export_onnx(model), model.cfg)
    if backend == "bf16":
        return Bf16Net(model).to(device).eval()
    return model
