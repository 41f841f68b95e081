"""GUI analysis over GTP: kata-analyze / lz-analyze field by field against the documented formats, scores and
ownership with KataGo's perspective, genmove_analyze, KataGo rules commands, kata-raw-nn, every agent analysing."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from agents.estimates import estimate
from agents.mcts_agent import MCTSAgent
from agents.policy_agent import PolicyAgent
from agents.random_agent import RandomAgent
from agents.specs import make_agent
from rlgo.go import coords
from rlgo.go.state import BLACK, WHITE
from rlgo.gtp.analysis import parse_analyze_args
from rlgo.gtp.engine import GTPEngine
from rlgo.gtp.protocol import GTPCommandError, parse_command
from rlgo.nn.checkpoint import save_checkpoint
from rlgo.nn.inference import load_policy
from tests.analysis_formats import FormatError, parse_kata_line, parse_lz_line, parse_raw_nn
from tests.conftest import board_from_ascii
from tests.test_gtp_analysis import PipeSession
from tests.test_pg import _one_thread, tiny_net  # noqa: F401 (autouse fixture: one torch thread)

ALL_HEADS = ("policy", "value", "ownership", "score")
SETTLED = """
X X X X X X X O O
X . X X . X X O O
X X X X X X X O O
X X X X X X X O .
X . X X . X X O O
X X X X X X X O O
X X X X X X X O O
X . X X . X X O .
X X X X X X X O O
"""
"""Every group alive with two eyes or more, no move left but eye fills and suicides: Black 63 points,
White 18, so Black leads by 63 - 18 - 7.5 = 37.5 whoever is to move."""
SETTLED_LEAD = 37.5


@pytest.fixture(scope="module")
def four_heads(tmp_path_factory):
    """A 9x9 checkpoint with policy, value, ownership and score heads (random weights)."""
    return str(save_checkpoint(tmp_path_factory.mktemp("net") / "all.pt", tiny_net(9, heads=ALL_HEADS, seed=3)))


@pytest.fixture(scope="module")
def policy_value(tmp_path_factory):
    return str(save_checkpoint(tmp_path_factory.mktemp("net") / "pv.pt", tiny_net(9, seed=4)))


def stream_line(engine: GTPEngine, command: str, search: bool = True) -> str:
    """One info line of an analyze command after the agent's own search or judgement (no threads)."""
    cmd = parse_command(command)
    stream = engine.analyze(cmd, lambda text: None)
    agent = engine.agent
    if not search:
        pass
    elif isinstance(agent, MCTSAgent):
        agent.select_move(stream.state.copy())
    else:
        agent.ponder(stream.state)
    return stream.line()


def searched(engine: GTPEngine, moves=("E5", "D4")) -> GTPEngine:
    for i, v in enumerate(moves):
        engine.state.play(coords.from_gtp(v, 9), BLACK if i % 2 == 0 else WHITE)
    return engine


# ----------------------------------------------------------------- formats, every agent
@pytest.mark.parametrize("spec", ["mcts:simulations=200", "random", "policy", "zero"])
def test_kata_analyze_lines_parse_strictly_for_every_agent(spec, four_heads):
    spec = {"policy": f"policy:ckpt={four_heads}", "zero": f"zero:ckpt={four_heads},simulations=32"}.get(spec, spec)
    engine = searched(GTPEngine(make_agent(spec, 9, None, seed=1), 9))
    line = stream_line(engine, "kata-analyze 10 ownership true rootInfo true movesOwnership true maxmoves 5")
    parsed = parse_kata_line(line, 9)
    infos = parsed["infos"]
    assert 1 <= len(infos) <= 5 and parsed["ownership"] is not None and parsed["rootInfo"] is not None
    for info in infos:
        assert {"scoreLead", "scoreMean", "scoreSelfplay", "utility", "utilityLcb", "lcb"} <= set(info)
        assert info["utility"] == pytest.approx(2 * info["winrate"] - 1, abs=2e-6)
        assert len(info["movesOwnership"]) == 81
    if spec.startswith(("policy", "random")):
        assert all(i["visits"] == 0 for i in infos)
        assert len({round(i["winrate"], 6) for i in infos} | {0.5}) > 1  # not the constant 50% of old
    lz = parse_lz_line(stream_line(engine, "lz-analyze 10 maxmoves 5", search=False), 9)
    assert [i["move"] for i in lz] == [i["move"] for i in infos]


def test_strict_parser_rejects_what_the_docs_do_not_allow():
    good = "info move D4 visits 3 winrate 0.5 scoreMean 1 scoreLead 1 prior 0.1 order 0 pv D4 E5"
    parse_kata_line(good, 9)
    for bad in (good.replace("winrate 0.5", "winrate 1.5"), good.replace("scoreLead 1", "scoreLead 2"),
                good.replace("order 0", "order 1"), good + " ownership 0.5", good.replace("pv D4", "pv I4"),
                good.replace("prior", "priority")):
        with pytest.raises((FormatError, ValueError)):
            parse_kata_line(bad, 9)


def test_scores_are_left_out_only_where_no_estimate_exists():
    engine = searched(GTPEngine(make_agent("mcts:simulations=100", 9, None, seed=2), 9))
    line = stream_line(engine, "kata-analyze 10")
    for info in parse_kata_line(line, 9)["infos"]:
        if info["visits"] > 1:  # the spread of the rollouts under the move, not a fake 0
            assert "scoreStdev" in info and info["scoreStdev"] > 0
        else:
            assert "scoreStdev" not in info  # one rollout has no spread
        assert info["scoreLead"] != 0


def test_network_scores_come_from_the_score_head(four_heads):
    agent = make_agent(f"zero:ckpt={four_heads},simulations=16", 9, None, seed=1)
    engine = searched(GTPEngine(agent, 9))
    parsed = parse_kata_line(stream_line(engine, "kata-analyze 10 ownership true"), 9)
    net = agent.networks()[0]
    for info in parsed["infos"]:
        child = engine.state.copy()
        child.play(coords.from_gtp(info["move"], 9))
        assert "scoreStdev" not in info  # a score head predicts a mean only
        assert info["scoreLead"] == pytest.approx(-estimate([net], [child])[0].score_lead, abs=1e-3)
    root = estimate([net], [engine.state])[0]
    assert parsed["ownership"] == pytest.approx(list(root.ownership), abs=1e-4)


# ----------------------------------------------------------------- perspective and size
@pytest.mark.parametrize("to_play", [BLACK, WHITE])
def test_settled_lead_has_the_right_sign_and_size(to_play):
    engine = GTPEngine(make_agent("mcts:simulations=64", 9, None, seed=1), 9)
    engine.state = board_from_ascii(SETTLED, to_play=to_play)
    parsed = parse_kata_line(stream_line(engine, "kata-analyze 10 ownership true rootInfo true"), 9)
    sign = 1 if to_play == BLACK else -1  # KataGo: scoreLead and ownership are the side to move's
    assert parsed["infos"][0]["move"] == "pass"
    assert parsed["infos"][0]["scoreLead"] == pytest.approx(sign * SETTLED_LEAD)
    assert parsed["rootInfo"]["scoreLead"] == pytest.approx(sign * SETTLED_LEAD)
    own = np.array(parsed["ownership"]).reshape(9, 9)  # row-major from A9
    assert own[0, 0] == sign * 1 and own[0, 8] == -sign * 1 and own[3, 8] == -sign * 1  # A9 black, J9 and J6 white
    assert own[1, 1] == sign * 1  # B8: a black eye


def test_ownership_head_is_reported_for_the_side_to_move(four_heads):
    agent = make_agent(f"policy:ckpt={four_heads}", 9, None)
    engine = searched(GTPEngine(agent, 9), moves=("E5",))
    white = parse_kata_line(stream_line(engine, "kata-analyze w 10 ownership true"), 9)["ownership"]
    black = parse_kata_line(stream_line(engine, "kata-analyze b 10 ownership true"), 9)["ownership"]
    net = agent.networks()[0]
    for color, got in ((WHITE, white), (BLACK, black)):
        position = engine._position_for(color)
        assert got == pytest.approx(list(estimate([net], [position])[0].ownership), abs=1e-4)
    raw = parse_raw_nn(engine.handle(parse_command("kata-raw-nn w 0"))[1], 9)[0]
    assert raw["whiteOwnership"] == pytest.approx(white, abs=1e-3)  # White to move: its view is White's
    raw_b = parse_raw_nn(engine.handle(parse_command("kata-raw-nn b 0"))[1], 9)[0]
    assert raw_b["whiteOwnership"] == pytest.approx([-v for v in black], abs=1e-3)


# ----------------------------------------------------------------- options
def test_minmoves_maxmoves_avoid_allow():
    engine = searched(GTPEngine(make_agent("mcts:simulations=50", 9, None, seed=3), 9))
    infos = parse_kata_line(stream_line(engine, "kata-analyze 10 minmoves 30"), 9)["infos"]
    assert len(infos) >= 30 and any(i["visits"] == 0 for i in infos)
    assert len(parse_kata_line(stream_line(engine, "kata-analyze 10 maxmoves 2"), 9)["infos"]) == 2
    banned = parse_kata_line(stream_line(engine, "kata-analyze 10 minmoves 5"), 9)["infos"][0]["move"]
    avoided = parse_kata_line(stream_line(engine, f"kata-analyze 10 avoid b {banned},A1 1"), 9)["infos"]
    assert banned not in [i["move"] for i in avoided]
    allowed = parse_kata_line(stream_line(engine, "kata-analyze 10 allow b C3,G7 1 minmoves 5"), 9)["infos"]
    assert {i["move"] for i in allowed} <= {"C3", "G7"}


@pytest.mark.parametrize("args", [("ownershipStdev", "true"), ("ownership", "yes"), ("allow", "b", "C3", "1",
                                                                                      "avoid", "b", "D4", "1"),
                                  ("avoid", "b", "C3", "0"), ("minmoves", "-1")])
def test_bad_or_unsupported_options_are_refused(args):
    with pytest.raises(GTPCommandError):
        parse_analyze_args(args, 9)


def test_identical_lines_are_not_printed_again(policy_value):
    """A policy net's judgement does not change while it 'ponders': one line, not one per interval."""
    written = []
    engine = GTPEngine(make_agent(f"policy:ckpt={policy_value}", 9, None), 9)
    stream = engine.analyze(parse_command("kata-analyze 1"), written.append)
    stream.start()
    for _ in range(600):
        if written:
            break
        stream._done.wait(0.05)
    stream._done.wait(0.3)  # 30 more intervals
    stream.stop()
    assert len(written) == 1
    parse_kata_line(written[0].strip(), 9)


def test_pondering_grows_beyond_the_move_budget_and_time():
    """A move's tree of 1,000 nodes holds about 25 visits on 9x9 and `time` is 10 ms; pondering goes on."""
    agent = MCTSAgent(seconds_per_move=0.01, node_budget=1000)
    agent.select_move(GTPEngine(agent, 9).state)
    assert agent.last_result.reason in ("full", "time") and agent.search.root_visits() < 200
    stream = GTPEngine(agent, 9).analyze(parse_command("lz-analyze 5"), lambda text: None)
    stream.start()
    for _ in range(600):
        if sum(i.visits for i in agent.analysis()) > 2000:
            break
        stream._done.wait(0.05)
    stream.stop()
    assert sum(i.visits for i in agent.analysis()) > 2000
    assert agent.search.config.node_budget > 1000


# ----------------------------------------------------------------- genmove_analyze over the server
@pytest.mark.parametrize("name, kata", [("kata-genmove_analyze", True), ("lz-genmove_analyze", False)])
def test_genmove_analyze_prints_info_then_play(name, kata):
    session = PipeSession(make_agent("mcts:simulations=400", 9, None, seed=1))
    session.send(f"3 {name} b 1")
    text = session.read_until(r"play \S+\n\n", timeout=60)
    head, *lines = text.rstrip("\n").split("\n")
    assert head == "=3" and lines[-1].startswith("play ")
    infos = lines[:-1]
    assert infos, "at least the final analysis line"
    for line in infos:
        (parse_kata_line if kata else parse_lz_line)(line, 9)
    move = lines[-1].split()[1]
    session.send("4 list_stones b")
    assert session.read_until(r"\n\n") == f"=4 {move if move != 'pass' else ''}".rstrip() + "\n\n"
    session.close()


# ----------------------------------------------------------------- rules and other commands
@pytest.mark.parametrize("text, ko, scoring, suicide", [
    ("tromp-taylor", "positional", "area", True), ("chinese", "simple", "area", False),
    ("chinese-ogs", "positional", "area", False), ("aga", "situational", "area", False),
    ("new-zealand", "situational", "area", True),
    ('{"ko":"SITUATIONAL","scoring":"TERRITORY","suicide":false}', "situational", "territory", False),
])
def test_kata_set_rules_maps_onto_rules(text, ko, scoring, suicide):
    engine = GTPEngine(RandomAgent(0), 9)
    engine.handle(parse_command("komi 6"))
    ok, _ = engine.handle(parse_command(f"kata-set-rules {text}"))
    assert ok and (engine.rules.ko, engine.rules.scoring, engine.rules.suicide, engine.rules.komi) == \
        (ko, scoring, suicide, 6.0)
    assert engine.state.rules == engine.rules
    import json
    got = json.loads(engine.handle(parse_command("kata-get-rules"))[1])
    assert got["ko"].lower() == ko and got["scoring"].lower() == scoring and got["suicide"] is suicide
    assert got["tax"] == "NONE" and got["hasButton"] is False and got["whiteHandicapBonus"] == "0"


@pytest.mark.parametrize("text", ["japanese", "korean", "stone-scoring", "aga-button", "nonsense",
                                  '{"ko":"SUPER"}', '{"tax":"ALL"}', '{"ko":"SIMPLE"', '{"colour":"x"}'])
def test_kata_set_rules_refuses_what_rlgo_does_not_play(text):
    engine = GTPEngine(RandomAgent(0), 9)
    before = engine.rules
    ok, message = engine.handle(parse_command(f"kata-set-rules {text}"))
    assert not ok and message and engine.rules == before


def test_handicap_bonus_refused_in_a_handicap_game():
    engine = GTPEngine(RandomAgent(0), 9)
    engine.handle(parse_command("fixed_handicap 2"))
    assert not engine.handle(parse_command("kata-set-rules chinese"))[0]
    assert engine.handle(parse_command("kata-set-rules tromp-taylor"))[0]


def test_kgs_rules_and_game_over():
    engine = GTPEngine(RandomAgent(0), 9)
    assert engine.handle(parse_command("kgs-rules chinese")) == (True, "")
    assert engine.rules.ko == "positional"  # KataGo maps KGS chinese to chinese-kgs
    assert engine.handle(parse_command("kgs-rules new_zealand"))[0] and engine.rules.ko == "situational"
    assert not engine.handle(parse_command("kgs-rules japanese"))[0]  # territory with seki tax
    assert not engine.handle(parse_command("kgs-rules go"))[0]
    assert engine.handle(parse_command("kgs-game_over")) == (True, "")
    names = engine.handle(parse_command("list_commands"))[1].split("\n")
    for name in ("kata-genmove_analyze", "lz-genmove_analyze", "kata-set-rules", "kata-get-rules", "kgs-rules",
                 "kgs-game_over", "kata-raw-nn"):
        assert name in names


def test_kata_raw_nn_prints_the_heads_of_the_network(four_heads, policy_value):
    engine = searched(GTPEngine(make_agent(f"policy:ckpt={four_heads}", 9, None), 9), moves=("E5",))
    blocks = parse_raw_nn(engine.handle(parse_command("kata-raw-nn all"))[1], 9)
    assert [b["symmetry"] for b in blocks] == list(range(8))
    for block in blocks:
        legal = [p for p in block["policy"] if not math.isnan(p)]
        assert math.isnan(block["policy"][coords.from_gtp("E5", 9)])  # occupied
        assert sum(legal) + block["policyPass"] == pytest.approx(1, abs=1e-4)
        assert block["whiteWin"] + block["whiteLoss"] == pytest.approx(1)
        assert "whiteLead" in block and len(block["whiteOwnership"]) == 81
    no_aux = searched(GTPEngine(make_agent(f"policy:ckpt={policy_value}", 9, None), 9), moves=("E5",))
    block = parse_raw_nn(no_aux.handle(parse_command("kata-raw-nn 3"))[1], 9)[0]
    assert "whiteLead" not in block and "whiteOwnership" not in block and "whiteWin" in block
    assert not GTPEngine(RandomAgent(0), 9).handle(parse_command("kata-raw-nn 0"))[0]
    assert not engine.handle(parse_command("kata-raw-nn 8"))[0]


def test_symmetry_of_raw_nn_maps_back_to_the_board(four_heads):
    """Evaluating in symmetry k and mapping back equals evaluating the transformed position."""
    from rlgo.go.symmetry import apply_point
    agent = make_agent(f"policy:ckpt={four_heads}", 9, None)
    net = agent.networks()[0]
    engine = searched(GTPEngine(agent, 9), moves=("C3",))
    k = 1
    mapped = estimate([net], [engine.state], symmetry=k, fill=False)[0]
    turned = GTPEngine(agent, 9)
    turned.state.play(apply_point(coords.from_gtp("C3", 9), k, 9), BLACK)
    direct = estimate([net], [turned.state], fill=False)[0]
    for p in range(81):
        assert mapped.policy[p] == pytest.approx(direct.policy[apply_point(p, k, 9)], abs=1e-5)
        assert mapped.ownership[p] == pytest.approx(direct.ownership[apply_point(p, k, 9)], abs=1e-5)
    assert mapped.winrate == pytest.approx(direct.winrate, abs=1e-5)


# ----------------------------------------------------------------- agents that do not search
def test_policy_agent_win_rates_are_its_value_head_after_each_move(policy_value):
    policy = load_policy(policy_value, "cpu", 9)
    agent = PolicyAgent(policy)
    state = searched(GTPEngine(agent, 9)).state
    agent.ponder(state)
    infos = agent.analysis()
    assert len(infos) == 10 and all(i.visits == 0 for i in infos)
    assert [i.prior for i in infos] == sorted((i.prior for i in infos), reverse=True)
    for info in infos:
        child = state.copy()
        child.play(info.move)
        with torch.inference_mode():
            from rlgo.go.features import encode
            value = policy.model(torch.from_numpy(encode(child, "agz")[None]))["value"].item()
        assert info.winrate == pytest.approx(1 - (value + 1) / 2, abs=1e-5)


def test_random_agent_analyses_every_move_it_may_play():
    agent = RandomAgent(0)
    state = searched(GTPEngine(agent, 9)).state
    agent.ponder(state)
    infos = agent.analysis()
    assert len(infos) == 79 and all(i.prior == pytest.approx(1 / 79) for i in infos)
    assert all(0 <= i.winrate <= 1 and i.score_stdev is not None for i in infos)
