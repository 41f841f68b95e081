"""`rlgo plot RUN` (matplotlib, optional) and the TensorBoard note of a run (optional)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import cli
from rlgo.train import common
from rlgo.train.common import MetricsLogger

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


def zero_like_run(folder: Path, generations: int = 6) -> Path:
    folder.mkdir()
    log = MetricsLogger(folder, "metrics", tensorboard=False)
    for g in range(1, generations + 1):
        log.log(g, generation=g, loss=3.0 - 0.1 * g, policy_loss=2.0 - 0.1 * g, value_loss=1.0 - 0.05 * g,
                elo=50.0 * g, elo_95=80.0, best_elo=40.0 * g, games_per_s=2.5, positions_per_s=90.0,
                train_samples_per_s=400.0, resign_fp_rate=0.02, resign_rate=0.3, resign_threshold=-0.9)
    (folder / "config.json").write_text('{"resign_fp_target": 0.05}\n')
    return folder


def sl_like_run(folder: Path) -> Path:
    folder.mkdir()
    log = MetricsLogger(folder, "metrics", tensorboard=False)
    for step in (100, 200, 300):
        log.log(step, epoch=step // 100, val_loss=2.0 - step / 1000, val_top1=0.3 + step / 1000, val_top5=0.6)
    return folder


def test_plot_writes_the_figures_a_zero_run_has_and_says_where(tmp_path):
    pytest.importorskip("matplotlib")
    run = zero_like_run(tmp_path / "zero")
    proc = subprocess.run([sys.executable, str(ROOT / "cli.py"), "plot", str(run)], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    written = [Path(line.split(" ", 1)[1]) for line in proc.stdout.splitlines() if line.startswith("wrote ")]
    assert [p.name for p in written] == ["losses.png", "elo.png", "speed.png", "resign.png"]
    for path in written:
        assert path.parent == run / "plots" and path.read_bytes()[:8] == PNG and path.stat().st_size > 5000
    # speed.png has one panel per *_per_s column, so it is three times as tall as losses.png
    heights = {p.name: int.from_bytes(p.read_bytes()[20:24], "big") for p in written}
    assert heights["speed.png"] == 3 * heights["losses.png"]


def test_plot_of_a_supervised_run_and_another_folder(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    run = sl_like_run(tmp_path / "sl")
    assert cli.main(["plot", str(run), "--out", str(tmp_path / "figs")]) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["accuracy.png", "losses.png"]
    assert f"wrote {tmp_path / 'figs' / 'losses.png'}" in out and not (run / "plots").exists()


def test_plot_errors_are_one_line(tmp_path, capsys, monkeypatch):
    assert cli.main(["plot", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "no metrics.csv" in err and len(err.strip().splitlines()) == 1
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # as if matplotlib were not installed
    assert cli.main(["plot", str(zero_like_run(tmp_path / "z"))]) == 1
    assert 'pip install "rlgo[plot]"' in capsys.readouterr().err


def test_tensorboard_note_says_whether_it_is_on(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "_tensorboard", lambda folder: None)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    off = MetricsLogger(tmp_path / "a", "metrics")
    assert off.tensorboard_note().startswith("TensorBoard: off") and "pip install tensorboard" in off.tensorboard_note()
    monkeypatch.undo()
    pytest.importorskip("tensorboard")
    on = MetricsLogger(tmp_path / "b", "metrics")
    on.log(1, loss=1.5)
    on.close()
    assert on.tensorboard_note() == f"TensorBoard: on, tensorboard --logdir {tmp_path / 'b' / 'tb'}"
    assert list((tmp_path / "b" / "tb").glob("events.out.tfevents.*"))
