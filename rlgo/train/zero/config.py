"""ZeroConfig: every setting of an AlphaGo Zero run (frozen; stored as config.json in the run folder)."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Literal

from rlgo.go import coords, features
from rlgo.go.rules import Rules, rules_from_name
from rlgo.nn.model import NetConfig
from rlgo.renames import migrate
from rlgo.search.config import ROOTS
from rlgo.train.common import OptimConfig, TrainError

GATE_RULES = ("sprt", "fixed")


_FLAT_NET = {"backbone": "backbone", "blocks": "blocks", "width": "width", "feature_set": "feature_set"}
"""config.json keys of runs before ZeroConfig.net -> NetConfig fields."""


class ZeroConfigError(TrainError):
    """A ZeroConfig field with a value the loop cannot use, or a run folder that does not match."""


@dataclass(frozen=True)
class ZeroConfig:
    """An AlphaGo Zero run: board, network, self-play search, replay window, training, gating."""

    out: str
    """Run folder (config.json, state.json, best.json, checkpoints/, buffer/, sgf/, metrics.csv)."""
    size: int = 9
    """Board size N."""
    rules: str = "chinese"
    """Rules preset (rlgo.go.rules.PRESETS); games are scored by area, so territory rules are refused."""
    komi: float | None = None
    """Komi (None: the preset's)."""
    komi_spread: float = 0.0
    """Self-play games draw komi uniformly from the half points within komi +- this, so that a network with
    komi among its inputs (feature set 'extended') learns what komi does; matches use komi itself."""
    komi_wide: float = 0.0
    """The spread of komi in a `komi_wide_share` of self-play games instead of `komi_spread` (KataGo's occasional
    big komi deviations), so that the value and score heads learn komi far from the usual one too."""
    komi_wide_share: float = 0.0
    """Share of self-play games whose komi is drawn within komi +- komi_wide."""
    rescore_share: float = 0.0
    """Share of the sampled positions of counted games that train under another komi, drawn from the half points
    within komi +- max(komi_wide, komi_spread): the count is the same, so the score target moves with komi and the
    outcome follows its sign (ReplayBuffer.sample, rescore)."""
    # ------------------------------------------------------------- network
    net: NetConfig = NetConfig(blocks=4, width=32)
    """The network (board size from `size`, heads from `aux_heads`)."""
    aux_heads: bool = False
    """KataGo-style auxiliary ownership and score heads, trained on the final position of scored games."""
    init: str = ""
    """Checkpoint whose weights start generation 0, of any board size the network allows, e.g. an SL
    network (rlgo.nn.transfer: auxiliary heads it lacks start fresh, a prefix feature set is widened).
    Empty: random weights."""
    # ------------------------------------------------------------- self-play
    games_per_generation: int = 200
    """Self-play games by the best network per generation."""
    simulations: int = 200
    """Simulations of a full search (recorded as a training target)."""
    fast_simulations: int = 0
    """Playout cap randomization (KataGo): simulations of a fast, unrecorded search (0: every search is full)."""
    full_search_prob: float = 0.25
    """With fast_simulations > 0: share of moves searched with the full budget and recorded."""
    root: Literal[ROOTS] = "puct"
    """Root policy of the search: 'puct' (visit counts as the policy target, Dirichlet noise) or 'gumbel'
    (Gumbel-top-k + sequential halving, the completed-Q improved policy as the target; rlgo.search.gumbel)."""
    gumbel_m: int = 16
    """Actions the Gumbel root samples and halves over the simulations."""
    c_puct: float = 1.5
    """PUCT exploration constant."""
    fpu: float = 0.25
    """First-play urgency reduction (an unvisited child's Q = parent Q - fpu)."""
    leaves_per_game: int = 4
    """Leaves gathered per tree per step (virtual loss); the network batch is about this times parallel_games."""
    parallel_games: int = 64
    """Games stepped together by one worker, each with its own tree."""
    dirichlet_alpha: float = 0.0
    """Root noise concentration (0: 0.03 * 361 / N**2, AlphaGo Zero's scaled to the board)."""
    dirichlet_epsilon: float = 0.25
    """Weight of the root noise in full searches."""
    temperature_moves: int = -1
    """Moves chosen in proportion to visits at the start of a game, argmax after (-1: N*N // 8)."""
    resign_threshold: float = -0.9
    """Initial resignation value: resign when max(root value, best child value) falls below it (-1: never)."""
    resign_playthrough: float = 0.1
    """Share of games with resignation disabled, played out to measure false-positive resignations; they are
    also the finished games that the ownership and score heads learn from."""
    resign_fp_target: float = 0.05
    """The threshold is adjusted each generation to keep false-positive resignations under this share."""
    move_cap: int = 0
    """Move cap of a game, then scored as it stands (0: 2 * N * N)."""
    pass_guard: bool = True
    """Never pass while the area count says the opponent would win by passing back (the search's
    shallow look at the pass-pass ending makes early networks throw games away otherwise)."""
    workers: int = 0
    """Self-play / gating processes (0: the number of cores; 1: in the main process)."""
    ray: str = ""
    """Run self-play and gate tasks on Ray (pip install "rlgo[ray]"; rlgo.train.zero.raypool): 'local'
    starts a Ray instance here, an address ('auto', 'HOST:PORT') joins a cluster; '': local worker processes."""
    inference_server: bool = False
    """Workers evaluate through one batched inference process on `device` (rlgo.nn.server) instead of
    each loading the networks."""
    int8_play: bool = False
    """Self-play and match games play an int8 copy of each network (checkpoints/gen-*-int8.pt: ONNX Runtime,
    calibrated on positions of the replay buffer; rlgo.nn.compress.quantize), several times the simulations
    per CPU second of fp32; training stays fp32. A network is played in fp32 while the buffer is empty."""
    # ------------------------------------------------------------- replay and training
    window_games: int = 2000
    """Replay buffer: the last this many games are kept and sampled."""
    steps_per_generation: int = 200
    """Optimizer steps between candidates."""
    window_scaled_steps: bool = False
    """Train steps_per_generation x (games in the window / window_games) steps while the window fills, so a
    small window (a new run, or a resumed compact state whose buffer stayed behind) is not overfitted."""
    batch_size: int = 256
    """Positions per optimizer step (uniform from the window, random symmetry each)."""
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=0.02, schedule="constant", warmup=0.0))
    """Optimizer and LR schedule (progress = step / (generations * steps_per_generation))."""
    value_weight: float = 1.0
    """Weight of the value MSE (policy cross-entropy has weight 1; L2 is the optimizer's weight decay)."""
    aux_weight: float = 0.5
    """Weight of the ownership MSE and of the score loss when aux_heads."""
    # ------------------------------------------------------------- gating and rating
    gating: bool = True
    """AlphaGo Zero gating (candidate replaces best only if it wins); False: AlphaZero continuous replacement."""
    gate_games: int = 40
    """Most games of a gate match (with gating off: the rating match against the previous network)."""
    gate_rule: Literal[GATE_RULES] = "sprt"
    """'sprt' (stop early on an SPRT decision, H1 = gate_threshold) or 'fixed' (play all gate_games)."""
    gate_threshold: float = 0.55
    """Score the candidate needs against the best to replace it."""
    gate_simulations: int = 0
    """Simulations per move in gate games (0: simulations)."""
    gate_temperature_moves: int = -1
    """Opening moves of gate games drawn in proportion to visits, for variety (-1: N*N // 20 + 1)."""
    # ------------------------------------------------------------- run
    generations: int = 20
    """Stop after this many generations (candidates)."""
    hours: float = 0.0
    """Also stop after this many hours of this process (0: no limit); resume continues."""
    sgf_per_generation: int = 2
    """Self-play games saved as SGF per generation."""
    seed: int = 0
    """Seed of network init, self-play, sampling and gating."""
    device: str = "auto"
    """Torch device of training and of the inference server ('auto': cuda when available, else cpu); self-play
    workers without the server evaluate on the CPU."""
    threads: int = 0
    """Torch threads of the main process (0: torch's default); workers use 1 each."""
    ddp: int = 1
    """Training processes (torch.distributed DDP, rlgo.train.distributed); 1: train in the main process."""

    def __post_init__(self):
        def bad(name: str, rule: str):
            raise ZeroConfigError(f"ZeroConfig.{name} {rule}, got {getattr(self, name)!r}")

        try:
            coords.check_size(self.size)
            rules = self.game_rules()
            features.feature_planes(self.net.feature_set)
        except (ValueError, TypeError) as e:
            raise ZeroConfigError(str(e)) from None
        if rules.scoring != "area":
            bad("rules", "must score by area (self-play games are counted Tromp-Taylor style)")
        for name in ("games_per_generation", "simulations", "leaves_per_game", "parallel_games",
                     "window_games", "steps_per_generation", "batch_size", "gate_games", "generations", "ddp"):
            if not getattr(self, name) > 0:
                bad(name, "must be > 0")
        for name in ("fast_simulations", "move_cap", "workers", "gate_simulations", "sgf_per_generation", "threads",
                     "komi_spread", "komi_wide"):
            if not getattr(self, name) >= 0:
                bad(name, "must be >= 0")
        for name in ("full_search_prob", "dirichlet_epsilon", "resign_playthrough", "resign_fp_target",
                     "komi_wide_share", "rescore_share"):
            if not 0 <= getattr(self, name) <= 1:
                bad(name, "must be in [0, 1]")
        if self.fast_simulations and not 0 < self.full_search_prob:
            bad("full_search_prob", "must be > 0 with playout cap randomization")
        if self.window_games < self.games_per_generation:
            bad("window_games", f"must hold at least one generation ({self.games_per_generation} games)")
        if self.fast_simulations >= self.simulations:
            bad("fast_simulations", f"must be below simulations ({self.simulations})")
        if not -1 <= self.resign_threshold <= 0:
            bad("resign_threshold", "must be in [-1, 0]")
        if not 0.5 < self.gate_threshold < 1:
            bad("gate_threshold", "must be in (0.5, 1)")
        if self.root not in ROOTS:
            bad("root", f"must be one of {', '.join(ROOTS)}")
        if not self.gumbel_m >= 1:
            bad("gumbel_m", "must be >= 1")
        if self.gate_rule not in GATE_RULES:
            bad("gate_rule", f"must be one of {', '.join(GATE_RULES)}")
        if self.dirichlet_alpha < 0 or self.value_weight < 0 or self.aux_weight < 0 or self.hours < 0:
            raise ZeroConfigError("dirichlet_alpha, value_weight, aux_weight and hours must be >= 0")
        if self.int8_play and self.inference_server:
            raise ZeroConfigError("int8_play and inference_server do not combine: int8 networks run on the "
                                  "workers' CPUs, the server runs fp32 networks on `device`")
        if self.ray and self.inference_server:
            raise ZeroConfigError("ray and inference_server do not combine: the server serves the worker "
                                  "processes of this machine, Ray workers load their own networks")
        if self.temperature_moves < -1 or self.gate_temperature_moves < -1:
            raise ZeroConfigError("temperature_moves and gate_temperature_moves must be >= -1 (-1: auto)")

    # ------------------------------------------------------------- derived settings
    def game_rules(self) -> Rules:
        """The Rules of every game of the run."""
        rules = rules_from_name(self.rules)
        return rules if self.komi is None else rules.with_komi(self.komi)

    @property
    def alpha(self) -> float:
        """Dirichlet concentration in use."""
        return self.dirichlet_alpha or 0.03 * 361 / self.size ** 2

    @property
    def effective_temperature_moves(self) -> int:
        """Moves played with temperature 1 in self-play."""
        return self.size * self.size // 8 if self.temperature_moves < 0 else self.temperature_moves

    @property
    def effective_gate_temperature_moves(self) -> int:
        """Moves played with temperature 1 in gate games."""
        return self.size * self.size // 20 + 1 if self.gate_temperature_moves < 0 else self.gate_temperature_moves

    @property
    def effective_move_cap(self) -> int:
        """Moves after which a game is scored as it stands."""
        return self.move_cap or 2 * self.size * self.size

    def training_steps(self, window_games: int) -> int:
        """Optimizer steps for the next candidate when the window holds `window_games` games."""
        if not self.window_scaled_steps:
            return self.steps_per_generation
        return max(1, round(self.steps_per_generation * min(1.0, window_games / self.window_games)))

    @property
    def worker_count(self) -> int:
        """Processes for self-play and gating (1 = in the main process)."""
        return self.workers or os.cpu_count() or 1

    def net_config(self) -> NetConfig:
        """The network of the run: policy + value (+ ownership + score with aux_heads)."""
        heads = ("policy", "value", "ownership", "score") if self.aux_heads else ("policy", "value")
        return self.net.for_data(self.size, heads)

    # ------------------------------------------------------------- (de)serialisation
    def to_dict(self) -> dict:
        """Plain JSON-ready dict (tuples as lists)."""
        d = dataclasses.asdict(self)
        d["optim"]["step_at"] = list(self.optim.step_at)
        d["net"] = self.net.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ZeroConfig":
        """Inverse of to_dict (also of the flat network keys of earlier runs, and of keys renamed since, read
        under their new names); unknown keys raise ZeroConfigError."""
        d = migrate(d, "ZeroConfig", quiet=True)
        flat = {new: d.pop(old) for old, new in _FLAT_NET.items() if old in d}
        if flat:
            d["net"] = {**d.get("net", {}), **flat}
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - valid)
        if unknown:
            raise ZeroConfigError(f"unknown ZeroConfig keys {unknown}")
        if isinstance(d.get("net"), dict):
            try:
                d["net"] = dataclasses.replace(cls.net, **d["net"])
            except (TypeError, ValueError) as e:
                raise ZeroConfigError(f"bad net settings: {e}") from None
        if isinstance(d.get("optim"), dict):
            optim = dict(d["optim"])
            optim["step_at"] = tuple(optim.get("step_at", OptimConfig.step_at))
            try:
                d["optim"] = OptimConfig(**optim)
            except TypeError as e:
                raise ZeroConfigError(f"bad optim settings: {e}") from None
        return cls(**d)
