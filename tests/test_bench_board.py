"""Smoke test of benchmarks/bench_board.py (figures exist and are sane; no timing targets here)."""
from __future__ import annotations

import math

from benchmarks import bench_board


def test_quick_run_reports_every_figure(capsys):
    figures = bench_board.run(quick=True)
    for key in ("rollouts_per_s_9x9", "rollouts_per_s_19x19", "first_move_warm_s", "rollout_cache_load_s",
                "legal_mask_us_19x19", "legal_moves_us_9x9", "legal_moves_pruned_us_9x9"):
        assert math.isfinite(figures[key]) and figures[key] > 0, key
    if "openspiel_games_per_s_9x9" in figures:
        expected = figures["rollouts_per_s_9x9"] / figures["openspiel_games_per_s_9x9"]
        assert math.isclose(figures["ratio_vs_openspiel_9x9"], expected)
    else:
        assert "OpenSpiel column skipped" in capsys.readouterr().out
    assert "rollout_compile_s" not in figures  # quick runs skip the cold compile


def test_rollout_rate_counts_whole_batches():
    assert bench_board.rollout_rate(5, 0.05) >= bench_board.BATCH / 10.0
