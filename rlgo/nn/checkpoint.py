"""The one checkpoint format: weights + the config that built the net + training state.

A checkpoint is a torch zip archive holding only tensors and builtins:
{"format": "rlgo-checkpoint", "format_version": 1, "config": NetConfig.to_dict(),
 "board_size": int, "feature_set": str, "feature_version": int, "step": int,
 "metrics": {str: float}, "weights": state_dict, "sha256": content_hash of the rest}, plus "init":
 {"path", "name", "board_size", "step"} when the weights started from another checkpoint (rlgo.nn.transfer).
A compressed network (rlgo.nn.compress) adds "compression": {str: builtin} saying what was
done; an int8 one stores its ONNX graph as "onnx": uint8 tensor and no torch weights, and a
channel-pruned one stores weights of the smaller shapes. It is written atomically and read
with `torch.load(weights_only=True)` only, so loading a file never runs code from it.
Loading checks the archive's CRCs and the content hash, so a damaged file is refused
(files from before the hash are checked by CRC only).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from rlgo.atomic import atomic_write
from rlgo.nn.backend import BackendError, OnnxNet, inference_net, resolve_backend
from rlgo.nn.model import GoNet, NetConfig, build_model

FORMAT = "rlgo-checkpoint"
FORMAT_VERSION = 1
_ZIP_MAGIC = b"PK\x03\x04"


class CheckpointError(Exception):
    """A checkpoint that is missing, damaged, foreign, or not the one expected."""


@dataclass(frozen=True)
class CheckpointMeta:
    """What a checkpoint says about its network besides the weights."""

    config: NetConfig
    """The config that built the network."""
    step: int = 0
    """Training step (optimizer updates) at which it was saved."""
    metrics: dict[str, float] = field(default_factory=dict)
    """Evaluation or training metrics at save time, e.g. {"policy_acc": 0.41}."""
    init: dict | None = None
    """The checkpoint the weights started from (`GoNet.init_from`), None for random weights."""
    compression: dict = field(default_factory=dict)
    """How the network was compressed ({} for none), e.g. {"method": "int8", "toolchain": "onnxruntime"}."""

    @property
    def board_size(self) -> int:
        return self.config.board_size

    @property
    def feature_set(self) -> str:
        return self.config.feature_set

    @property
    def feature_version(self) -> int:
        return self.config.feature_version


def save_checkpoint(path: str | os.PathLike, model: GoNet | OnnxNet, step: int = 0,
                    metrics: dict[str, float] | None = None, compression: dict | None = None) -> Path:
    """Write `model` atomically (temp file in the same folder, fsync, rename); return the path.

    `compression` (builtins only) records how the network was compressed; an OnnxNet is
    stored as its ONNX graph.
    """
    path = Path(path)
    cfg = model.cfg
    clean_metrics = {str(k): float(v) for k, v in (metrics or {}).items()}
    payload = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "config": cfg.to_dict(),
        "board_size": cfg.board_size, "feature_set": cfg.feature_set,
        "feature_version": cfg.feature_version, "step": int(step), "metrics": clean_metrics,
        "weights": {} if isinstance(model, OnnxNet)  # the graph holds them
        else {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    if getattr(model, "init_from", None) is not None:
        payload["init"] = dict(model.init_from)
    if compression:
        payload["compression"] = dict(compression)
    if isinstance(model, OnnxNet):
        payload["onnx"] = torch.frombuffer(bytearray(model.graph), dtype=torch.uint8)
    payload["sha256"] = content_hash(payload)
    atomic_write(path, lambda f: torch.save(payload, f))
    return path


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else 'no details'}"


def content_hash(payload: dict) -> str:
    """sha256 of a checkpoint's header fields, compression record, weights and ONNX graph (each tensor's
    name, dtype, shape and bytes)."""
    digest = hashlib.sha256()
    header = {k: payload[k] for k in ("config", "board_size", "feature_set", "feature_version", "step", "metrics")}
    digest.update(json.dumps(header, sort_keys=True).encode())
    if "compression" in payload:  # absent from uncompressed files, so their hashes stay as they were
        digest.update(json.dumps(payload["compression"], sort_keys=True).encode())
    tensors = dict(payload["weights"], **({"onnx": payload["onnx"]} if "onnx" in payload else {}))
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def load_archive(path: str | os.PathLike, what: str = "checkpoint",
                 map_location: str | torch.device = "cpu") -> object:
    """torch.load(weights_only=True) of a torch.save file after checking its zip CRCs.

    Every failure is a one-line CheckpointError naming the file (`what` says what it is).
    """
    path = Path(path)
    name = f"{what} {str(path)!r}"
    if not path.is_file():
        raise CheckpointError(f"{name} does not exist")
    with path.open("rb") as f:
        magic = f.read(len(_ZIP_MAGIC))
    if magic != _ZIP_MAGIC:
        kind = "is empty" if not magic else "is not a torch zip archive (a plain pickle or other file)"
        raise CheckpointError(f"{name} {kind}")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except Exception as e:  # a truncated archive has no readable directory
        raise CheckpointError(f"{name} is truncated or corrupt ({_first_line(e)})") from None
    if bad is not None:
        raise CheckpointError(f"{name} is damaged (CRC mismatch in {bad})")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"Unsupported (?:global: GLOBAL [\w.]+|operand \d+)", str(e))
        raise CheckpointError(
            f"{name} is foreign: it pickles code or objects other than tensors and plain containers, "
            f"which rlgo never loads ({found.group(0) if found else 'unsupported pickle content'})") from None
    except Exception as e:  # torch reports damaged archives as RuntimeError, EOFError, ...
        raise CheckpointError(f"{name} is truncated or corrupt ({_first_line(e)})") from None


def _read_payload(path: Path, map_location: str | torch.device) -> dict:
    """The payload dict of an rlgo checkpoint (safe load), every failure turned into a CheckpointError."""
    payload = load_archive(path, "checkpoint", map_location)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"checkpoint {str(path)!r} is not an {FORMAT} file (found {found!r})")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {str(path)!r} has format_version "
                              f"{payload.get('format_version')!r}; this code reads {FORMAT_VERSION}")
    return payload


def _check(path: Path, what: str, found: object, expected: object) -> None:
    if expected is not None and found != expected:
        raise CheckpointError(f"checkpoint {str(path)!r} {what} mismatch: "
                              f"file has {found!r}, expected {expected!r}")


def load_checkpoint(path: str | os.PathLike, expect_board_size: int | None = None,
                    expect_feature_set: str | None = None,
                    expect_feature_version: int | None = None,
                    map_location: str | torch.device = "cpu",
                    backend: str = "torch") -> tuple[nn.Module, CheckpointMeta]:
    """Rebuild the network saved at `path`; returns (model in eval mode, meta).

    `backend` (rlgo.nn.backend.BACKENDS) runs it: "torch" returns the trainable GoNet; the
    others a module with GoNet's inference interface. Raises CheckpointError if the file is
    missing, truncated or corrupt, foreign (not our format, or holding arbitrary pickled
    objects), inconsistent, if its board size or feature set/version differ from the
    expected ones (None: accept any), or if `backend` cannot run it (an int8 checkpoint
    needs onnxruntime).
    """
    path = Path(path)
    payload = _read_payload(path, map_location)
    try:
        cfg = NetConfig.from_dict(payload["config"])
        meta = CheckpointMeta(cfg, int(payload["step"]),
                              {str(k): float(v) for k, v in payload["metrics"].items()},
                              _init_record(payload.get("init")), dict(payload.get("compression", {})))
        stored = (payload["board_size"], payload["feature_set"], payload["feature_version"])
        weights = payload["weights"]
        intact = payload.get("sha256") in (None, content_hash(payload))
    except (KeyError, TypeError, ValueError, AttributeError) as e:  # ValueError: NetConfigError
        raise CheckpointError(f"checkpoint {str(path)!r} has a malformed header ({_first_line(e)})") from e
    if not intact:
        raise CheckpointError(f"checkpoint {str(path)!r} is damaged (its content hash does not match)")
    _check(path, "header vs config (board_size, feature_set, feature_version)", stored,
           (cfg.board_size, cfg.feature_set, cfg.feature_version))
    _check(path, "board size", meta.board_size, expect_board_size)
    _check(path, "feature set", meta.feature_set, expect_feature_set)
    _check(path, "feature version", meta.feature_version, expect_feature_version)
    if "onnx" in payload:
        return _onnx_net(path, payload["onnx"], meta, backend, map_location), meta
    model = build_model(cfg)
    if meta.compression:  # a channel-pruned net (or one trained from it) has smaller layers than its config
        from rlgo.nn.compress.prune import fit_shapes
        fit_shapes(model, weights)
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {str(path)!r} weights do not fit {cfg.name} "
                              f"({_first_line(e)})") from e
    model.init_from = meta.init
    model = model.to(map_location).eval()
    if backend == "torch":
        return model, meta
    try:
        return inference_net(model, backend, map_location), meta
    except BackendError as e:
        raise CheckpointError(f"checkpoint {str(path)!r}: {e}") from e


def _onnx_net(path: Path, graph: torch.Tensor, meta: CheckpointMeta, backend: str,
              map_location: str | torch.device) -> OnnxNet:
    """The stored ONNX graph (an int8 network) on ONNX Runtime; CheckpointError when `backend` cannot run it."""
    what = meta.compression.get("method", "onnx")
    if backend not in ("auto", "onnxruntime"):
        raise CheckpointError(f"checkpoint {str(path)!r} is an {what} ONNX graph; it runs on backend "
                              f"onnxruntime (or auto), not {backend!r}")
    try:
        resolve_backend("onnxruntime", map_location)
    except BackendError as e:
        raise CheckpointError(f"checkpoint {str(path)!r} is an {what} ONNX graph: {e}") from e
    try:
        return OnnxNet(graph.numpy().tobytes(), meta.config)
    except Exception as e:  # onnxruntime raises its own exception types for a damaged graph
        raise CheckpointError(f"checkpoint {str(path)!r} holds an ONNX graph that onnxruntime "
                              f"cannot load ({_first_line(e)})") from e


def _init_record(init: object) -> dict | None:
    """The "init" entry as {"path": str, "name": str, "board_size": int, "step": int}, or None."""
    if init is None:
        return None
    return {"path": str(init["path"]), "name": str(init["name"]), "board_size": int(init["board_size"]),
            "step": int(init["step"])}
