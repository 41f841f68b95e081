"""Tournament runner: schedule, results log, resume without replaying, forfeits, parallel workers, CLI."""
from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections import Counter

import pytest

from agents.base import Agent
from agents.specs import make_agent
from rlgo.arena.game import GameConfig
from rlgo.arena.report import ratings_of
from rlgo.stats.results import RESULTS_FILE, load_results
from rlgo.arena.tournament import TournamentConfig, TournamentError, run_tournament, schedule
from rlgo.go.sgf import load_sgf
from tests.conftest import have_gnugo

AGENTS = ("random:seed=1", "random:seed=2", "random:seed=3")


def config(tmp_path, **changes) -> TournamentConfig:
    values = dict(agents=AGENTS, out=tmp_path / "t", games_per_pair=2, game=GameConfig(size=7, move_cap=12))
    values.update(changes)
    return TournamentConfig(**values)


class CountingFactory:
    """make_agent that counts how many agents it built."""

    def __init__(self, broken: str | None = None):
        self.built = Counter()
        self.broken = broken

    def __call__(self, spec, size, rules, seed):
        self.built[spec] += 1
        if spec == self.broken:
            raise RuntimeError(f"cannot build {spec}")
        return make_agent(spec, size=size, rules=rules, seed=seed)


class SlowAgent(Agent):
    """Thinks for a minute on every move."""

    def select_move(self, state):
        time.sleep(60)
        return state.size * state.size  # pass


def slow_factory(spec, size, rules, seed):
    """make_agent, except that the spec "slow" is a SlowAgent."""
    return SlowAgent() if spec == "slow" else make_agent(spec, size=size, rules=rules, seed=seed)


def test_an_interrupted_parallel_tournament_leaves_no_worker_behind(tmp_path):
    cfg = config(tmp_path, agents=("random:seed=1", "random:seed=2", "slow"), games_per_pair=1, parallel=2)

    def interrupt(record, finished, total):  # the first game ends; a worker is inside a slow one
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_tournament(cfg, slow_factory, interrupt)
    assert multiprocessing.active_children() == []
    assert len(load_results(cfg.out)) == 1


def test_schedule_covers_pairs_alternates_colours_and_ids_are_stable(tmp_path):
    tasks = schedule(config(tmp_path, games_per_pair=4))
    assert len(tasks) == 3 * 4 and len({t.id for t in tasks}) == 12
    for pair in [(AGENTS[0], AGENTS[1]), (AGENTS[0], AGENTS[2]), (AGENTS[1], AGENTS[2])]:
        games = [t for t in tasks if t.pair == pair]
        assert len(games) == 4
        assert Counter(t.black for t in games) == Counter({pair[0]: 2, pair[1]: 2})
    assert [t.id for t in schedule(config(tmp_path, games_per_pair=4))] == [t.id for t in tasks]
    gauntlet = schedule(config(tmp_path, mode="gauntlet"))
    assert {t.pair for t in gauntlet} == {(AGENTS[0], AGENTS[1]), (AGENTS[0], AGENTS[2])}
    assert {t.id for t in gauntlet} <= {t.id for t in schedule(config(tmp_path))}  # same pair, same ids


def test_every_game_is_logged_with_its_sgf(tmp_path):
    cfg = config(tmp_path)
    records = run_tournament(cfg, CountingFactory())
    assert len(records) == 6
    lines = (cfg.out / RESULTS_FILE).read_text().splitlines()
    assert len(lines) == 6
    for record in map(json.loads, lines):
        sgf = load_sgf(cfg.out / record["sgf"])
        assert (sgf.black, sgf.white, sgf.result) == (record["black"], record["white"], record["result"])
        assert len(sgf.moves) == record["moves"] == 12 and record["reason"] == "move cap"


def test_interrupted_tournament_resumes_without_replaying(tmp_path):
    cfg = config(tmp_path)
    first = CountingFactory()

    def interrupt_after_three(record, finished, total):
        if finished == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_tournament(cfg, first, interrupt_after_three)
    done_before = set(load_results(cfg.out))
    assert len(done_before) == 3 and sum(first.built.values()) == 6
    second = CountingFactory()
    records = run_tournament(cfg, second)
    assert sum(second.built.values()) == 6  # three games, two agents each: none of the first three again
    assert len(records) == 6 and len(set(load_results(cfg.out))) == 6
    assert len((cfg.out / RESULTS_FILE).read_text().splitlines()) == 6
    third = CountingFactory()
    run_tournament(cfg, third)
    assert sum(third.built.values()) == 0


def test_torn_last_line_is_played_again(tmp_path):
    cfg = config(tmp_path)
    run_tournament(cfg, CountingFactory())
    path = cfg.out / RESULTS_FILE
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]) + lines[-1][:25])  # a crash in the middle of the last write
    again = CountingFactory()
    records = run_tournament(cfg, again)
    assert sum(again.built.values()) == 2 and len(records) == 6
    assert len(load_results(cfg.out)) == 6


def test_more_games_later_extend_the_same_tournament(tmp_path):
    run_tournament(config(tmp_path, games_per_pair=1), CountingFactory())
    more = CountingFactory()
    records = run_tournament(config(tmp_path, games_per_pair=2), more)
    assert sum(more.built.values()) == 6 and len(records) == 6


def test_folder_with_other_settings_is_refused(tmp_path):
    run_tournament(config(tmp_path, games_per_pair=1), CountingFactory())
    with pytest.raises(TournamentError, match="other settings"):
        run_tournament(config(tmp_path, game=GameConfig(size=9, move_cap=12)), CountingFactory())


@pytest.mark.parametrize("damage", [b'{"seed": 3', b"[1, 2]", b"\xff\xfe"])
def test_damaged_settings_file_is_an_error_naming_it_and_the_games_are_kept(tmp_path, damage):
    run_tournament(config(tmp_path, games_per_pair=1), CountingFactory())
    results = (tmp_path / "t" / RESULTS_FILE).read_bytes()
    (tmp_path / "t" / "tournament.json").write_bytes(damage)
    with pytest.raises(TournamentError, match=r"tournament\.json is damaged"):
        run_tournament(config(tmp_path, games_per_pair=1), CountingFactory())
    assert (tmp_path / "t" / RESULTS_FILE).read_bytes() == results


def test_agent_that_cannot_be_built_forfeits_and_tournament_goes_on(tmp_path):
    cfg = config(tmp_path)
    records = run_tournament(cfg, CountingFactory(broken=AGENTS[2]))
    assert len(records) == 6
    for r in records:
        if AGENTS[2] in (r["black"], r["white"]):
            assert r["reason"] == "forfeit: crash" and "cannot build" in r["detail"]
            assert (r["winner"] == "B") == (r["white"] == AGENTS[2])
        else:
            assert r["reason"] == "move cap"
    ratings = {r.name: r for r in ratings_of(records, AGENTS)}
    assert ratings[AGENTS[2]].elo < min(ratings[AGENTS[0]].elo, ratings[AGENTS[1]].elo)


def test_bad_configs():
    with pytest.raises(TournamentError, match="two agents"):
        TournamentConfig(agents=("random",), out="x")
    with pytest.raises(TournamentError, match="different"):
        TournamentConfig(agents=("random", "random"), out="x")
    with pytest.raises(TournamentError, match="mode"):
        TournamentConfig(agents=("random", "random:seed=1"), out="x", mode="swiss")


def test_parallel_workers_play_the_same_schedule(tmp_path):
    cfg = config(tmp_path, agents=AGENTS[:2], games_per_pair=2, parallel=2)
    records = run_tournament(cfg, make_agent)
    assert sorted(r["id"] for r in records) == sorted(t.id for t in schedule(cfg))
    assert all(r["reason"] == "move cap" for r in records)


@pytest.mark.gnugo
@pytest.mark.skipif(not have_gnugo(), reason="GNU Go not installed")
def test_rlgo_gtp_against_gnugo_through_the_cli(tmp_path):
    ours = f'gtp:"{sys.executable} -m cli gtp --agent random --ko simple --rules gnugo",name=rlgo'
    out = tmp_path / "vs_gnugo"
    command = [sys.executable, "-m", "cli", "tournament", "--agents", ours, "gnugo:level=1", "--games-per-pair", "2",
               "--move-cap", "10", "--rules", "gnugo", "--out", str(out)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = list(load_results(out).values())
    assert len(records) == 2 and {r["reason"] for r in records} == {"move cap"}
    assert {r["black"] for r in records} == {ours, "gnugo:level=1"}
    assert "Ratings" in proc.stdout and "gnugo:level=1" in proc.stdout
    assert json.loads((out / "ratings.json").read_text())[0]["games"] == 2


def test_cli_usage_errors_name_the_problem(tmp_path, capsys):
    import cli
    assert cli.main(["tournament", "--agents", "random", "nosuchagent", "--out", str(tmp_path / "x")]) != 0
    err = capsys.readouterr().err
    assert "nosuchagent" in err and "random" in err and "Traceback" not in err
    assert cli.main(["tournament", "--agents", "random", "random:seed=1"]) != 0
    assert "--out" in capsys.readouterr().err
    assert cli.main(["tournament", "--agents", "random", "random:seed=1", "--anchor", "random",
                     "--out", str(tmp_path / "y")]) == 2
    assert "SPEC=ELO" in capsys.readouterr().err
    assert cli.main(["tournament", "--agents", "random", "random:seed=1", "--anchor", "gnugo=0",
                     "--out", str(tmp_path / "z")]) != 0
    assert "gnugo" in capsys.readouterr().err


def test_cli_plays_and_reports(tmp_path, capsys):
    import cli
    out = tmp_path / "t"
    args = ["tournament", "--agents", "random:seed=1", "random:seed=2", "--games-per-pair", "2", "--size", "7",
            "--move-cap", "8", "--anchor", "random:seed=2=1000", "--out", str(out)]
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    assert "Ratings" in text and "Crosstable" in text and text.count("move cap") == 2
    ratings = {r["agent"]: r for r in json.loads((out / "ratings.json").read_text())}
    assert ratings["random:seed=2"]["elo"] == 1000 and ratings["random:seed=1"]["games"] == 2
    assert (out / "ratings.md").read_text().startswith("| # | agent | Elo |")
    assert cli.main(["tournament", "--report", "--out", str(out)]) == 0
    assert "Ratings" in capsys.readouterr().out


def test_tables_number_agents_by_rank_in_both(tmp_path):
    from rlgo.arena.report import crosstable, ratings_markdown
    records = [{"black": "weak", "white": "strong", "winner": "W", "reason": "score"},
               {"black": "strong", "white": "weak", "winner": "B", "reason": "score"},
               {"black": "mid", "white": "weak", "winner": "B", "reason": "score"},
               {"black": "strong", "white": "mid", "winner": "B", "reason": "score"},
               {"black": "weak", "white": "mid", "winner": "B", "reason": "score"}]
    ratings = ratings_of(records, ["weak", "mid", "strong"])  # input order is not rating order
    ranked = [r.name for r in ratings]
    assert ranked == ["strong", "mid", "weak"]
    rows = [cell.split(". ", 1)[1] for cell in crosstable(records, ratings).columns[0]._cells]
    assert rows == ranked
    lines = ratings_markdown(ratings, records).splitlines()
    table_names = [line.split("`")[1] for line in lines[2:5]]
    cross_names = [line.split("`")[1] for line in lines[-3:]]
    assert table_names == cross_names == ranked
    assert [line.split(" | ")[0] for line in lines[2:5]] == ["| 1", "| 2", "| 3"]
    assert [line.split(".")[0] for line in lines[-3:]] == ["| 1", "| 2", "| 3"]


def test_cli_game_lines_rerun_count_and_where_results_are(tmp_path):
    out = tmp_path / "t"
    base = [sys.executable, "-m", "cli", "tournament", "--agents", "random:seed=1", "random:seed=2", "--size", "7",
            "--move-cap", "8", "--out", str(out)]
    first = subprocess.run(base + ["--games-per-pair", "2"], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "COLUMNS": "250"})
    assert first.returncode == 0, first.stderr
    lines = [line for line in first.stdout.splitlines() if line.startswith("game ")]
    records = {r["sgf"]: r for r in load_results(out).values()}
    assert len(lines) == 2 and "already played" not in first.stdout
    for k, line in enumerate(lines, 1):
        record = records[line.rsplit(" ", 1)[1]]
        assert line.startswith(f"game {k}/2: {record['black']} (Black) vs {record['white']} (White): "
                               f"{record['result']}, ")
    assert {tuple(records[line.rsplit(' ', 1)[1]]["pair"]) for line in lines} == {("random:seed=1", "random:seed=2")}
    assert f"results: {out}/results.jsonl (2 games" in first.stdout and f"{out}/ratings.json" in first.stdout
    again = subprocess.run(base + ["--games-per-pair", "5"], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "COLUMNS": "250"})
    assert again.returncode == 0, again.stderr
    assert "2 of 5 games already played, playing the remaining 3" in again.stdout
    assert [line.split(":")[0] for line in again.stdout.splitlines() if line.startswith("game ")] == \
        ["game 3/5", "game 4/5", "game 5/5"]


def test_unseeded_tournaments_draw_fresh_seeds_and_every_game_can_be_replayed(tmp_path):
    from rlgo.arena.tournament import GameTask, play_task

    agents = ("mcts:simulations=12", "random")
    game = GameConfig(size=5, move_cap=16)
    first, second = (run_tournament(TournamentConfig(agents=agents, out=tmp_path / name, games_per_pair=2, game=game),
                                    make_agent) for name in ("a", "b"))
    seeds = [json.loads((tmp_path / name / "tournament.json").read_text())["seed"] for name in ("a", "b")]
    assert seeds[0] != seeds[1]
    assert {r["id"] for r in first} == {r["id"] for r in second}
    assert {r["seed"] for r in first}.isdisjoint(r["seed"] for r in second)
    again = run_tournament(TournamentConfig(agents=agents, out=tmp_path / "a", games_per_pair=3, game=game),
                           make_agent)  # resuming without --seed keeps the folder's seed
    assert json.loads((tmp_path / "a" / "tournament.json").read_text())["seed"] == seeds[0]
    assert len(again) == 3
    (tmp_path / "replay" / "games").mkdir(parents=True)
    for record in again:
        sgf = load_sgf(tmp_path / "a" / record["sgf"])
        assert f"seed {record['seed']}" in sgf.root_comment and sgf.game_name == record["id"]
        task = GameTask(record["id"], tuple(record["pair"]), record["index"], record["black"], record["white"],
                        record["seed"])
        replay = play_task(task, game, str(tmp_path / "replay"), make_agent)
        assert load_sgf(tmp_path / "replay" / replay["sgf"]).moves == sgf.moves


class FirstLegalAgent(Agent):
    """Plays the lowest legal point on every move: the same game every time."""

    def select_move(self, state):
        return int(state.legal_mask().argmax())


def test_repeated_games_are_counted_move_for_move(tmp_path):
    from rlgo.arena.report import repeated_games
    fixed = config(tmp_path, agents=("first:a", "first:b"), games_per_pair=4, out=tmp_path / "fixed")
    records = run_tournament(fixed, lambda spec, size, rules, seed: FirstLegalAgent())
    assert repeated_games(records, fixed.out) == 2  # games 2 and 3 repeat games 0 and 1 (same colours)
    varied = config(tmp_path, agents=("random", "random:seed=9"), games_per_pair=4, out=tmp_path / "varied")
    records = run_tournament(varied, CountingFactory())
    assert repeated_games(records, varied.out) == 0  # the per-game seeds vary the unseeded side's moves
    (varied.out / records[0]["sgf"]).unlink()
    assert repeated_games(records, varied.out) == 0
