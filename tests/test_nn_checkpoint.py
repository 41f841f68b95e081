"""Checkpoint format: round trips, atomic writes, and clear errors for bad files."""

import os
import pickle
import struct
import zipfile

import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from rlgo.nn import checkpoint as ckpt
from rlgo.nn.backbones import BACKBONES
from rlgo.nn.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from rlgo.nn.heads import HEADS
from rlgo.nn.model import NetConfig, build_model
from tests.test_nn_support import tiny, torch_env  # noqa: F401 (autouse)


def trained(cfg: NetConfig):
    """A model whose weights and batch-norm statistics differ from a fresh one."""
    model = build_model(cfg)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.rand(4, cfg.in_planes, cfg.board_size, cfg.board_size)
    for _ in range(2):
        out = model(x)
        loss = out["policy"].logsumexp(1).mean() + out["value"].sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.mark.parametrize("backbone", BACKBONES)
def test_round_trip_gives_identical_outputs_and_meta(tmp_path, backbone):
    cfg = tiny(backbone, heads=HEADS, feature_set="minigo", feature_version=3)
    model = trained(cfg)
    path = save_checkpoint(tmp_path / "net.pt", model, step=123, metrics={"policy_acc": 0.5})
    loaded, meta = load_checkpoint(path, expect_board_size=9, expect_feature_set="minigo",
                                   expect_feature_version=3)
    assert meta.config == cfg and meta.step == 123 and meta.metrics == {"policy_acc": 0.5}
    assert (meta.board_size, meta.feature_set, meta.feature_version) == (9, "minigo", 3)
    assert not loaded.training
    x, legal = torch.rand(3, 17, 9, 9), torch.rand(3, 82) < 0.5
    with torch.no_grad():
        expected, got = model(x, legal), loaded(x, legal)
    assert all(torch.equal(expected[k], got[k]) for k in expected)


def test_save_overwrites_atomically_and_leaves_no_temp_files(tmp_path, monkeypatch):
    path = tmp_path / "net.pt"
    save_checkpoint(path, trained(tiny()), step=1)
    save_checkpoint(path, trained(tiny()), step=2)
    assert os.listdir(tmp_path) == ["net.pt"]

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, trained(tiny()), step=3)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["net.pt"]
    assert load_checkpoint(path)[1].step == 2


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="nope.pt' does not exist"):
        load_checkpoint(tmp_path / "nope.pt")


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.99])
def test_truncated_file(tmp_path, keep):
    path = save_checkpoint(tmp_path / "net.pt", build_model(tiny()))
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="is empty|truncated or corrupt"):
        load_checkpoint(path)


class Payload:
    """Unpickling this would create a file: a stand-in for a malicious checkpoint."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def test_foreign_pickles_are_refused_without_running_them(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"weights": Payload(marker)}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="foreign.*GLOBAL .*open") as caught:
        load_checkpoint(tmp_path / "evil.pt")
    assert "weights_only=False" not in str(caught.value) and "\n" not in str(caught.value)
    (tmp_path / "system.pkl").write_bytes(pickle.dumps(os.system))
    with pytest.raises(CheckpointError, match="not a torch zip archive"):
        load_checkpoint(tmp_path / "system.pkl")
    assert not marker.exists()


def _tensor_bytes(path):
    """(offset, length) of every tensor's data in a checkpoint's zip archive."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if "/data/" in info.filename and info.file_size:
                with path.open("rb") as f:
                    f.seek(info.header_offset + 26)
                    name_len, extra_len = struct.unpack("<HH", f.read(4))
                yield info.header_offset + 30 + name_len + extra_len, info.file_size


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_flipped_bytes_in_a_tensor_are_refused_naming_the_file(tmp_path, data):
    path = save_checkpoint(tmp_path / "net.pt", build_model(tiny()))
    offset, length = data.draw(st.sampled_from(sorted(_tensor_bytes(path))))
    at = offset + data.draw(st.integers(0, length - 1))
    raw = bytearray(path.read_bytes())
    raw[at] ^= data.draw(st.integers(1, 255))
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"net.pt' is damaged \(CRC mismatch in .*data/"):
        load_checkpoint(path)


def test_weights_changed_behind_the_hash_are_refused(tmp_path):
    """A rewritten archive (valid CRCs) whose weights differ from the stored content hash."""
    path = save_checkpoint(tmp_path / "net.pt", build_model(tiny()))
    payload = torch.load(path, weights_only=True)
    name = next(iter(payload["weights"]))
    payload["weights"][name] = payload["weights"][name] + 1
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="net.pt' is damaged \\(its content hash does not match"):
        load_checkpoint(path)
    del payload["sha256"]  # files saved before the hash existed still load
    torch.save(payload, path)
    assert torch.equal(load_checkpoint(path)[0].state_dict()[name], payload["weights"][name])


def test_torch_file_of_another_format_is_refused(tmp_path):
    torch.save(build_model(tiny()).state_dict(), tmp_path / "bare.pt")
    with pytest.raises(CheckpointError, match="not an rlgo-checkpoint file"):
        load_checkpoint(tmp_path / "bare.pt")


def test_expectation_mismatches_name_both_values(tmp_path):
    path = save_checkpoint(tmp_path / "net.pt", build_model(tiny()))
    with pytest.raises(CheckpointError, match="board size mismatch: file has 9, expected 19"):
        load_checkpoint(path, expect_board_size=19)
    with pytest.raises(CheckpointError, match="feature set mismatch: file has 'agz', expected 'kata'"):
        load_checkpoint(path, expect_feature_set="kata")
    with pytest.raises(CheckpointError, match="feature version mismatch: file has 1, expected 2"):
        load_checkpoint(path, expect_feature_version=2)


def _rewrite(path, **changes):
    """Change header fields and store the matching content hash (the file is inconsistent, not damaged)."""
    payload = torch.load(path, weights_only=True)
    payload.update(changes)
    payload["sha256"] = ckpt.content_hash(payload)
    torch.save(payload, path)


def test_inconsistent_files_are_refused(tmp_path):
    path = save_checkpoint(tmp_path / "net.pt", build_model(tiny()))
    _rewrite(path, config={**tiny().to_dict(), "width": 16})
    with pytest.raises(CheckpointError, match="weights do not fit resnet-b1c16"):
        load_checkpoint(path)
    _rewrite(path, config={**tiny().to_dict(), "backbone": "vgg"})
    with pytest.raises(CheckpointError, match="malformed header.*valid: resnet"):
        load_checkpoint(path)
    _rewrite(path, config=tiny().to_dict(), board_size=19)
    with pytest.raises(CheckpointError, match="header vs config"):
        load_checkpoint(path)
    _rewrite(path, board_size=9, format_version=2)
    with pytest.raises(CheckpointError, match="format_version 2; this code reads 1"):
        load_checkpoint(path)
