"""ZeroAgent: PUCT (or Gumbel-root) tree search guided by a policy + value network checkpoint, no rollouts."""
from __future__ import annotations

from pathlib import Path

from agents.base import DEVICE_HELP, set_torch_threads, torch_device
from agents.mcts_agent import MCTSAgent, PlayPolicy
from agents.specs import SpecError, register_agent
from rlgo.go.rules import Rules
from rlgo.nn.backend import OnnxNet
from rlgo.nn.checkpoint import load_checkpoint
from rlgo.nn.evaluator import TorchEvaluator
from rlgo.search.config import ROOTS, SearchConfig
from rlgo.search.evaluator import Evaluator, NetworkEvaluator
from rlgo.search.mcts import UNLIMITED
from rlgo.train.zero.storage import BEST, read_best

ZERO_CONFIG = SearchConfig(simulations=200, selection="puct", c_puct=1.5, fpu=0.25, batch_size=8,
                           prune_eye_fills=True)
"""Defaults of the zero agent: PUCT over network priors, network values at the leaves, no own-eye fills."""
THREAD_LEAVES = 12
"""Leaves a search step gathers per network thread when threads > 1 (one thread: ZERO_CONFIG.batch_size):
with the batch cut among the threads (rlgo.nn.backend.OnnxNet), 2 threads x 12 ran 1.5x the simulations
a move of one thread x 8 on a 2-core machine, 2 x 8 1.4x."""
ZERO_POLICY = PlayPolicy(resign_winrate=0.02)
"""Play policy of the zero agent: resign below a 2% win rate."""


class ZeroAgent(MCTSAgent):
    """MCTS on the priors and values of a policy + value network (`evaluator`, see `from_checkpoint`).

    `simulations` per move (None: unlimited, the clock decides), `seconds_per_move`, `pass_guard`
    (the pass rule of MCTSAgent), other SearchConfig or PlayPolicy fields as keywords (root='gumbel',
    temperature_moves=...).
    """

    name = "zero"

    def __init__(self, evaluator: Evaluator, simulations: int | None = 200, seconds_per_move: float | None = None,
                 pass_guard: bool = True, **overrides):
        overrides["simulations"] = UNLIMITED if simulations is None else simulations
        super().__init__(ZERO_CONFIG, evaluator, seconds_per_move, pass_guard=pass_guard, policy=ZERO_POLICY,
                         **overrides)

    @classmethod
    def from_checkpoint(cls, checkpoint: str | Path, size: int | None = None, device: str = "cpu",
                        symmetries: bool = False, backend: str = "torch", **kwargs) -> "ZeroAgent":
        """The agent of an rlgo checkpoint with policy and value heads (`size`: required board size, None: any;
        `symmetries`: average the net over the 8 board symmetries)."""
        model, meta = load_checkpoint(checkpoint, expect_board_size=size, map_location=device, backend=backend)
        net = TorchEvaluator(model, device=device, symmetries=symmetries)
        agent = cls(NetworkEvaluator(net, feature_set=meta.feature_set, board_size=meta.board_size), **kwargs)
        agent.name = f"zero-{Path(checkpoint).stem}"
        agent.board_size = meta.board_size
        return agent

    def networks(self) -> list:
        model = getattr(getattr(self.evaluator, "net", None), "model", None)  # a TorchEvaluator's network
        return [] if model is None else [model]


def _best_of_run(run: Path) -> Path:
    """The best network of a `rlgo train zero` run folder (its best.json)."""
    if not (run / BEST).is_file():
        raise SpecError(f"zero: {str(run)!r} is a folder without {BEST}; give a checkpoint file or a zero run folder")
    try:
        return read_best(run)[1]
    except (ValueError, KeyError, TypeError) as exc:
        raise SpecError(f"zero: damaged {str(run / BEST)!r}: {exc}") from None


def _from_spec(size: int, rules: Rules, ckpt: str | None = None, simulations: int | None = None,
               time: float | None = None, seed: int = 0, symmetries: bool = False, device: str = "auto",
               pass_guard: bool = True, temperature_moves: int = 0, root: str = "puct", m: int = ZERO_CONFIG.gumbel_m,
               threads: int = 1, backend: str = "auto") -> ZeroAgent:
    """Spec factory: `zero:ckpt=PATH,simulations=200`, `zero:ckpt=PATH,time=2` (then the clock alone limits the search)."""
    if not ckpt:
        raise SpecError("zero: needs a checkpoint or a zero run folder, e.g. zero:ckpt=runs/zero9,simulations=200")
    if Path(ckpt).is_dir():
        ckpt = str(_best_of_run(Path(ckpt)))
    if simulations is not None and simulations <= 0:
        raise SpecError(f"zero: simulations must be > 0, got {simulations}")
    if simulations is None and time is None:
        simulations = ZERO_CONFIG.simulations
    if temperature_moves < 0:
        raise SpecError(f"zero: temperature_moves must be >= 0, got {temperature_moves}")
    if root not in ROOTS:
        raise SpecError(f"zero: root must be one of {', '.join(ROOTS)}, got {root!r}")
    if m < 1:
        raise SpecError(f"zero: m must be >= 1, got {m}")
    set_torch_threads(threads)
    agent = ZeroAgent.from_checkpoint(ckpt, size, torch_device(device), symmetries, backend, simulations=simulations,
                                      seconds_per_move=time, pass_guard=pass_guard, seed=seed,
                                      temperature_moves=temperature_moves, root=root, gumbel_m=m,
                                      batch_size=THREAD_LEAVES * threads if threads > 1 else ZERO_CONFIG.batch_size)
    if threads > 1 and isinstance(agent.networks()[0], OnnxNet):
        set_torch_threads(1)  # the net took its threads; torch's idle OpenMP workers would spin on those cores
    return agent


register_agent("zero", _from_spec, {
    "ckpt": (str, "rlgo checkpoint with policy and value heads, or a zero run folder (its best network)"),
    "simulations": (int, f"simulations per move (default {ZERO_CONFIG.simulations}, or unlimited when time is given)"),
    "time": (float, "seconds per move (without simulations= the clock alone limits the search)"),
    "seed": (int, "random seed of the search"),
    "symmetries": (bool, "average the network over the 8 board symmetries"),
    "device": (str, DEVICE_HELP),
    "pass_guard": (bool, "pass only while the count with dead stones removed favours us (default true)"),
    "temperature_moves": (int, "first moves of a game drawn in proportion to visits, for varied games (default 0)"),
    "root": (str, f"root policy: {' or '.join(ROOTS)} (Gumbel-top-k + sequential halving; default puct)"),
    "m": (int, f"actions the Gumbel root considers (default {ZERO_CONFIG.gumbel_m})"),
    "threads": (int, "CPU threads of the network (default 1; 2 uses both cores of a 2-core machine for one game, "
                     f"{THREAD_LEAVES} leaves a step per thread; 0 = torch's default)"),
    "backend": (str, "inference backend: auto (onnxruntime on cpu when installed), torch, bf16, onnxruntime"),
}, positional="ckpt", help="AlphaGo Zero: PUCT or Gumbel search on a policy + value network, no rollouts")
