"""Engine self-play data generation: files, setup-stone openings, resume, engine failures, CLI."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from cli import main
from rlgo.go.sgf import load_sgf, record_to_state
from rlgo.go.state import GameState
from rlgo.train.data.engine_games import DatagenConfig, EngineError, game_path, generate, random_opening

GNUGO = "/usr/games/gnugo"
needs_gnugo = pytest.mark.skipif(not os.path.exists(GNUGO), reason="GNU Go not installed")

# A tiny GTP engine: passes every move (so games end at once) and plays the given moves.
PASSER = """
import sys
for line in sys.stdin:
    parts = line.split()
    if not parts:
        continue
    ident = parts[0] if parts[0].isdigit() else ""
    cmd = parts[1] if ident else parts[0]
    answer = {"genmove": "pass", "list_commands": "genmove\\nplay\\nquit", "final_score": "W+7.5"}.get(cmd, "")
    print(f"={ident} {answer}\\n", flush=True)
    if cmd == "quit":
        break
"""


@pytest.fixture
def passer(tmp_path) -> str:
    script = tmp_path / "passer.py"
    script.write_text(PASSER)
    return f"{sys.executable} {script}"


def test_random_opening_is_legal_and_never_fills_an_eye():
    rng = np.random.default_rng(0)
    for _ in range(20):
        state = GameState(5)
        points = random_opening(state, 12, rng)
        replay = GameState(5)
        for p in points:
            assert not replay.fills_own_eye(p)
            replay.play(p)
        assert state.moves == replay.moves


def test_opening_becomes_setup_stones_and_resume_skips_done_games(tmp_path, passer):
    cfg = DatagenConfig(engine=passer, games=3, size=7, random_opening=3, seed=4)
    assert generate(cfg, tmp_path) == 3
    records = [load_sgf(game_path(tmp_path, i)) for i in range(3)]
    for record in records:
        assert len(record.setup_black) == 2 and len(record.setup_white) == 1 and record.to_play == 2
        assert record.moves == [(2, 49), (1, 49)] and record.result == "W+7.5"
        record_to_state(record)
    assert len({tuple(r.setup_black + r.setup_white) for r in records}) == 3  # seeds differ per game
    assert [r.root_comment for r in records] == [f"rlgo datagen game {i}, seed 4" for i in range(3)]
    game_path(tmp_path, 1).unlink()
    (tmp_path / ".game-000001.sgf.x1y2.tmp").write_text("(;FF[4]")  # torn by a kill
    assert generate(cfg, tmp_path) == 1
    assert load_sgf(game_path(tmp_path, 1)) == records[1]  # the same seed gives the same game
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_engine_failures_raise_engine_error(tmp_path):
    with pytest.raises(EngineError, match="no-such-engine"):
        generate(DatagenConfig(engine="/no-such-engine --gtp", games=1), tmp_path)
    assert main(["datagen", "--engine", "/no-such-engine", "--games", "1", "--out", str(tmp_path)]) == 1


@needs_gnugo
@pytest.mark.gnugo
def test_gnugo_games_with_two_workers(tmp_path):
    out = tmp_path / "games"
    rc = main(["datagen", "--engine", f"{GNUGO} --mode gtp --level 0", "--games", "2", "--size", "5",
               "--out", str(out), "--workers", "2", "--random-opening", "2", "--seed", "3"])
    assert rc == 0
    for i in range(2):
        record = load_sgf(game_path(out, i))
        state = record_to_state(record)  # legal under the record's rules
        assert record.result[:2] in ("B+", "W+") or record.result == "0"
        assert state.passes >= 2 or record.result.endswith("+R")
