"""Transfer across board sizes: `--init` loads a trunk trained on another size, refuses
size-dependent weights and other networks, and every later checkpoint records the start."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from cli import main
from rlgo.nn.backbones import BACKBONES
from rlgo.nn.checkpoint import load_checkpoint, save_checkpoint
from rlgo.nn.model import build_model
from rlgo.nn.transfer import TransferError, init_from_checkpoint
from rlgo.train.data.build import BuildConfig, build_dataset
from rlgo.train.sl import SLConfig, net_config, train_sl
from rlgo.train.zero.config import ZeroConfig
from rlgo.train.zero.loop import open_run
from rlgo.nn.model import NetConfig
from tests.test_nn_checkpoint import trained
from tests.test_nn_support import tiny, torch_env  # noqa: F401 (autouse)

FIXTURES = Path(__file__).parent / "fixtures" / "gnugo9"


@pytest.mark.parametrize("backbone", [b for b in BACKBONES if b not in ("transformer", "seq2seq")])
@pytest.mark.parametrize("size", [5, 13, 19])
def test_every_convolutional_network_starts_one_for_another_size(tmp_path, backbone, size):
    source = trained(tiny(backbone, 9, heads=("policy", "value", "ownership", "score")))
    path = save_checkpoint(tmp_path / "nine.pt", source, step=17)
    model = build_model(dataclasses.replace(source.cfg, board_size=size))
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    record = init_from_checkpoint(model, path)
    assert record == {"path": str(path), "name": source.name, "board_size": 9, "step": 17}
    weights = model.state_dict()
    assert all(torch.equal(weights[k], v) for k, v in source.state_dict().items())
    assert any(not torch.equal(weights[k], fresh[k]) for k in fresh)
    out = model.eval()(torch.rand(2, 17, size, size))
    assert out["policy"].shape == (2, size * size + 1) and torch.isfinite(out["value"]).all()
    _, meta = load_checkpoint(save_checkpoint(tmp_path / "big.pt", model, step=1))
    assert meta.init == record


def test_size_dependent_weights_and_other_networks_are_refused(tmp_path):
    position = save_checkpoint(tmp_path / "t.pt", build_model(tiny("transformer", 9)))
    with pytest.raises(TransferError, match=r"depends on the board size \(9x9 -> 13x13: trunk.position.table"):
        init_from_checkpoint(build_model(tiny("transformer", 13)), position)
    value_only = save_checkpoint(tmp_path / "v.pt", build_model(tiny(heads=("value",))))
    with pytest.raises(TransferError, match=r"heads \('value',\) \(run: \('policy', 'value'\)\)"):
        init_from_checkpoint(build_model(tiny(n=13)), value_only)
    wider = save_checkpoint(tmp_path / "w.pt", build_model(tiny(width=16)))
    model = build_model(tiny(n=13))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TransferError, match="width 16 .run: 8."):
        init_from_checkpoint(model, wider)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items()) and model.init_from is None


def test_sl_run_from_a_9x9_network_on_7x7_data_records_its_start(tmp_path):
    games = tmp_path / "sgf7"
    games.mkdir()
    for i in range(12):  # 7x7 games: the first moves of the 9x9 fixtures that fit on 7x7
        games.joinpath(f"g{i}.sgf").write_text(f"(;FF[4]GM[1]SZ[7]KM[7.5]RE[B+R];B[dd];W[cc];B[ce];W[de]"
                                               f";B[ee];W[ec];B[{'bc' if i % 2 else 'fc'}];W[ed])")
    data = tmp_path / "ds7"
    build_dataset(games, data, BuildConfig(size=7, val_fraction=0.2, min_moves=4, shard_size=1000))
    sl9 = SLConfig(data="", out="", net=NetConfig(blocks=1, width=8))
    nine = save_checkpoint(tmp_path / "nine.pt", trained(net_config(sl9, 9)), step=5)
    cfg = dataclasses.replace(sl9, data=str(data), out=str(tmp_path / "run"), epochs=1, batch_size=8,
                              device="cpu", threads=1, init=str(nine))
    train_sl(cfg)
    _, meta = load_checkpoint(tmp_path / "run" / "last.pt", expect_board_size=7)
    assert meta.init == {"path": str(nine), "name": "resnet-b1c8", "board_size": 9, "step": 5}
    assert main(["train", "sl", "--data", str(data), "--out", str(tmp_path / "run2"), "--blocks", "2",
                 "--width", "8", "--epochs", "1", "--device", "cpu", "--init", str(nine)]) == 1


def test_zero_generation_zero_starts_from_the_init_checkpoint(tmp_path, capsys):
    nine = save_checkpoint(tmp_path / "nine.pt", trained(ZeroConfig(out="", net=NetConfig(blocks=1, width=8)).net_config()))
    cfg = ZeroConfig(out=str(tmp_path / "zero7"), size=7, net=NetConfig(blocks=1, width=8), init=str(nine))
    open_run(cfg, resume=False)
    model, meta = load_checkpoint(tmp_path / "zero7" / "checkpoints" / "gen-0000.pt", expect_board_size=7)
    assert meta.init["board_size"] == 9 and meta.init["path"] == str(nine)
    source, _ = load_checkpoint(nine)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in source.state_dict().items())
    assert main(["train", "zero", "--out", str(tmp_path / "z2"), "--size", "7", "--blocks", "1",
                 "--width", "16", "--init", str(nine)]) == 1
    assert "width 8 (run: 16)" in capsys.readouterr().err
