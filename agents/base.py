"""The agent interface shared by play, GTP and tournaments."""
from __future__ import annotations

from dataclasses import dataclass, field

from agents.specs import SpecError
from rlgo.go.deadstones import dead_stones
from rlgo.go.state import GameState
from rlgo.search.mcts import may_pass


def pass_is_safe(state: GameState, seed: int = 0) -> bool:
    """Every agent's pass rule: rlgo.search.mcts.may_pass with the dead stones that seeded random rollouts
    find removed (as the referee of a game between engines counts)."""
    return may_pass(state, dead_stones(state, seed=seed))


@dataclass(frozen=True)
class MoveInfo:
    """One candidate of an agent's analysis."""

    move: int
    """Point index (N*N = pass)."""
    visits: int
    """Search visits (0 for agents that do not search)."""
    winrate: float
    """Win probability in [0, 1] for the side to move."""
    prior: float = 0.0
    """Policy prior in [0, 1]."""
    pv: list[int] = field(default_factory=list)
    """Principal variation starting with `move`."""
    score_lead: float | None = None
    """Expected final area margin in points for the side to move after this move (None: not estimated);
    from the search's statistics where the search keeps scores (rollouts)."""
    score_stdev: float | None = None
    """Standard deviation of that margin (None: not estimated, e.g. a network's score head)."""


class Agent:
    """Base class: override `select_move`; the rest has sensible defaults."""

    name = "agent"
    board_size: int | None = None
    """The one board size the agent plays (its network's); None: any size."""
    filters: tuple = ()
    """Move filters (rlgo.search.filters.MoveFilter) its searches and moves obey, set by `restrict`."""

    def reset(self) -> None:
        """Forget everything about the previous game."""

    def select_move(self, state: GameState) -> int:
        """A legal move for the side to move of `state` (point, N*N pass, or rlgo.go.coords.RESIGN)."""
        raise NotImplementedError

    def warm_up(self, state: GameState) -> None:
        """Pay one-time costs (JIT compiles, a first network call) on `state` before any clock runs; default: none."""

    def ponder(self, state: GameState, visits: int | None = None) -> None:
        """Search `state` without a move budget until `stop()` (GTP analysis), or until its root holds
        `visits` visits when given (the JSON analysis engine's maxVisits); default: no-op."""

    def restrict(self, filters: tuple = ()) -> None:
        """Obey move `filters` (the analysis commands' avoid / allow) in every later `ponder` and `select_move`
        until restricted again (`()`: no filters). Agents that search never explore a banned move."""
        self.filters = tuple(filters)

    def analysis(self) -> list[MoveInfo]:
        """Top candidates of the current or last search, best first (empty if the agent does not search).

        Safe to call from another thread while `select_move` or `ponder` runs (a snapshot).
        """
        return []

    def stop(self) -> None:
        """Ask a running `select_move` to answer now with its best move so far (thread-safe)."""

    def set_time(self, main_time: float, byo_yomi_time: float, byo_yomi_stones: int) -> None:
        """GTP time_settings (seconds; byo_yomi_time 0 means no byo-yomi)."""

    def time_left(self, color: int, seconds: float, stones: int) -> None:
        """GTP time_left for `color`."""

    def close(self) -> None:
        """Release processes or files held by the agent."""

    def networks(self) -> list:
        """The agent's networks (rlgo.nn.model.GoNet), first choice first; their heads back `estimate`."""
        return []

    def estimate(self, states: list[GameState], symmetry: int | None = None, fill: bool = True,
                 rollouts: int | None = None) -> list:
        """A static judgement (agents.estimates.Estimate) of each position for its side to move: the
        heads of `networks()`, `rollouts` random rollouts each for what they lack (none with `fill=False`)."""
        from agents.estimates import ROLLOUTS, estimate
        return estimate(self.networks(), states, symmetry, fill, rollouts or ROLLOUTS)


DEVICE_HELP = "torch device: auto (cuda when available, else cpu), cpu, cuda, cuda:1, mps (default auto)"
"""Help of the `device=` key of the network agents (the same default as every `--device` flag)."""


def torch_device(name: str) -> str:
    """The device a network agent's `device=` key names ('auto': cuda when available, else cpu)."""
    from rlgo.nn.evaluator import resolve_device
    return str(resolve_device(name))


def set_torch_threads(threads: int) -> None:
    """Torch CPU threads of the process for a network agent's `threads=` key (0: torch's default).

    One thread is fastest for the small batches of one game and does not crawl on a busy machine."""
    if threads < 0:
        raise SpecError(f"threads must be >= 0, got {threads!r}")
    if threads > 0:
        import torch
        torch.set_num_threads(threads)
