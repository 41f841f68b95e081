"""Search settings (frozen dataclass) and the errors the search raises before it starts."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

SELECTIONS = ("puct", "uct")
ROOTS = ("puct", "gumbel")


class SearchError(ValueError):
    """Base class of the search's input errors."""


class SearchConfigError(SearchError):
    """A SearchConfig field has a value the search cannot use."""


class BoardSizeError(SearchError):
    """A position's board size differs from the size a tree or evaluator was made for."""


@dataclass(frozen=True)
class SearchConfig:
    """How a Monte-Carlo tree search runs (defaults: AlphaGo Zero-style PUCT); what an agent makes of its
    searches (opening randomness, resignation) is agents.mcts_agent.PlayPolicy."""

    simulations: int = 800
    """Simulations per move (one simulation = one leaf evaluation or one terminal back-up)."""
    selection: str = "puct"
    """'puct' (AlphaGo Zero: Q + c_puct * P * sqrt(N) / (1 + n)) or 'uct' (UCB1, rollout search)."""
    root: str = "puct"
    """Root policy: 'puct' (the selection rule, with Dirichlet noise when dirichlet_epsilon > 0) or
    'gumbel' (Gumbel-top-k + sequential halving at the root, improved-policy selection below it;
    rlgo.search.gumbel). Gumbel needs selection 'puct' and ignores the Dirichlet noise."""
    gumbel_m: int = 16
    """Gumbel root: actions sampled without replacement (m) and halved over the budget."""
    gumbel_scale: float = 1.0
    """Gumbel root: scale of the Gumbel noise (0: the m actions of highest prior, deterministic)."""
    c_visit: float = 50.0
    """Gumbel sigma(q) = (c_visit + max visits) * c_scale * q, q rescaled to [0, 1] (mctx maxvisit_init)."""
    c_scale: float = 0.1
    """Gumbel sigma(q) scale (mctx value_scale)."""
    c_puct: float = 1.5
    """Exploration constant of PUCT (values in [-1, 1])."""
    c_uct: float = 1.0
    """Exploration constant of UCB1: Q + c_uct * sqrt(ln N / n) (values in [-1, 1])."""
    fpu: float = 0.25
    """PUCT first-play urgency reduction: an unvisited child's Q is the parent's Q minus this."""
    batch_size: int = 8
    """Leaves gathered (with virtual loss) per tree and search step (one evaluator call per step for all trees)."""
    node_budget: int = 1_000_000
    """Tree nodes preallocated; the search stops early (and answers) when the tree is full."""
    expand_visits: int = 1
    """Visits a leaf needs before it gets children (1 = expand at its first evaluation)."""
    dirichlet_alpha: float = 0.03
    """Dirichlet concentration of the root noise (AlphaGo Zero: 0.03 on 19x19, ~0.1-0.3 on 9x9)."""
    dirichlet_epsilon: float = 0.0
    """Weight of the Dirichlet noise in the root priors (0 = no noise; 0.25 for self-play)."""
    rave: float = 0.0
    """UCT-RAVE equivalence parameter k (0 = off): Q is blended with the all-moves-as-first value
    by beta = sqrt(k / (3n + k)); needs selection 'uct' and a rollout policy that reports its moves."""
    prune_eye_fills: bool = False
    """Leave moves that fill one's own single-point eye out of the tree (rollout search)."""
    seed: int = 0
    """Seed of the search's random choices (noise, child order, temperature)."""

    def __post_init__(self):
        checks = (
            ("simulations", self.simulations > 0, "must be > 0"),
            ("selection", self.selection in SELECTIONS, f"must be one of {', '.join(SELECTIONS)}"),
            ("root", self.root in ROOTS, f"must be one of {', '.join(ROOTS)}"),
            ("gumbel_m", self.gumbel_m >= 1, "must be >= 1"),
            ("gumbel_scale", self.gumbel_scale >= 0, "must be >= 0"),
            ("c_visit", self.c_visit >= 0, "must be >= 0"),
            ("c_scale", self.c_scale > 0, "must be > 0"),
            ("c_puct", self.c_puct >= 0, "must be >= 0"),
            ("c_uct", self.c_uct >= 0, "must be >= 0"),
            ("fpu", -2 <= self.fpu <= 2, "must be in [-2, 2]"),
            ("batch_size", 1 <= self.batch_size <= 32767, "must be in 1..32767"),
            ("node_budget", self.node_budget >= 2, "must be >= 2"),
            ("expand_visits", self.expand_visits >= 1, "must be >= 1"),
            ("dirichlet_alpha", self.dirichlet_alpha > 0, "must be > 0"),
            ("dirichlet_epsilon", 0 <= self.dirichlet_epsilon <= 1, "must be in [0, 1]"),
            ("rave", self.rave >= 0, "must be >= 0"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise SearchConfigError(f"SearchConfig.{name} {rule}, got {getattr(self, name)!r}")
        if self.rave > 0 and self.selection != "uct":
            raise SearchConfigError(f"SearchConfig.rave {self.rave!r} needs selection 'uct', got {self.selection!r}")
        if self.root == "gumbel" and self.selection != "puct":
            raise SearchConfigError(f"SearchConfig.root 'gumbel' needs selection 'puct', got {self.selection!r}")
        if self.batch_size > self.node_budget:
            raise SearchConfigError(f"SearchConfig.batch_size {self.batch_size} exceeds node_budget "
                                    f"{self.node_budget}")

    def replace(self, **changes) -> "SearchConfig":
        """A copy with some fields changed (validated); unknown names raise SearchConfigError."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise SearchConfigError(f"unknown SearchConfig fields {sorted(unknown)}")
        return replace(self, **changes)
