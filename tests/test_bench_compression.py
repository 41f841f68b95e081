"""Smoke test of benchmarks/compression.py: rows for every backend of a net on any feature set (no timing targets)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from benchmarks import compression
from rlgo.nn.checkpoint import save_checkpoint
from rlgo.nn.model import NetConfig, build_model
from rlgo.train.data.build import BuildConfig, build_dataset

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "gnugo9"


def test_measure_reads_the_positions_in_the_original_nets_feature_set(tmp_path):
    data = tmp_path / "ds"
    build_dataset(FIXTURES, data, BuildConfig(size=9, val_fraction=0.2, shard_size=10_000))
    torch.manual_seed(0)
    net = build_model(NetConfig(blocks=1, width=8, feature_set="extended").for_data(9, ("policy", "value")))
    save_checkpoint(tmp_path / "ext.pt", net, 0)
    save_checkpoint(tmp_path / "other.pt", build_model(net.cfg), 0)
    rows = compression.measure(str(tmp_path / "ext.pt"), {"other": str(tmp_path / "other.pt")}, str(data),
                               seconds=0.02, rounds=1, batches=(1,), threads=(1,))
    other = next(r for r in rows if r["name"] == "other" and r["backend"] == "torch")
    torch_row = next(r for r in rows if r["name"] == "original" and r["backend"] == "torch")
    assert torch_row["top1_agreement"] == 1.0 and 0.0 <= torch_row["top1_expert"] <= 1.0
    assert torch_row["top1_expert_gain"] == 0.0 and torch_row["top1_expert_gain_se"] == 0.0  # the original itself
    assert other["top1_expert_gain"] == pytest.approx(other["top1_expert"] - torch_row["top1_expert"])
    assert all(math.isfinite(r["t1_b1"]) and r["t1_b1"] > 0 for r in rows)
    assert "| original | torch |" in compression.table(rows, batches=(1,), threads=(1,))
