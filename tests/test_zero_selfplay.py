"""Self-play and match workers: records replay to the game, targets follow the perspective rules,
resignation and its calibration, playout cap randomization, match colours."""
from __future__ import annotations

import numpy as np
import pytest

from rlgo.go import coords
from rlgo.go.rules import Rules
from rlgo.go.state import BLACK, EMPTY, WHITE, GameState
from rlgo.train.data.shards import unpack_stones
from rlgo.train.zero.buffer import calibrate_resign, false_positive_rate
from rlgo.train.zero.selfplay import MatchGame, PlaySettings, run_match, run_selfplay
from tests.test_search_batch import LinearNet, evaluator

SIZE = 5


def settings(**changes) -> PlaySettings:
    base = dict(size=SIZE, rules=Rules(komi=2.5), simulations=12, parallel_games=4, temperature_moves=4, move_cap=40,
                alpha=0.4)
    return PlaySettings(**{**base, **changes})


def black_is_lost(planes, legal):
    """Uniform priors; the value says Black (plane 16 = 1) is lost and White is winning."""
    black = planes[:, 16, 0, 0] == 1
    return legal / legal.sum(axis=1, keepdims=True), np.where(black, -0.99, 0.99).astype(np.float32)


@pytest.fixture(scope="module")
def games():
    return run_selfplay(evaluator(LinearNet(7)), settings(), games=6, seed=3).games


def test_every_move_is_recorded_with_its_position_and_targets(games):
    interior = [coords.to_vertex(p, SIZE) for p in range(SIZE * SIZE)]
    for game in games:
        s = game.samples
        assert len(s["to_play"]) == len(game.moves)  # no resignation: one full search per move
        state = GameState(SIZE, Rules(komi=2.5))
        for i, move in enumerate(game.moves):
            stones = unpack_stones(s["stones"][i], SIZE)
            assert np.array_equal(stones, state.position_history(8)[:, interior])
            assert s["to_play"][i] == state.to_play and s["move_number"][i] == i
            policy = s["policy"][i].astype(np.float32)
            assert policy.sum() == pytest.approx(1.0, abs=2e-3)
            assert not policy[~state.legal_mask()].any()
            count = state.area_score() * (1 if state.to_play == BLACK else -1)
            assert policy[move] > 0 or (policy.argmax() == state.pass_move and count <= 0)  # pass guard
            state.play(move)
        assert state.is_over or len(game.moves) == 40
        assert game.winner == state.winner() and game.score == state.area_score()
        sign = np.where(s["to_play"] == BLACK, 1, -1)
        expected = np.where(s["to_play"] == game.winner, 1, -1) if game.winner != EMPTY else 0 * sign
        assert np.array_equal(s["outcome"], expected)
        assert np.allclose(s["score"], sign * game.score) and s["scored"].all()
        owner = state.ownership().ravel()
        mine = np.where(s["to_play"][:, None] == BLACK, owner == BLACK, owner == WHITE)
        theirs = np.where(s["to_play"][:, None] == BLACK, owner == WHITE, owner == BLACK)
        assert np.array_equal(s["ownership"], mine.astype(int) - theirs.astype(int))


def test_the_same_seed_plays_the_same_games(games):
    again = run_selfplay(evaluator(LinearNet(7)), settings(), games=6, seed=3).games
    assert [g.moves for g in again] == [g.moves for g in games]
    other = run_selfplay(evaluator(LinearNet(7)), settings(), games=6, seed=4).games
    assert [g.moves for g in other] != [g.moves for g in games]


def test_lost_side_resigns_unless_the_game_is_played_through():
    result = run_selfplay(evaluator(black_is_lost), settings(resign_threshold=-0.9, resign_playthrough=0.5), games=12, seed=1)
    through = [g for g in result.games if g.playthrough]
    resigned = [g for g in result.games if not g.playthrough]
    assert through and resigned
    for g in resigned:
        assert g.resigned and g.winner == WHITE and g.moves == [] and len(g.samples["to_play"]) == 0
    for g in through:
        assert not g.resigned and len(g.values) == len(g.moves)
        opening = g.values[:6]  # later, exactly scored terminal nodes enter the search
        assert (opening[0::2] < -0.9).all() and (opening[1::2] > 0.9).all()


def test_playout_cap_randomization_records_only_full_searches():
    result = run_selfplay(evaluator(LinearNet(8)), settings(fast_simulations=3, full_search_prob=0.3), games=4, seed=2)
    moves = sum(len(g.moves) for g in result.games)
    recorded = sum(len(g.samples["to_play"]) for g in result.games)
    assert 0.1 * moves < recorded < 0.55 * moves
    assert result.moves == moves


def even_priors(planes, legal):
    """Uniform priors and values that depend on the position (LinearNet's)."""
    return legal / legal.sum(axis=1, keepdims=True), LinearNet(9)(planes, legal)[1]


def test_gumbel_selfplay_records_the_improved_policy_and_plays_without_temperature():
    result = run_selfplay(evaluator(even_priors), settings(root="gumbel", gumbel_m=4, simulations=9), games=3, seed=4)
    for game in result.games:
        state = GameState(SIZE, Rules(komi=2.5))
        for i, move in enumerate(game.moves):
            policy = game.samples["policy"][i].astype(np.float32)
            legal = state.legal_mask()
            assert policy.sum() == pytest.approx(1.0, abs=2e-3) and not policy[~legal].any()
            assert (policy[legal] > 0).all()  # completed Q weighs every legal move, visited or not
            state.play(move)
    again = run_selfplay(evaluator(even_priors), settings(root="gumbel", gumbel_m=4, simulations=9), games=3, seed=4)
    assert [g.moves for g in again.games] == [g.moves for g in result.games]


def test_false_positive_rate_counts_the_first_resignation_only():
    games = [
        (np.array([0.0, -0.95, 0.5, -0.99]), BLACK),  # White (move 1) would resign first and lost: correct
        (np.array([-0.92, 0.2, -0.99]), BLACK),        # Black would resign at move 0 but won: false positive
        (np.array([0.1, -0.2, 0.3]), WHITE),           # nobody falls below the threshold
    ]
    assert false_positive_rate(games, -0.9) == (0.5, 2)
    assert false_positive_rate(games, -0.96) == (0.5, 2)  # now Black first at move 2 (won), White never
    assert false_positive_rate(games, -0.995) == (0.0, 0)


def test_calibration_picks_the_highest_threshold_that_keeps_false_positives_rare():
    rng = np.random.default_rng(0)
    games = []
    for i in range(100):
        winner_dip = -0.86 if i < 20 else -0.5  # a fifth of the winners dipped to -0.86 and still won
        values = np.empty(30)
        values[0::2] = np.linspace(0.0, -1.0, 15)           # Black (the loser) slides to -1
        values[1::2] = np.minimum(rng.uniform(-0.3, 0.3, 15), 0)
        values[1 + 2 * 5] = winner_dip
        games.append((values, WHITE))
    # above -0.86 a fifth of the resignations would be White's (wrong); at or below it none are
    assert calibrate_resign(games, current=-0.9, target=0.05) == pytest.approx(-0.86)
    assert calibrate_resign(games[:5], current=-0.9, target=0.05) == -0.9  # too few to measure: unchanged


def test_match_colours_alternate_and_scores_follow_the_first_network():
    result = run_match((evaluator(black_is_lost), evaluator(black_is_lost)), settings(resign_threshold=-0.9), (0, 1, 2, 3), seed=0)
    by_index = {g.index: g for g in result.games}
    assert sorted(by_index) == [0, 1, 2, 3]
    for i, g in by_index.items():
        assert g.winner == WHITE and g.result == "W+R"
        assert g.first_score == (0.0 if i % 2 == 0 else 1.0)
    assert MatchGame(2, EMPTY, [], "0").first_score == 0.5


def test_a_share_of_games_draws_komi_from_the_wide_spread():
    base = settings().rules.komi
    played = run_selfplay(evaluator(LinearNet(7)), settings(komi_wide=6.0, komi_wide_share=0.5), games=12,
                          seed=3).games
    komis = [float(game.samples["komi"][0]) for game in played]
    assert all(abs(k - base) <= 6 and 2 * k == int(2 * k) for k in komis)
    moved = [k for k in komis if k != base]  # komi_spread 0: only the wide games move
    assert 0 < len(moved) < len(komis) and max(abs(k - base) for k in moved) > 1


def test_komi_spread_gives_each_game_its_own_komi_and_scores_it_with_that_komi():
    played = run_selfplay(evaluator(LinearNet(7)), settings(komi_spread=1.0), games=8, seed=5).games
    seen = set()
    for game in played:
        komi = set(game.samples["komi"].tolist())
        assert len(komi) == 1  # one komi per game, on every sample
        komi = komi.pop()
        assert komi in (1.5, 2.0, 2.5, 3.0, 3.5)
        seen.add(komi)
        state = GameState(SIZE, Rules(komi=komi))
        for move in game.moves:
            state.play(move)
        assert game.score == state.area_score()  # scored with the game's own komi
    assert len(seen) > 1
    fixed = run_selfplay(evaluator(LinearNet(7)), settings(), games=2, seed=5).games
    assert all((g.samples["komi"] == 2.5).all() for g in fixed)


@pytest.mark.parametrize("root", ["puct", "gumbel"])
def test_match_games_with_a_random_opening_do_not_repeat(root):
    nets = (evaluator(LinearNet(7)), evaluator(LinearNet(7)))
    result = run_match(nets, settings(root=root, gumbel_m=4, resign_threshold=-1.0), tuple(range(8)), seed=1)
    by_colour = {}
    for g in result.games:
        by_colour.setdefault(g.index % 2, set()).add(tuple(g.moves))
    assert all(len(lines) > 1 for lines in by_colour.values())
    # without an opening every game of a pairing is the same one
    fixed = run_match(nets, settings(root=root, gumbel_m=4, resign_threshold=-1.0, temperature_moves=0), tuple(range(4)),
                      seed=1)
    assert len({tuple(g.moves) for g in fixed.games if g.index % 2 == 0}) == 1
