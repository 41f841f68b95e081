"""MCTSAgent: a tree search wired to an evaluator and a time policy (default: UCT-RAVE with rollouts).

Every search agent (mcts, zero, alphago) shares what happens around the search here: the time
budget, the pass rule with dead stones removed, and resignation after several bad moves in a row.
"""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass

from agents.base import Agent, MoveInfo, pass_is_safe
from agents.specs import register_agent
from rlgo.go.coords import RESIGN
from rlgo.go.state import GameState
from rlgo.search.config import SearchConfig
from rlgo.search.evaluator import Evaluator, RolloutEvaluator
from rlgo.search.mcts import MCTS, UNLIMITED
from rlgo.search.rollout import HeuristicRolloutPolicy
from rlgo.search.timecontrol import SAFETY_MARGIN, TimeControl



class PlayPolicyError(ValueError):
    """A PlayPolicy field with a value an agent cannot use."""


@dataclass(frozen=True)
class PlayPolicy:
    """What a search agent makes of its searches: opening randomness and resignation."""

    temperature_moves: int = 0
    """Game moves (from the start) chosen in proportion to visits (tau = 1); later moves take the most
    visited (the Gumbel root always plays its halving winner: its noise already varies the games)."""
    resign_winrate: float = 0.0
    """Resign when the win rate for the side to move (see MCTS.resign_value) stays below this for
    `resign_moves` moves in a row, each searched with >= resign_visits simulations (0 = never)."""
    resign_moves: int = 3
    """Consecutive own moves below resign_winrate before resigning (KataGo and Leela Zero use 3)."""
    resign_visits: int = 200
    """Root visits a search needs before its win rate counts towards resigning."""

    def __post_init__(self):
        for name, ok, rule in (("temperature_moves", self.temperature_moves >= 0, "must be >= 0"),
                               ("resign_winrate", 0 <= self.resign_winrate < 1, "must be in [0, 1)"),
                               ("resign_moves", self.resign_moves >= 1, "must be >= 1"),
                               ("resign_visits", self.resign_visits >= 0, "must be >= 0")):
            if not ok:
                raise PlayPolicyError(f"PlayPolicy.{name} {rule}, got {getattr(self, name)!r}")


PLAY_POLICY_FIELDS = frozenset(f.name for f in dataclasses.fields(PlayPolicy))

ROLLOUT_CONFIG = SearchConfig(simulations=8000, selection="uct", c_uct=0.3, rave=1000.0, batch_size=8, expand_visits=2,
                              prune_eye_fills=True)
"""Defaults for Monte-Carlo search with rollouts (the `rlgo play` opponent). UCT-RAVE won 10 of 11
games against plain UCT (c_uct 0.8) at 2000 simulations each (benchmarks/mcts_strength.py)."""
ROLLOUT_POLICY = PlayPolicy(resign_winrate=0.05)
"""Play policy of the rollout search: resign below a 5% win rate."""
DEFAULT_SECONDS = 1.5
"""Seconds per move of a plain `mcts` spec (no simulations= or time=): the clock alone limits it."""
WARM_UP_SIMULATIONS = 16
"""Simulations of the untimed search that compiles and loads everything before a timed game."""
PONDER_MEMORY_SHARE = 8
"""Pondering (GTP analysis) may grow each of the search's two tree slots (the tree and the re-rooting
spare) to 1/8 of the free memory; config.node_budget sizes the tree for one move only."""


def ponder_node_budget(bytes_per_node: int) -> int:
    """Nodes a pondering tree may hold: PONDER_MEMORY_SHARE of the free memory (int32 indices at most)."""
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        free = 1 << 30
    return int(min(free // PONDER_MEMORY_SHARE // bytes_per_node, 2**31 - 1))


class MCTSAgent(Agent):
    """Monte-Carlo tree search player for any board size.

    `config` (default ROLLOUT_CONFIG; keyword overrides such as simulations=2000 are applied on
    top), `evaluator` (default: rollouts that answer ataris, HeuristicRolloutPolicy, seeded with
    config.seed; they beat uniform rollouts 9-2 at equal simulations and cost the same),
    `seconds_per_move` (a time limit on top of the simulation budget; GTP time settings replace it),
    `pass_guard`: pass only while the count with dead stones removed favours us (agents.base.pass_is_safe).
    `policy` (default ROLLOUT_POLICY; overrides of its fields are taken from the keywords too): resigns
    when the win rate of policy.resign_moves searches in a row, each of at least policy.resign_visits
    simulations, is below policy.resign_winrate.
    """

    name = "mcts"

    def __init__(self, config: SearchConfig | None = None, evaluator: Evaluator | None = None,
                 seconds_per_move: float | None = None, safety_margin: float = SAFETY_MARGIN, pass_guard: bool = True,
                 policy: PlayPolicy | None = None, **overrides):
        play = {k: overrides.pop(k) for k in PLAY_POLICY_FIELDS & set(overrides)}
        self.policy = dataclasses.replace(policy or ROLLOUT_POLICY, **play)
        self.config = (config or ROLLOUT_CONFIG).replace(**overrides)
        self.evaluator = evaluator or RolloutEvaluator(HeuristicRolloutPolicy(seed=self.config.seed))
        self.clock = TimeControl(seconds_per_move, safety_margin)
        self.pass_guard = pass_guard
        self.search: MCTS | None = None
        self.last_result = None
        self._low_moves = 0  # own moves in a row searched below the resign threshold

    # ----------------------------------------------------------------- Agent
    def reset(self) -> None:
        if self.search is not None:
            self.search.reset()
        self.clock.reset()
        self._low_moves = 0

    def select_move(self, state: GameState) -> int:
        me = state.to_play
        pass_banned = any(f.bans(state.pass_move, me) for f in self.filters)
        if state.passes == 1 and not pass_banned and self._may_pass(state):
            return state.pass_move  # the opponent passed and the count already favours us
        search = self._search_for(state)
        start = time.perf_counter()
        budget = self.clock.budget(me, state.empty_points)
        self.last_result = search.search(state, seconds=budget, filters=self.filters)
        self.clock.spent(me, time.perf_counter() - start)
        if self._should_resign(search):
            return RESIGN
        move = search.choose_move(proportional=state.move_number < self.policy.temperature_moves)
        if move == state.pass_move and not self._may_pass(state):
            move = search.choose_move(allow_pass=False)  # passing would let the opponent end it on the count
        return move

    def warm_up(self, state: GameState) -> None:
        self._search_for(state).search(state, simulations=WARM_UP_SIMULATIONS)
        self.search.reset()

    def ponder(self, state: GameState, visits: int | None = None) -> None:
        """Search until stop() (or until the root holds `visits` visits), with no time limit, on a tree as
        large as memory allows (not the move's budget)."""
        search = self._search_for(state)
        budget = ponder_node_budget(search.bytes_per_node())
        if search.config.node_budget < budget:
            self.search = search = MCTS(state.size, self.evaluator, search.config.replace(node_budget=budget))
        if visits is None:
            search.search(state, simulations=UNLIMITED, filters=self.filters)
            return
        search.set_root(state, filters=self.filters)
        if search.root_visits() < visits:
            search.search(state, simulations=visits - search.root_visits(), filters=self.filters)

    def analysis(self) -> list[MoveInfo]:
        if self.search is None:
            return []
        every = self.search.size ** 2 + 1  # all visited moves, so visit totals are the real simulations
        return [MoveInfo(c.move, c.visits, c.winrate, c.prior, c.pv, c.score_mean, c.score_stdev)
                for c in self.search.candidates(limit=every)]

    def stop(self) -> None:
        if self.search is not None:
            self.search.stop()

    def set_time(self, main_time: float, byo_yomi_time: float, byo_yomi_stones: int) -> None:
        self.clock.set_time(main_time, byo_yomi_time, byo_yomi_stones)

    def time_left(self, color: int, seconds: float, stones: int) -> None:
        self.clock.time_left(color, seconds, stones)

    # ----------------------------------------------------------------- helpers
    def _search_for(self, state: GameState) -> MCTS:
        if self.search is None or self.search.size != state.size:
            self.search = MCTS(state.size, self.evaluator, self.config)
        return self.search

    def _may_pass(self, state: GameState) -> bool:
        """The pass rule (agents.base.pass_is_safe) unless pass_guard is off; select_move still passes when
        nothing else is in the tree."""
        return not self.pass_guard or pass_is_safe(state, self.config.seed)

    def _should_resign(self, search: MCTS) -> bool:
        """Count this search towards resigning; True once policy.resign_moves searches in a row were lost."""
        cfg = self.policy
        winrate = (search.resign_value() + 1) / 2
        low = winrate < cfg.resign_winrate and search.root_visits() >= cfg.resign_visits
        self._low_moves = self._low_moves + 1 if low else 0
        return self._low_moves >= cfg.resign_moves


def _from_spec(size: int, rules, simulations: int | None = None, time: float | None = None, seed: int = 0,
               resign: float | None = None) -> MCTSAgent:
    """Spec factory: `mcts` (DEFAULT_SECONDS a move), `mcts:simulations=2000`, `mcts:time=2` (then the clock
    alone limits the search)."""
    changes = {"seed": seed}
    if simulations is None and time is None:
        time = DEFAULT_SECONDS
    changes["simulations"] = simulations if simulations is not None else UNLIMITED
    if resign is not None:
        changes["resign_winrate"] = resign
    return MCTSAgent(seconds_per_move=time, **changes)


register_agent("mcts", _from_spec, {
    "simulations": (int, f"simulations per move (default: none, {DEFAULT_SECONDS} s per move)"),
    "time": (float, f"seconds per move (default {DEFAULT_SECONDS}; without simulations= the clock alone limits "
                    "the search)"),
    "seed": (int, "random seed"),
    "resign": (float, f"resign below this win rate for {ROLLOUT_POLICY.resign_moves} moves in a row "
                      f"(default {ROLLOUT_POLICY.resign_winrate}; 0 = never)"),
}, help="Monte-Carlo tree search (UCT-RAVE) with random rollouts that answer ataris")
