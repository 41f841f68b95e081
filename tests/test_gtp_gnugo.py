"""`rlgo gtp --ko simple` against GNU Go: the same commands must be accepted or refused alike."""
from __future__ import annotations

import numpy as np
import pytest

from rlgo.go import coords
from rlgo.go.handicap import max_fixed_handicap
from rlgo.go.rules import rules_from_name
from rlgo.gtp.engine import GTPEngine
from rlgo.gtp.protocol import parse_command
from rlgo.gtpclient import GTPClient, GTPError
from tests.conftest import GNUGO, have_gnugo
from tests.test_gtp_engine import FirstLegalAgent

pytestmark = [pytest.mark.gnugo, pytest.mark.skipif(not have_gnugo(), reason="GNU Go not installed")]


class Pair:
    """Our engine (in process) and GNU Go, fed the same commands."""

    def __init__(self, size: int):
        self.ours = GTPEngine(FirstLegalAgent(), size=size, rules=rules_from_name("gnugo"))
        self.gnugo = GTPClient([GNUGO, "--mode", "gtp"], timeout=30)
        self.send(f"boardsize {size}")

    def send(self, command: str) -> tuple[tuple[bool, str], tuple[bool, str]]:
        ours = self.ours.handle(parse_command(command))
        try:
            theirs = (True, self.gnugo.send(command))
        except GTPError as exc:
            theirs = (False, exc.message)
        return ours, theirs

    def stones(self) -> list[tuple[set[str], set[str]]]:
        out = []
        for color in ("black", "white"):
            ours, theirs = self.send(f"list_stones {color}")
            out.append((set(ours[1].split()), set(theirs[1].split())))
        return out


KO_OPENING = ["b B5", "w C5", "b A4", "w B4", "b B3", "w C3", "b pass", "w D4", "b C4"]


def _pick(state, rng) -> int:
    """Mostly legal non-eye-filling moves, the ko recapture whenever there is one, some random points."""
    if state.ko_point is not None and rng.random() < 0.7:
        return state.ko_point
    if rng.random() < 0.2:
        return int(rng.integers(state.pass_move + 1))
    mask = state.legal_mask() if not state.is_over else np.ones(state.pass_move + 1, bool)
    candidates = [int(p) for p in np.flatnonzero(mask[:-1]) if not state.fills_own_eye(int(p))]
    return int(rng.choice(candidates)) if candidates else state.pass_move


@pytest.mark.parametrize("size, seed", [(5, 1), (5, 2), (7, 3), (9, 4)])
def test_random_play_accepted_and_refused_alike(size, seed):
    rng = np.random.default_rng(seed)
    pair = Pair(size)
    color, refused, played = "b", 0, 0
    for move in KO_OPENING:  # black C4 takes B4: white may not retake at once
        assert pair.send(f"play {move}") == ((True, ""), (True, ""))
    assert pair.send("play w B4") == ((False, "illegal move"), (False, "illegal move"))
    color, played = "w", len(KO_OPENING)
    for step in range(300):
        if rng.random() < 0.04 and played:
            ours, theirs = pair.send("undo")
            color = "w" if color == "b" else "b"
            played -= 1
        else:
            point = _pick(pair.ours.state, rng)
            command = f"play {color} {coords.to_gtp(point, size)}"
            ours, theirs = pair.send(command)
            assert ours[0] == theirs[0], (step, command, ours, theirs, str(pair.ours.state))
            if ours[0]:
                color = "w" if color == "b" else "b"
                played += 1
            else:
                refused += 1
        if step % 10 == 0:
            for ours_set, theirs_set in pair.stones():
                assert ours_set == theirs_set, (step, str(pair.ours.state))
    pair.gnugo.close()
    assert refused > 10 and played > 50  # the walk met illegal moves and long games


def test_fixed_handicap_layout_matches_gnugo():
    pair = Pair(9)
    for size in range(7, 20):
        for count in range(2, max_fixed_handicap(size) + 1):
            pair.send(f"boardsize {size}")
            ours, theirs = pair.send(f"fixed_handicap {count}")
            assert ours[0] and theirs[0]
            assert set(ours[1].split()) == set(theirs[1].split()), (size, count)
    pair.gnugo.close()


def _opening(seed: int) -> list[int]:
    """GNU Go's first four moves against itself on an empty 9x9 board with `seed`."""
    from agents.specs import make_agent
    from rlgo.go.state import GameState
    agent = make_agent("gnugo:level=1", size=9, seed=seed)
    state, moves = GameState(9), []
    try:
        for _ in range(4):
            moves.append(agent.select_move(state))
            state.play(moves[-1])
    finally:
        agent.close()
    return moves


def test_gnugo_agents_of_different_seeds_play_different_games_and_one_seed_repeats():
    openings = [_opening(seed) for seed in (1, 2, 3, 4)]
    assert len({tuple(o) for o in openings}) >= 2  # unseeded, GNU Go replays one game
    assert _opening(3) == openings[2]
