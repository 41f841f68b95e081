"""Compression: backends agree with torch, int8 and pruned nets stay close and mask exactly, checkpoints
round-trip and play in agents, distillation's loss floor, bad arguments stop before any work."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from agents.specs import make_agent
from cli import main
from rlgo.go import features
from rlgo.go.rules import Rules
from rlgo.go.state import GameState
from rlgo.nn import backend as backends
from rlgo.nn.backend import BackendError, inference_net, onnxruntime_available
from rlgo.nn.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from rlgo.nn.compress.distill import DistillLoss
from rlgo.nn.compress.prune import PruneError, apply_masks, channel_prune, magnitude_masks, sparsity
from rlgo.nn.compress.quantize import quantize_int8
from rlgo.nn.evaluator import TorchEvaluator
from rlgo.nn.model import NetConfig, build_model, count_flops, count_params
from rlgo.train import compress
from rlgo.train.data.build import BuildConfig, build_dataset
from rlgo.train.data.reader import ShardReader
from rlgo.train.sl import evaluate

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "gnugo9"
SHIPPED = ROOT / "models" / "sl9_b6c64.pt"
needs_ort = pytest.mark.skipif(not onnxruntime_available(), reason="onnxruntime not installed")

FP32_ATOL = 1e-4
"""ONNX Runtime fp32 vs torch: logits and values (float rounding of reordered sums)."""
BF16_PROB_ATOL, BF16_VALUE_ATOL = 0.03, 0.05
"""bfloat16 (8-bit mantissa) vs fp32: move probabilities and values of the shipped net."""
INT8_TOP1_AGREEMENT, INT8_PROB_ATOL, INT8_VALUE_ATOL = 0.85, 0.25, 0.35
"""int8 vs fp32 on the fixture positions: share of equal argmax moves, largest probability and
value differences (measured 0.9+, ~0.1, ~0.2 on the shipped net)."""


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds")
    build_dataset(FIXTURES, out, BuildConfig(size=9, val_fraction=0.2, shard_size=10_000))
    return out


@pytest.fixture(scope="module")
def positions(dataset) -> np.ndarray:
    """float32 planes [B, 17, 9, 9] of real positions (validation split, no symmetries)."""
    return next(ShardReader(dataset, "val").batches(256)).planes


@pytest.fixture(scope="module")
def shipped():
    return load_checkpoint(SHIPPED)[0]


@pytest.fixture(scope="module")
def int8_path(tmp_path_factory, dataset) -> Path:
    if not onnxruntime_available():
        pytest.skip("onnxruntime not installed")
    out = tmp_path_factory.mktemp("int8") / "int8.pt"
    compress.quantize(SHIPPED, out, dataset, positions=256)
    return out


def _outputs(net, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with torch.inference_mode():
        out = net(torch.from_numpy(planes))
    return torch.softmax(out["policy"].float(), 1).numpy(), out["value"].float().numpy()


def test_onnxruntime_fp32_matches_torch(shipped, positions):
    if not onnxruntime_available():
        pytest.skip("onnxruntime not installed")
    with torch.inference_mode():
        ref, got = shipped(torch.from_numpy(positions)), inference_net(shipped, "onnxruntime")(torch.from_numpy(positions))
    for head in ("policy", "value"):
        np.testing.assert_allclose(got[head].numpy(), ref[head].numpy(), atol=FP32_ATOL)


def test_bf16_close_to_fp32(shipped, positions):
    probs, values = _outputs(shipped, positions)
    probs16, values16 = _outputs(inference_net(shipped, "bf16"), positions)
    assert np.abs(probs16 - probs).max() <= BF16_PROB_ATOL
    assert np.abs(values16 - values).max() <= BF16_VALUE_ATOL


def test_int8_close_to_fp32_and_round_trips(shipped, positions, int8_path):
    net, meta = load_checkpoint(int8_path, expect_board_size=9, expect_feature_set="agz", backend="auto")
    assert isinstance(net, backends.OnnxNet)
    assert meta.compression["method"] == "int8" and meta.compression["calibration_positions"] == 256
    assert meta.config == load_checkpoint(SHIPPED)[1].config
    probs, values = _outputs(shipped, positions)
    probs8, values8 = _outputs(net, positions)
    assert (probs8.argmax(1) == probs.argmax(1)).mean() >= INT8_TOP1_AGREEMENT
    assert np.abs(probs8 - probs).max() <= INT8_PROB_ATOL
    assert np.abs(values8 - values).max() <= INT8_VALUE_ATOL
    assert int8_path.stat().st_size < SHIPPED.stat().st_size / 2.5
    again = int8_path.with_name("again.pt")
    save_checkpoint(again, net, meta.step, meta.metrics, meta.compression)
    np.testing.assert_array_equal(_outputs(load_checkpoint(again, backend="onnxruntime")[0], positions)[0], probs8)


def test_a_batch_cut_between_threads_gives_the_outputs_of_one_run(int8_path, positions):
    one, _ = load_checkpoint(int8_path, backend="onnxruntime")
    cut, _ = load_checkpoint(int8_path, backend="onnxruntime")
    cut.threads = 3
    x = torch.from_numpy(positions[:23])  # 23 rows: three unequal parts, each run on its own thread
    with torch.inference_mode():
        ref, got = one(x), cut(x)
        small = cut(x[:5])  # under 2 rows a thread: one run
    assert cut._pool is not None and small["policy"].shape == (5, 82)
    for head in ref:
        np.testing.assert_allclose(got[head].numpy(), ref[head].numpy(), atol=1e-5)
        np.testing.assert_allclose(small[head].numpy(), ref[head][:5].numpy(), atol=1e-5)


def test_int8_on_a_backend_that_cannot_run_it_is_a_clear_error(int8_path, monkeypatch):
    with pytest.raises(CheckpointError, match="int8 ONNX graph; it runs on backend onnxruntime"):
        load_checkpoint(int8_path)
    monkeypatch.setattr(backends, "onnxruntime_available", lambda: False)
    with pytest.raises(CheckpointError, match=r"pip install onnxruntime onnx"):
        load_checkpoint(int8_path, backend="auto")
    with pytest.raises(BackendError, match="unknown backend 'tpu'"):
        backends.resolve_backend("tpu")


def test_quantizing_without_onnxruntime_names_the_extra(monkeypatch):
    monkeypatch.setattr(backends, "onnxruntime_available", lambda: False)
    with pytest.raises(BackendError, match=r"pip install onnxruntime onnx"):
        quantize_int8(build_model(NetConfig(blocks=1, width=8)), np.zeros((1, 17, 9, 9), np.float32))
    with pytest.raises(CheckpointError, match="needs the onnxruntime package"):
        load_checkpoint(SHIPPED, backend="onnxruntime")
    assert isinstance(load_checkpoint(SHIPPED, backend="auto")[0], type(build_model(NetConfig())))


def _evaluators(shipped, int8_path=None):
    nets = {"torch": shipped, "bf16": inference_net(shipped, "bf16"), "pruned": channel_prune(shipped, 0.5)[0]}
    if onnxruntime_available():
        nets["onnxruntime"] = inference_net(shipped, "onnxruntime")
    if int8_path is not None:
        nets["int8"] = load_checkpoint(int8_path, backend="auto")[0]
    return {name: TorchEvaluator(net) for name, net in nets.items()}


@pytest.fixture(scope="module")
def evaluators(shipped, request):
    path = request.getfixturevalue("int8_path") if onnxruntime_available() else None
    return _evaluators(shipped, path)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), legal_share=st.floats(0.0, 1.0))
def test_every_backend_masks_illegal_moves_exactly(evaluators, positions, seed, legal_share):
    rng = np.random.default_rng(seed)
    planes = positions[rng.integers(len(positions), size=4)]
    legal = rng.random((4, 82)) < legal_share
    legal[:, -1] = True  # pass is always legal
    for name, evaluator in evaluators.items():
        priors, values = evaluator(planes, legal)
        assert np.all(priors[~legal] == 0), name
        np.testing.assert_allclose(priors.sum(axis=1), 1.0, atol=1e-5, err_msg=name)
        assert np.all(np.abs(values) <= 1), name


def test_channel_pruning_removes_exactly_the_dead_channels(positions):
    """Channels zeroed by hand (gamma = beta = 0 before the second conv) carry nothing: pruning removes
    just those, really shrinks the net, and leaves the outputs as they were."""
    torch.manual_seed(1)
    model = build_model(NetConfig(blocks=2, width=16)).eval()
    with torch.no_grad():
        for block in (model.trunk[1], model.trunk[2]):
            norm = block.body[1][0]  # pre-activation: the norm between the two convs
            norm.weight[:8] = 0
            norm.bias[:8] = 0
            norm.running_mean.uniform_(-1, 1)
    pruned, kept = channel_prune(model, 0.5)
    assert kept == {"trunk.1": 8, "trunk.2": 8}
    assert pruned.trunk[1].body[0][2].weight.shape == (8, 16, 3, 3)
    assert pruned.trunk[1].body[1][2].weight.shape == (16, 8, 3, 3)
    assert count_params(pruned) < count_params(model) and count_flops(pruned) < 0.7 * count_flops(model)
    for a, b in zip(_outputs(model, positions), _outputs(pruned, positions)):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_stream_pruning_removes_exactly_the_dead_stream_channels(positions):
    """Residual-stream channels that nothing writes (stem and second-conv filters zero, stem norm mapping
    0 to 0) and nothing reads (gamma = beta = 0 in every norm over the stream) carry nothing: stream
    pruning removes just those from every layer they pass, and the outputs stay as they were."""
    torch.manual_seed(2)
    model = build_model(NetConfig(blocks=2, width=16, heads=("policy", "value", "ownership", "score"))).eval()
    dead = slice(0, 8)
    with torch.no_grad():
        stem_conv, stem_norm = model.trunk[0][0], model.trunk[0][1]
        stem_conv.weight[dead] = 0
        stem_norm.running_mean[dead] = 0
        stem_norm.bias[dead] = 0
        for norm in (model.trunk[1].body[0][0], model.trunk[2].body[0][0], model.trunk[3]):
            norm.weight[dead] = 0
            norm.bias[dead] = 0
            norm.running_mean.uniform_(-1, 1)
        for block in (model.trunk[1], model.trunk[2]):
            block.body[1][2].weight[dead] = 0
    pruned, kept = channel_prune(model, 0.01, stream=0.5)  # round(0.01 * 16) = 0: every inner channel stays
    assert kept == {"trunk.1": 16, "trunk.2": 16, "stream": 8}
    assert pruned.trunk[0][0].weight.shape == (8, model.cfg.in_planes, 3, 3)
    assert pruned.trunk[1].body[0][2].weight.shape == (16, 8, 3, 3)
    assert pruned.trunk[2].body[1][2].weight.shape == (8, 16, 3, 3)
    assert pruned.trunk[3].weight.shape == (8,)
    assert all(next(m for m in head.modules() if isinstance(m, torch.nn.Conv2d)).weight.shape[1] == 8
               for head in pruned.heads.values())
    assert count_flops(pruned) < 0.6 * count_flops(model)  # every trunk conv is half as wide on one side
    x = torch.from_numpy(positions[:32])
    with torch.inference_mode():
        before, after = model(x), pruned(x)
    for head in before:
        np.testing.assert_allclose(before[head].numpy(), after[head].numpy(), atol=1e-5, err_msg=head)


def test_stream_pruning_refuses_what_it_cannot_prune(tmp_path):
    post = build_model(NetConfig(blocks=1, width=8, pre_activation=False))
    with pytest.raises(PruneError, match="pre-activation"):
        channel_prune(post, 0.5, stream=0.5)
    with pytest.raises(PruneError, match=r"\(0, 1\)"):
        channel_prune(build_model(NetConfig(blocks=1, width=8)), 0.5, stream=1.0)
    src = save_checkpoint(tmp_path / "src.pt", build_model(NetConfig(blocks=1, width=8)))
    with pytest.raises(compress.DistillError, match="stream pruning removes channels"):
        compress.prune(src, tmp_path / "m.pt", 0.5, "magnitude", stream=0.5)


def test_pruned_checkpoints_round_trip_and_play(shipped, positions, tmp_path):
    pruned, kept = channel_prune(shipped, 0.5)
    path = save_checkpoint(tmp_path / "c50.pt", pruned, 0, {}, {"method": "channels", "kept_channels": kept})
    loaded, meta = load_checkpoint(path)
    assert meta.compression["kept_channels"] == kept and count_params(loaded) == count_params(pruned)
    np.testing.assert_array_equal(_outputs(loaded, positions)[0], _outputs(pruned, positions)[0])
    state = GameState(9, Rules())
    for spec in (f"zero:ckpt={path},simulations=16,backend=torch", f"policy:ckpt={path}"):
        move = make_agent(spec, size=9).select_move(state)
        assert state.legal_mask()[move], spec


@needs_ort
def test_int8_checkpoint_plays_in_agents(int8_path):
    state = GameState(9, Rules())
    for spec in (f"zero:ckpt={int8_path},simulations=16", f"policy:ckpt={int8_path}",
                 f"alphago:ckpt={int8_path},lambda=1,simulations=16"):
        move = make_agent(spec, size=9).select_move(state)
        assert state.legal_mask()[move], spec
    with pytest.raises(CheckpointError, match="not 'torch'"):
        make_agent(f"zero:ckpt={int8_path},backend=torch", size=9)
    gtp = subprocess.run([sys.executable, str(ROOT / "cli.py"), "gtp", "--agent", f"zero:ckpt={int8_path},simulations=8"],
                         input="boardsize 9\ngenmove b\nquit\n", capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert gtp.returncode == 0 and re.search(r"^= ([A-HJ-J][1-9]|pass)$", gtp.stdout, re.M), gtp.stdout + gtp.stderr


@given(amount=st.floats(0.05, 0.95))
@settings(max_examples=10, deadline=None)
def test_magnitude_masks_zero_the_requested_share(amount):
    torch.manual_seed(0)
    model = build_model(NetConfig(blocks=1, width=8, board_size=5))
    apply_masks(model, magnitude_masks(model, amount))
    assert abs(sparsity(model) - amount) < 0.02


def test_magnitude_prune_fine_tunes_and_keeps_its_zeros(dataset, tmp_path):
    torch.manual_seed(0)
    src = save_checkpoint(tmp_path / "net.pt", build_model(NetConfig(blocks=1, width=8)))
    record = compress.prune(src, tmp_path / "m.pt", 0.6, "magnitude", dataset,
                            compress.TrainSettings(steps=3, batch_size=16))
    model, meta = load_checkpoint(tmp_path / "m.pt")
    assert meta.compression["method"] == "magnitude" and sparsity(model) >= 0.59 and record["sparsity"] >= 0.59
    assert meta.step == 3


def test_distilling_the_teacher_into_itself_is_the_loss_floor(shipped, dataset):
    """The soft terms vanish and the hard term is the teacher's own cross-entropy (rlgo.train.sl.evaluate)."""
    reader = ShardReader(dataset, "val")
    batch = next(reader.batches(10_000))
    x = torch.from_numpy(batch.planes)
    with torch.inference_mode():
        out = shipped(x)
        target = torch.nn.functional.one_hot(torch.from_numpy(batch.moves), 82).float()
        total, parts = DistillLoss(temperature=3.0, alpha=0.7, value_weight=0.5)(out, out, target,
                                                                                torch.from_numpy(batch.outcomes))
    reference = evaluate(shipped, reader, torch.device("cpu"))
    assert abs(parts["soft"]) < 1e-5 and parts["value_soft"] == 0
    assert parts["hard"] == pytest.approx(reference["loss"], rel=1e-5)
    assert parts["loss"] == pytest.approx(0.3 * reference["loss"] + 0.5 * 0.3 * reference["value_mse"], rel=1e-4)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), alpha=st.floats(0, 1), value_alpha=st.sampled_from([-1.0, 0.0, 0.3, 1.0]))
def test_distill_value_target_mixes_teacher_and_outcome_by_value_alpha(seed, alpha, value_alpha):
    """The value part equals value_weight * (a * MSE(teacher) + (1 - a) * MSE(outcome)), a = value_alpha or alpha."""
    g = torch.Generator().manual_seed(seed)
    student = {"policy": torch.randn(6, 10, generator=g), "value": torch.rand(6, generator=g) * 2 - 1}
    teacher = {"policy": torch.randn(6, 10, generator=g), "value": torch.rand(6, generator=g) * 2 - 1}
    target = torch.softmax(torch.randn(6, 10, generator=g), dim=1)
    outcome = torch.randint(0, 2, (6,), generator=g).float() * 2 - 1
    loss = DistillLoss(temperature=2.0, alpha=alpha, value_weight=0.5, value_alpha=value_alpha)
    total, parts = loss(student, teacher, target, outcome)
    a = alpha if value_alpha == -1 else value_alpha
    sv, tv, o = student["value"].numpy(), teacher["value"].numpy(), outcome.numpy()
    value = 0.5 * (a * np.mean((sv - tv) ** 2) + (1 - a) * np.mean((sv - o) ** 2))
    assert float(total) == pytest.approx(alpha * parts["soft"] + (1 - alpha) * parts["hard"] + value, rel=1e-5, abs=1e-6)
    with pytest.raises(compress.DistillError, match="value_alpha"):
        DistillLoss(value_alpha=1.5)


def test_distill_trains_a_student_of_another_backbone(dataset, tmp_path):
    teacher = save_checkpoint(tmp_path / "t.pt", build_model(NetConfig(blocks=1, width=16)))
    assert main(["compress", "distill", "--teacher", str(teacher), "--student", "mobilenet-b1c8", "--data",
                 str(dataset), "--out", str(tmp_path / "s.pt"), "--steps", "4", "--batch-size", "16"]) == 0
    student, meta = load_checkpoint(tmp_path / "s.pt")
    assert student.cfg.backbone == "mobilenet" and meta.compression["teacher_net"] == "resnet-b1c16"
    assert meta.step == 4 and "val_top1" in meta.metrics


def test_a_zero_run_gives_its_visit_distributions_as_targets(tmp_path):
    from rlgo.search.evaluator import NetworkEvaluator
    from rlgo.train.zero.buffer import ReplayBuffer
    from rlgo.train.zero.selfplay import PlaySettings, run_selfplay
    torch.manual_seed(0)
    cfg = NetConfig(board_size=5, blocks=1, width=8)
    teacher = save_checkpoint(tmp_path / "t5.pt", build_model(cfg))
    settings_ = PlaySettings(5, Rules(komi=2.5), simulations=8, parallel_games=4, temperature_moves=4, move_cap=20)
    net = NetworkEvaluator(TorchEvaluator(build_model(cfg)), feature_set="agz", board_size=5)
    games = run_selfplay(net, settings_, games=4, seed=1).games
    ReplayBuffer(tmp_path / "run" / "buffer", 5, window_games=100).add(0, games)
    planes, target, outcome = next(compress.Targets(tmp_path / "run", 5, "agz").batches(32, np.random.default_rng(0)))
    assert planes.shape == (32, 17, 5, 5) and set(np.unique(outcome)) <= {-1.0, 0.0, 1.0}
    np.testing.assert_allclose(target.sum(axis=1), 1.0, atol=1e-5)
    assert (target.max(axis=1) < 1).any()  # soft targets, not one-hot moves
    compress.distill(teacher, "resnet-b1c8", tmp_path / "run", tmp_path / "s5.pt",
                     settings=compress.TrainSettings(steps=2, batch_size=8))
    assert load_checkpoint(tmp_path / "s5.pt", expect_board_size=5)[1].compression["data"] == str(tmp_path / "run")
    with pytest.raises(compress.DistillError, match="zero run for 5x5"):
        compress.distill(SHIPPED, "resnet-b1c8", tmp_path / "run", tmp_path / "s9.pt")


def test_a_pruned_student_stays_pruned_through_distillation(dataset, tmp_path):
    torch.manual_seed(0)
    teacher = save_checkpoint(tmp_path / "t.pt", build_model(NetConfig(blocks=1, width=16)))
    pruned = compress.prune(teacher, tmp_path / "p.pt", 0.5)
    record = compress.distill(teacher, str(tmp_path / "p.pt"), dataset, tmp_path / "s.pt",
                              settings=compress.TrainSettings(steps=2, batch_size=16))
    student, meta = load_checkpoint(tmp_path / "s.pt")
    assert record["student_compression"]["kept_channels"] == pruned["kept_channels"] == {"trunk.1": 8}
    assert count_params(student) == pruned["params"] and meta.compression["method"] == "distill"


def test_bad_arguments_are_one_line_errors_before_any_work(dataset, tmp_path, capsys):
    out = tmp_path / "out.pt"
    for amount in ("1.5", "0", "-0.2", "half"):
        assert main(["compress", "prune", str(SHIPPED), "--amount", amount, "--out", str(out)]) == 2
        assert "--amount: expected a fraction in (0, 1)" in capsys.readouterr().err
    assert main(["compress", "prune", str(SHIPPED), "--amount", "0.5", "--stream", "1.5", "--out", str(out)]) == 2
    assert "--stream: expected a fraction in (0, 1)" in capsys.readouterr().err
    with pytest.raises(PruneError, match=r"\(0, 1\)"):
        channel_prune(build_model(NetConfig(blocks=1, width=8)), 1.0)
    teacher7 = ROOT / "models" / "zero7_b4c32.pt"
    other_features = save_checkpoint(tmp_path / "alphago.pt", build_model(NetConfig(
        blocks=1, width=8, feature_set="alphago", in_planes=features.feature_planes("alphago"),
        feature_version=features.feature_version("alphago"))))
    small = save_checkpoint(tmp_path / "small.pt", build_model(NetConfig(blocks=1, width=8)))
    cases = [
        (["--teacher", str(teacher7), "--student", "resnet-b1c8"], "7x7"),
        (["--teacher", str(teacher7), "--student", str(small)], "board_size 7"),
        (["--teacher", str(other_features), "--student", str(small)], "feature_set 'alphago'"),
        (["--teacher", str(SHIPPED), "--student", "resnet-6x64"], "spec like mobilenet-b4c32"),
        (["--teacher", str(SHIPPED), "--student", str(small), "--alpha", "0.5", "--temperature", "-1"], "positive"),
    ]
    for extra, message in cases:
        code = main(["compress", "distill", *extra, "--data", str(dataset), "--out", str(out), "--steps", "1"])
        err = capsys.readouterr().err.strip()
        assert code in (1, 2) and message in err and not out.exists(), (extra, err)
        assert len(err.splitlines()) == 1 or code == 2, err


def test_int8_weights_fit_seven_bits_and_the_input_convolution_stays_fp32(int8_path):
    import onnx
    from onnx import numpy_helper
    graph = onnx.load_model_from_string(torch.load(int8_path, weights_only=True)["onnx"].numpy().tobytes()).graph
    weights = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    int8 = [w for w in weights.values() if w.dtype == np.int8 and w.ndim == 4]
    assert int8 and max(int(np.abs(w.astype(np.int64)).max()) for w in int8) <= 64  # 2 x 255 x 64 < 2**15
    (first,) = [node for node in graph.node if "planes" in node.input]
    assert first.op_type == "Conv" and getattr(weights.get(first.input[1]), "dtype", None) == np.float32  # no DequantizeLinear before it
