"""The zero loop: config, gating rule, Elo chain, a tiny run end to end, resume after kill -9, the CLI."""
from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import cli
from rlgo.stats.results import append_result
from rlgo.nn.checkpoint import load_checkpoint
from rlgo.nn.model import NetConfig
from rlgo.train.zero.buffer import DamagedShardWarning, ReplayBuffer
from rlgo.train.zero.config import ZeroConfig, ZeroConfigError
from rlgo.train.zero.gate import ACCEPT, CONTINUE, REJECT, black_share, gate_decision, ratings
from rlgo.train.common import OptimConfig
from rlgo.train.zero.loop import open_run, read_best, train_zero
from rlgo.train.zero.storage import RunFileError

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(size=5, komi=2.5, net=NetConfig(blocks=1, width=8), simulations=8, games_per_generation=4, parallel_games=2,
            steps_per_generation=3, batch_size=16, gate_games=4, window_games=20, generations=1, workers=1,
            threads=1, sgf_per_generation=1)
TINY_KEYS = {**{k: v for k, v in TINY.items() if k != "net"}, "blocks": 1, "width": 8}
"""TINY as option names (the flags and TOML keys of `rlgo train zero`)."""
TINY_FLAGS = [f"--{k.replace('_', '-')}={v}" for k, v in TINY_KEYS.items()]


def state_of(run: Path) -> dict:
    return json.loads((run / "state.json").read_text())


# ----------------------------------------------------------------- config, gate, ratings
def test_config_checks_fields_and_round_trips():
    cfg = ZeroConfig(out="r", size=7, komi=8.5, fast_simulations=20, aux_heads=True)
    assert ZeroConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert cfg.alpha == pytest.approx(0.03 * 361 / 49) and cfg.effective_temperature_moves == 6 and cfg.effective_move_cap == 98
    assert cfg.net_config().heads == ("policy", "value", "ownership", "score")
    for bad, match in (({"rules": "japanese"}, "area"), ({"fast_simulations": 300}, "fast_simulations"),
                       ({"window_games": 10}, "window_games"), ({"gate_threshold": 0.5}, "gate_threshold"),
                       ({"size": 40}, "size"), ({"gate_rule": "vote"}, "gate_rule"), ({"root": "sampled"}, "root")):
        with pytest.raises(ZeroConfigError, match=match):
            ZeroConfig(out="r", **bad)
    with pytest.raises(ZeroConfigError, match="unknown"):
        ZeroConfig.from_dict({"out": "r", "sise": 9})


def test_a_run_stored_before_the_net_block_still_loads():
    cfg = ZeroConfig(out="r", size=7, net=NetConfig(backbone="dilated", blocks=3, width=24, feature_set="extended"))
    old = {k: v for k, v in cfg.to_dict().items() if k != "net"}
    old.update(backbone="dilated", blocks=3, width=24, feature_set="extended")  # config.json of earlier runs
    assert ZeroConfig.from_dict(json.loads(json.dumps(old))) == cfg
    with pytest.raises(ZeroConfigError, match="bad net settings"):
        ZeroConfig.from_dict({**cfg.to_dict(), "net": {"colour": "black"}})


def test_gate_needs_the_threshold_score_or_an_sprt_verdict():
    assert gate_decision([1, 1, 0, 1], 4, 0.55, "fixed") == ACCEPT
    assert gate_decision([1, 0, 0.5, 0.5], 4, 0.55, "fixed") == REJECT
    assert gate_decision([1, 1, 1], 4, 0.55, "fixed") == CONTINUE
    assert gate_decision([1] * 31, 400, 0.55, "sprt") == ACCEPT  # 31 straight wins: llr 2.95 > log(19)
    assert gate_decision([1] * 30, 400, 0.55, "sprt") == CONTINUE
    assert gate_decision([0] * 30, 400, 0.55, "sprt") == REJECT
    assert gate_decision([1, 0] * 10, 400, 0.55, "sprt") == CONTINUE
    assert gate_decision([1, 0] * 10 + [1], 21, 0.55, "sprt") == REJECT  # 11/21 = 0.524 at the cap


def test_elo_chains_gate_results_back_to_generation_zero(tmp_path):
    def games(gen, first, second, wins, n):
        for i in range(n):
            black_first = i % 2 == 0
            first_wins = i < wins
            winner = "B" if first_wins == black_first else "W"
            black, white = (first, second) if black_first else (second, first)
            append_result(tmp_path, {"id": f"gate-{gen:04d}-{i:03d}", "generation": gen, "black": black,
                                     "white": white, "winner": winner, "candidate_black": black_first})
    games(0, "gen-0001", "gen-0000", 30, 40)  # 75%: about +190
    games(1, "gen-0002", "gen-0001", 30, 40)  # another +190
    for i in range(10):  # a colour-decided gate: Black wins every game, so the score is 0.5
        append_result(tmp_path, {"id": f"gate-0002-{i:03d}", "generation": 2, "black": "gen-0003" if i % 2 else
                                 "gen-0002", "white": "gen-0002" if i % 2 else "gen-0003", "winner": "B",
                                 "candidate_black": bool(i % 2)})
    assert black_share(tmp_path, 0) == 0.5 and black_share(tmp_path, 2) == 1.0
    elo = ratings(tmp_path)
    assert elo["gen-0003"].elo == pytest.approx(elo["gen-0002"].elo, abs=1e-6)
    assert elo["gen-0000"].elo == 0
    assert 120 < elo["gen-0001"].elo < 260
    assert elo["gen-0002"].elo == pytest.approx(2 * elo["gen-0001"].elo, rel=0.1)


# ----------------------------------------------------------------- the loop
def test_a_tiny_run_writes_every_file_and_resumes_for_more_generations(tmp_path):
    run = tmp_path / "run"
    rows = train_zero(ZeroConfig(out=str(run), **TINY))
    assert [int(r["generation"]) for r in rows] == [1]
    assert state_of(run)["generation"] == 1 and state_of(run)["phase"] == "selfplay"
    best, path = read_best(run)
    assert best in (0, 1) and path.exists()
    model, meta = load_checkpoint(run / "checkpoints" / "gen-0001.pt", expect_board_size=5)
    assert meta.step == 3 and "policy_loss" in meta.metrics
    assert ReplayBuffer(run / "buffer", 5, 20).games(1) == 4  # generation 1 everywhere
    assert len(list((run / "sgf").glob("gen-0001-*.sgf"))) == 1
    gate = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    assert len(gate) <= 4 and {g["generation"] for g in gate} == {1}
    assert {g["id"].rsplit("-", 1)[0] for g in gate} == {"gate-0001"}
    shard_bytes = {p.name: p.read_bytes() for p in (run / "buffer").glob("*.npz")}
    with pytest.raises(ZeroConfigError, match="already holds"):
        train_zero(ZeroConfig(out=str(run), **TINY))
    rows = train_zero(ZeroConfig(out=str(run), **{**TINY, "generations": 2}), resume=True)
    assert [int(r["generation"]) for r in rows] == [1, 2]
    assert state_of(run)["generation"] == 2
    assert all((run / "buffer" / name).read_bytes() == data for name, data in shard_bytes.items())
    with pytest.raises(ZeroConfigError, match="simulations"):
        train_zero(ZeroConfig(out=str(run), **{**TINY, "simulations": 9}), resume=True)
    # a resume may switch to window-scaled steps: generation 3 trains on 12 of 20 games, so round(3 * 0.6) steps
    rows = train_zero(ZeroConfig(out=str(run), **{**TINY, "generations": 3, "window_scaled_steps": True}), resume=True)
    assert load_checkpoint(run / "checkpoints" / "gen-0003.pt")[1].step == 3 + 3 + 2
    assert float(rows[-1]["train_steps"]) == 2


def test_int8_play_quantizes_each_playing_network_once_the_buffer_has_positions(tmp_path):
    run = tmp_path / "run"
    rows = train_zero(ZeroConfig(out=str(run), **{**TINY, "generations": 2, "gating": False, "int8_play": True}))
    assert [int(r["generation"]) for r in rows] == [1, 2]
    ckpts = run / "checkpoints"
    # generation 0 played its self-play on an empty buffer (fp32), its rating match on an int8 copy
    assert sorted(p.name for p in ckpts.glob("*-int8.pt")) == ["gen-0000-int8.pt", "gen-0001-int8.pt",
                                                               "gen-0002-int8.pt"]
    for g in (0, 1, 2):
        net, meta = load_checkpoint(ckpts / f"gen-{g:04d}-int8.pt", expect_board_size=5, backend="onnxruntime")
        assert meta.compression["method"] == "int8" and meta.compression["source"].endswith(f"gen-{g:04d}.pt")
        assert type(net).__name__ == "OnnxNet"
    assert ReplayBuffer(run / "buffer", 5, 20).games(2) == 4  # generation 2's self-play ran on the int8 copy
    with pytest.raises(ZeroConfigError, match="int8_play and inference_server"):
        ZeroConfig(out="r", int8_play=True, inference_server=True)


def test_window_scaled_steps_grow_with_the_window_and_stop_at_steps_per_generation():
    cfg = ZeroConfig(out="r", steps_per_generation=100, window_games=1500, window_scaled_steps=True)
    assert [cfg.training_steps(g) for g in (0, 4, 256, 750, 1500, 3000)] == [1, 1, 17, 50, 100, 100]
    assert dataclasses.replace(cfg, window_scaled_steps=False).training_steps(256) == 100


def _start(args: list[str], patch: str = "") -> subprocess.Popen:
    """`rlgo` in a subprocess, after running `patch` (Python) in it."""
    code = textwrap.dedent(patch) + f"\nimport cli, sys\nsys.exit(cli.main({args!r}))\n"
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, proc: subprocess.Popen, seconds: float = 240) -> None:
    end = time.monotonic() + seconds
    while not predicate():
        assert proc.poll() is None, f"run ended early: {proc.stderr.read()[-2000:]}"
        assert time.monotonic() < end, "timed out waiting for the run"
        time.sleep(0.05)


def _resume(run: Path) -> None:
    """Resume in this process (the kill needed a subprocess; the resume does not)."""
    assert cli.main(["train", "zero", "--resume", str(run)]) == 0


@pytest.mark.slow
def test_kill_during_selfplay_keeps_finished_games_and_resumes(tmp_path):
    run = tmp_path / "run"
    flags = [*TINY_FLAGS, "--games-per-generation=8", "--window-games=20"]
    proc = _start(["train", "zero", "--out", str(run), *flags])
    _wait_for(lambda: len(list((run / "buffer").glob("*.npz"))) >= 1 if (run / "buffer").exists() else False, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = {p.name: p.read_bytes() for p in (run / "buffer").glob("*.npz")}
    assert state_of(run)["phase"] == "selfplay" and read_best(run) == (0, run / "checkpoints" / "gen-0000.pt")
    _resume(run)
    buffer = ReplayBuffer(run / "buffer", 5, 20)
    assert buffer.games(1) == 8  # the rest of the generation, no more, no less
    assert all((run / "buffer" / name).read_bytes() == data for name, data in kept.items())
    assert state_of(run) == {**state_of(run), "generation": 1, "phase": "selfplay"}
    load_checkpoint(read_best(run)[1], expect_board_size=5)


@pytest.mark.slow
def test_kill_while_the_candidate_checkpoint_is_half_written(tmp_path):
    run = tmp_path / "run"
    marker = tmp_path / "writing"
    # torch.save of the candidate (step > 0) writes half its bytes, then hangs: the kill lands mid-write
    patch = f"""
        import io, time, pathlib, torch
        _save = torch.save
        def save(obj, f, *args, **kwargs):
            if isinstance(obj, dict) and obj.get("format") == "rlgo-checkpoint" and obj.get("step", 0) > 0:
                buffer = io.BytesIO()
                _save(obj, buffer, *args, **kwargs)
                f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
                f.flush()
                pathlib.Path({str(marker)!r}).touch()
                time.sleep(600)
            return _save(obj, f, *args, **kwargs)
        torch.save = save
    """
    proc = _start(["train", "zero", "--out", str(run), *TINY_FLAGS], patch)
    _wait_for(marker.exists, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (run / "checkpoints" / "gen-0001.pt").exists()
    assert list((run / "checkpoints").glob(".gen-0001.pt.*.tmp"))  # the torn file is a hidden temp file
    assert state_of(run)["phase"] == "train" and read_best(run)[0] == 0
    load_checkpoint(read_best(run)[1], expect_board_size=5)
    _resume(run)
    assert state_of(run)["generation"] == 1
    assert not list((run / "checkpoints").glob(".*.tmp"))
    _, meta = load_checkpoint(run / "checkpoints" / "gen-0001.pt", expect_board_size=5)
    assert meta.step == 3
    load_checkpoint(read_best(run)[1], expect_board_size=5)


# ----------------------------------------------------------------- command line
def test_cli_help_and_user_errors(tmp_path, capsys):
    assert cli.main(["train", "zero", "--help"]) == 0
    assert "--no-gating" in capsys.readouterr().out
    assert cli.main(["train", "zero", "--resume", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert "cannot resume" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert cli.main(["train", "zero", "--size", "5"]) == 1
    assert "--out" in capsys.readouterr().err
    assert cli.main(["train", "zero", "--out", str(tmp_path / "r"), "--rules", "japanese"]) == 1
    assert "area" in capsys.readouterr().err
    assert cli.main(["train", "zero", "--out", str(tmp_path / "r"), "--root", "sampled"]) == 2  # a usage error
    assert "--root" in capsys.readouterr().err
    (tmp_path / "r2").mkdir()
    (tmp_path / "r2" / "config.json").write_text(json.dumps(ZeroConfig(out="x", **TINY).to_dict()))
    assert cli.main(["train", "zero", "--resume", str(tmp_path / "r2"), "--simulations", "3"]) == 1
    assert "cannot change simulations" in capsys.readouterr().err


def test_cli_reads_a_toml_config(tmp_path, capsys):
    config = tmp_path / "zero.toml"
    values = {**TINY_KEYS, "steps_per_generation": 2, "no_gating": True, "root": "gumbel", "gumbel_m": 4}
    config.write_text("".join(f"{k.replace('_', '-')} = {json.dumps(v)}\n" for k, v in values.items()))
    run = tmp_path / "run"
    assert cli.main(["train", "zero", "--config", str(config), "--out", str(run)]) == 0
    stored = json.loads((run / "config.json").read_text())
    assert stored["steps_per_generation"] == 2 and stored["size"] == 5 and stored["gating"] is False
    assert stored["root"] == "gumbel" and stored["gumbel_m"] == 4
    assert "best network" in capsys.readouterr().out
    assert np.isfinite(float(json.loads((run / "best.json").read_text())["elo"]))


# ----------------------------------------------------------------- damaged run files
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished one-generation tiny run (copy it before damaging it)."""
    run = tmp_path_factory.mktemp("zero") / "run"
    train_zero(ZeroConfig(out=str(run), **TINY))
    return run


def test_resume_may_change_the_komi_draw_and_the_learning_rate_and_keeps_them(finished_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    assert cli.main(["train", "zero", "--resume", str(run), "--momentum", "0.5"]) == 1
    assert "cannot change momentum" in capsys.readouterr().err
    assert cli.main(["train", "zero", "--resume", str(run), "--generations", "2", "--lr", "0.0125",
                     "--komi-wide", "3", "--komi-wide-share", "1", "--resign-playthrough", "0.5",
                     "--rescore-share", "0.5"]) == 0
    stored = json.loads((run / "config.json").read_text())
    assert stored["optim"]["lr"] == 0.0125 and stored["komi_wide"] == 3 and stored["komi_wide_share"] == 1
    assert stored["resign_playthrough"] == 0.5 and stored["rescore_share"] == 0.5
    assert stored["optim"]["momentum"] == ZeroConfig(out="x", **TINY).optim.momentum
    assert stored["generations"] == 1  # a one-invocation setting is not stored
    optimizer = torch.load(run / "train_state.pt", weights_only=True)["optimizer"]
    assert optimizer["param_groups"][0]["lr"] == 0.0125  # generation 2 trained at the new rate
    komi = {float(k) for k in ReplayBuffer(run / "buffer", 5, 20).window()["komi"]}
    assert max(abs(k - TINY["komi"]) for k in komi) > 0  # generation 2's games drew komi within 2.5 +- 3
    with pytest.raises(ZeroConfigError, match="optim"):
        open_run(ZeroConfig(out=str(run), **{**TINY, "optim": OptimConfig(lr=0.0125, momentum=0.5)}), resume=True)


def _one_line_error(run: Path, capsys, *names: str) -> str:
    assert cli.main(["train", "zero", "--resume", str(run), "--generations", "2"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and "weights_only=False" not in err, err
    assert all(name in err for name in names), err
    return err


class _Code:
    def __reduce__(self):
        return print, ("unpickled code ran",)


@pytest.mark.parametrize("damage", ["state", "config", "best", "best_missing", "train_state_code",
                                    "train_state_flipped"])
def test_resume_on_a_damaged_run_file_is_a_one_line_error_naming_it(finished_run, tmp_path, capsys, damage):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    if damage == "state":
        (run / "state.json").write_text('{"generation": 1, "pha')
        names = ("state.json", "damaged")
    elif damage == "config":
        (run / "config.json").write_bytes(b"\xff\xfe garbage")
        names = ("config.json", "damaged")
    elif damage == "best":
        (run / "best.json").write_text('["gen-0001"]')
        names = ("best.json", "damaged")
    elif damage == "best_missing":
        (run / "best.json").write_text(json.dumps({"generation": 7, "checkpoint": "checkpoints/gen-0007.pt"}))
        names = ("best.json", "gen-0007.pt", "does not exist")
    elif damage == "train_state_code":
        torch.save({"optimizer": _Code(), "generation": 1, "step": 3}, run / "train_state.pt")
        names = ("train_state.pt", "foreign")
    else:
        raw = bytearray((run / "train_state.pt").read_bytes())
        raw[len(raw) // 3] ^= 0xFF
        (run / "train_state.pt").write_bytes(bytes(raw))
        names = ("train_state.pt",)
    _one_line_error(run, capsys, *names)
    assert "unpickled code ran" not in capsys.readouterr().out


def test_resume_skips_a_truncated_shard_with_a_warning_and_cleans_torn_sgfs(finished_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    shard = sorted((run / "buffer").glob("*.npz"))[0]
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    torn = run / "sgf" / ".gen-0001-000.sgf.x1y2.tmp"
    torn.write_text("(;FF[4]SZ[5];B[a")
    with pytest.warns(DamagedShardWarning, match=f"{shard.name}.*damaged.*skipped"):
        assert cli.main(["train", "zero", "--resume", str(run), "--generations", "2"]) == 0
    assert state_of(run)["generation"] == 2
    assert (shard.parent / (shard.name + ".damaged")).exists() and not shard.exists()
    assert not torn.exists() and not list(run.rglob(".*.tmp"))


# ----------------------------------------------------------------- compact state
def test_compact_state_resumes_and_keeps_only_what_the_next_step_reads(finished_run, tmp_path, capsys):
    run, compact = tmp_path / "run", tmp_path / "compact"
    shutil.copytree(finished_run, run)
    assert cli.main(["train", "zero", "--resume", str(run), "--generations", "2", "--int8-play"]) == 0
    assert list(run.glob("checkpoints/*-int8.pt")) and len(list(run.glob("checkpoints/gen-*.pt"))) > 2
    torn = run / "buffer" / ".gen0003-000099-0002.npz.a1b2.tmp"  # a shard being written by the live run
    torn.write_bytes(b"partial")
    assert cli.main(["train", "zero-compact", str(run), "--out", str(compact), "--generations", "1"]) == 0
    assert "generation 2" in capsys.readouterr().out and torn.exists()
    assert {p.name for p in compact.iterdir()} == {"config.json", "state.json", "best.json", "train_state.pt",
                                                   "results.jsonl", "metrics.csv", "checkpoints", "buffer"}
    best = json.loads((run / "best.json").read_text())["generation"]
    trained = torch.load(run / "train_state.pt", weights_only=True)["generation"]
    assert {p.name for p in (compact / "checkpoints").iterdir()} == {f"gen-{g:04d}.pt" for g in {best, trained, 2}}
    shards = {p.name for p in (compact / "buffer").iterdir()}
    assert shards == {p.name for p in (run / "buffer").glob("gen0002-*.npz")} and shards
    assert (compact / "state.json").read_bytes() == (run / "state.json").read_bytes()
    (compact / "stale").write_text("replaced, not merged")
    assert cli.main(["train", "zero-compact", str(run), "--out", str(compact)]) == 0
    assert not (compact / "stale").exists() and len(list((compact / "buffer").iterdir())) > len(shards)
    assert cli.main(["train", "zero", "--resume", str(compact), "--generations", "3"]) == 0
    assert state_of(compact)["generation"] == 3


def test_compact_state_of_a_run_that_changes_meanwhile_is_copied_again(finished_run, tmp_path, monkeypatch):
    from rlgo.train.zero import compact as compact_module
    copies, real = [], compact_module._copy

    def copy_while_self_play_writes(run, tmp, generations):
        copies.append(tmp)
        if len(copies) == 1:
            (run / "state.json").write_text(json.dumps({**state_of(run), "selfplay_moves": 12345}))
        return real(run, tmp, generations)

    monkeypatch.setattr(compact_module, "_copy", copy_while_self_play_writes)
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    compact_module.compact_run(run, tmp_path / "compact")
    assert len(copies) == 2 and state_of(tmp_path / "compact")["selfplay_moves"] == 12345
    assert not any(p.exists() for p in copies) and not list(tmp_path.glob(".compact*"))
    with pytest.raises(ValueError, match="outside the run folder"):
        compact_module.compact_run(run, run / "compact")
    (run / "state.json").write_text('{"generation": 1, "stage": "gate"}')
    with pytest.raises(RunFileError, match="state.json.*damaged"):
        compact_module.compact_run(run, tmp_path / "compact")
    assert state_of(tmp_path / "compact")["selfplay_moves"] == 12345  # the earlier copy is kept


def test_init_starts_generation_zero_from_a_policy_value_network(tmp_path):
    import torch
    from rlgo.nn.checkpoint import save_checkpoint
    from rlgo.nn.model import NetConfig, build_model
    from rlgo.train.zero.loop import open_run

    torch.manual_seed(1)
    sl = build_model(NetConfig(blocks=1, width=8, board_size=5, heads=("policy", "value")))
    save_checkpoint(tmp_path / "sl.pt", sl)
    cfg = ZeroConfig(out=str(tmp_path / "run"), init=str(tmp_path / "sl.pt"), aux_heads=True,
                     **{k: v for k, v in TINY.items() if k != "komi"})
    open_run(cfg, resume=False)
    gen0, _ = load_checkpoint(tmp_path / "run" / "checkpoints" / "gen-0000.pt")
    got, want = gen0.state_dict(), sl.state_dict()
    assert all(torch.equal(got[k], want[k]) for k in want)  # trunk, policy and value copied
    assert any(k.startswith("heads.ownership.") for k in got) and not any(k.startswith("heads.ownership.") for k in want)

    wide = dict(cfg.__dict__, out=str(tmp_path / "other"), net=dataclasses.replace(cfg.net, width=16))
    with pytest.raises(ZeroConfigError, match="width 8 .run: 16."):
        open_run(ZeroConfig(**wide), resume=False)
    assert not (tmp_path / "other").exists()  # nothing written for a checkpoint that does not fit


def test_init_widens_a_network_of_a_prefix_feature_set_without_changing_its_outputs(tmp_path):
    import torch
    from rlgo.go import features
    from rlgo.go.state import GameState
    from rlgo.nn.checkpoint import save_checkpoint
    from rlgo.nn.transfer import TransferError, init_from_checkpoint
    from rlgo.nn.model import NetConfig, build_model

    torch.manual_seed(2)
    agz = build_model(NetConfig(blocks=2, width=8, board_size=5, heads=("policy", "value"))).eval()
    save_checkpoint(tmp_path / "agz.pt", agz)
    wide = build_model(NetConfig(blocks=2, width=8, board_size=5, in_planes=features.feature_planes("extended"),
                                 feature_set="extended", heads=("policy", "value", "ownership", "score")))
    fresh = {k: v.clone() for k, v in wide.state_dict().items() if k.startswith(("heads.ownership.", "heads.score."))}
    init_from_checkpoint(wide, tmp_path / "agz.pt")
    assert all(torch.equal(wide.state_dict()[k], v) for k, v in fresh.items())  # auxiliary heads left fresh
    state = GameState(5)
    for move in ("C3", "B2", "D4", "B3"):
        state.play_gtp(move)
    with torch.no_grad():
        before = agz(torch.from_numpy(features.encode(state, "agz"))[None])
        after = wide.eval()(torch.from_numpy(features.encode(state, "extended"))[None])
    for head in ("policy", "value"):
        assert torch.allclose(before[head], after[head], atol=1e-5)
    narrow = build_model(NetConfig(blocks=2, width=8, board_size=5, heads=("policy", "value")))
    save_checkpoint(tmp_path / "wide.pt", wide)
    with pytest.raises(TransferError, match="feature_set 'extended'"):
        init_from_checkpoint(narrow, tmp_path / "wide.pt")


def test_remaining_time_of_a_run():
    from rlgo.train.zero.display import duration, remaining_time
    assert [duration(s) for s in (0.4, 59, 61, 3599, 3725)] == ["0s", "59s", "1m", "59m", "1h02m"]
    assert remaining_time(60, 2, 3, float("inf")) == "run done in ~1m (3 generations at 30s each)"
    assert remaining_time(60, 2, 1, float("inf")) == "run done in ~30s (1 generation at 30s each)"
    assert remaining_time(60, 0, 3, float("inf")) == "" and remaining_time(60, 2, 0, float("inf")) == ""
    assert remaining_time(600, 1, 10, 1500) == "--hours ends the run in ~25m (about 2 more generations at 10m each)"


@pytest.mark.slow
def test_cli_run_shows_one_numbering_the_eta_and_the_next_steps(tmp_path):
    import pexpect

    run = tmp_path / "run"

    def rlgo(*argv: str) -> str:
        transcript = io.StringIO()
        child = pexpect.spawn(sys.executable, [str(ROOT / "cli.py"), *argv], cwd=str(ROOT), encoding="utf-8",
                              timeout=600, dimensions=(50, 400), env={**os.environ, "PYTHONPATH": str(ROOT)})
        child.logfile_read = transcript
        child.expect(pexpect.EOF)
        child.close()
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", transcript.getvalue())  # rich's colours and redraws
        assert child.exitstatus == 0, text[-3000:]
        return text.replace("\r\n", "\n").replace("\r", "\n")

    text = rlgo("train", "zero", "--out", str(run), *TINY_FLAGS, "--generations=2")
    assert f"new run {run}: generation 1, until generation 2" in text and "TensorBoard: " in text
    for label in ("gen 1/2 self-play by gen 0", "gen 1/2 train", "gen 1/2 gate vs gen 0", "gen 2/2 self-play by gen",
                  "gen 2/2 train", "gen 2/2 gate vs gen"):
        assert label in text
    assert not re.search(r"gen 0(/\d+)? (self-play|train|gate)", text)  # nothing is labelled generation 0 but its net
    first = next(line for line in text.splitlines() if line.startswith("gen 1: "))
    second = next(line for line in text.splitlines() if line.startswith("gen 2: "))
    assert re.search(r"\| run done in ~\d+[sm] \(1 generation at \d+[sm] each\)$", first.strip())
    assert "run done" not in second
    best = json.loads((run / "best.json").read_text())["generation"]
    assert f"best network: generation {best}" in text
    for hint in (f"rlgo play --agent zero:ckpt={run},simulations=8 --size 5 --komi 2.5", f"rlgo plot {run}",
                 f"rlgo train zero --resume {run} --generations 22", f"--out {run}/rating"):
        assert hint in text
    text = rlgo("train", "zero", "--resume", str(run), "--generations", "3")
    assert f"resuming at generation 3 of {run} (selfplay; best network: generation {best}), until generation 3" in text
    assert "gen 3: " in text and "gen 3/3 gate vs gen" in text
