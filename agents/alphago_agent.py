"""AlphaGoAgent (2016): PUCT search with policy-network priors, leaves valued by a value net and a rollout.

Leaf value V = (1 - lambda) * v_net + lambda * z_rollout (rlgo.search.evaluator.MixedEvaluator);
the rollout is the trained fast rollout policy (rlgo.search.rollout_policy) or, without one,
uniformly random rollouts. Time per move comes from `time=` or the GTP clock, as for MCTSAgent.
"""
from __future__ import annotations

import numpy as np
import torch

from agents.base import DEVICE_HELP, set_torch_threads, torch_device
from agents.mcts_agent import MCTSAgent, PlayPolicy
from agents.specs import SpecError, register_agent
from rlgo.go.features import HISTORY_LENGTH
from rlgo.nn.checkpoint import CheckpointError, load_checkpoint
from rlgo.nn.inference import PolicyNet, load_policy, predict_values
from rlgo.nn.model import GoNet
from rlgo.search.config import ROOTS, SearchConfig
from rlgo.search.evaluator import LeafBatch, MixedEvaluator, RolloutPolicy, encode_planes
from rlgo.search.mcts import UNLIMITED
from rlgo.search.rollout import UniformRolloutPolicy
from rlgo.search.rollout_policy import PatternRolloutPolicy

ALPHAGO_CONFIG = SearchConfig(simulations=800, selection="puct", c_puct=1.5, batch_size=8, expand_visits=1,
                              prune_eye_fills=True)
"""Defaults of the AlphaGo search (the tree leaves own-eye fills out, as the policies were trained)."""
ALPHAGO_POLICY = PlayPolicy(resign_winrate=0.02, resign_moves=3, resign_visits=400)
"""Resignation needs 3 searches in a row of >= 400 simulations below 2% (rollout values are noisy: two
games resigned at 5% on one search were won by 2 points when played on)."""
ALPHAGO_LAMBDA = 0.5
"""Leaf value mix V = (1 - lambda) * v_net + lambda * z_rollout of AlphaGo (2016)."""


class PolicyValueEvaluator:
    """Evaluator protocol: priors from a policy net, values from a separate value net (0 without one)."""

    history_length = HISTORY_LENGTH

    def __init__(self, policy: PolicyNet, value: GoNet | None = None, device: str | torch.device = "cpu"):
        if value is not None and value.cfg.board_size != policy.board_size:
            raise CheckpointError(f"value net is for {value.cfg.board_size}x{value.cfg.board_size}, "
                                  f"policy for {policy.board_size}x{policy.board_size}")
        self.policy = policy
        self.value = value
        self.device = device
        self.feature_set = policy.feature_set
        self.board_size = policy.board_size

    def evaluate(self, batch: LeafBatch) -> tuple[np.ndarray, np.ndarray]:
        priors = np.exp(self.policy.log_probs(batch.planes, batch.legal)) * batch.legal
        if self.value is None:
            return priors, np.zeros(len(priors), np.float32)
        planes = batch.planes
        if self.value.cfg.feature_set != self.feature_set:
            planes = encode_planes(self.value.cfg.feature_set, batch.size, batch.b, batch.m, batch.history)
        return priors, predict_values(self.value, planes, self.device)


class AlphaGoAgent(MCTSAgent):
    """AlphaGo: SL-policy priors, mixed value-net / rollout leaf values, PUCT (see module docstring)."""

    name = "alphago"

    def __init__(self, policy: PolicyNet, value: GoNet | None, rollout: RolloutPolicy, lam: float = ALPHAGO_LAMBDA,
                 seconds_per_move: float | None = None, device: str | torch.device = "cpu",
                 config: SearchConfig | None = None, **overrides):
        if value is None and lam < 1:
            raise SpecError(f"alphago: lambda {lam} < 1 mixes in a value network; give value=PATH or lambda=1")
        if not 0 <= lam <= 1:
            raise SpecError(f"alphago: lambda must be in [0, 1], got {lam}")
        self.lam = lam
        evaluator = MixedEvaluator(PolicyValueEvaluator(policy, value, device), rollout, lam)
        super().__init__(config or ALPHAGO_CONFIG, evaluator, seconds_per_move, policy=ALPHAGO_POLICY, **overrides)
        self._networks = [net for net in (value, policy.model) if net is not None]

    def networks(self) -> list:
        return list(self._networks)


def _from_spec(size: int, rules, ckpt: str | None = None, value: str | None = None, rollout: str | None = None,
               simulations: int | None = None, time: float | None = None, seed: int = 0, device: str = "auto",
               rollouts: int = 1, c_puct: float | None = None, resign: float | None = None, threads: int = 1,
               root: str = "puct", m: int = ALPHAGO_CONFIG.gumbel_m, backend: str = "auto", **extra) -> AlphaGoAgent:
    lam = extra.pop("lambda", ALPHAGO_LAMBDA)
    set_torch_threads(threads)
    device = torch_device(device)
    if root not in ROOTS:
        raise SpecError(f"alphago: root must be one of {', '.join(ROOTS)}, got {root!r}")
    if m < 1:
        raise SpecError(f"alphago: m must be >= 1, got {m}")
    if not ckpt:
        raise SpecError("alphago: needs a policy checkpoint, e.g. alphago:ckpt=sl.pt,value=value.pt")
    if not 0 <= lam <= 1:  # before the networks load
        raise SpecError(f"alphago: lambda must be in [0, 1], got {lam}")
    policy = load_policy(ckpt, device, size, backend=backend)
    value_net = None
    if value:
        value_net, _ = load_checkpoint(value, expect_board_size=size, map_location=device, backend=backend)
        if "value" not in value_net.cfg.heads:
            raise CheckpointError(f"checkpoint {value!r} has no value head (heads: {list(value_net.cfg.heads)})")
    roll = (PatternRolloutPolicy.load(rollout, seed=seed, rollouts=rollouts) if rollout
            else UniformRolloutPolicy(seed, rollouts))
    changes: dict = {"seed": seed, "root": root, "gumbel_m": m}
    if simulations is not None or time is not None:
        changes["simulations"] = simulations if simulations is not None else UNLIMITED
    if c_puct is not None:
        changes["c_puct"] = c_puct
    if resign is not None:
        changes["resign_winrate"] = resign
    return AlphaGoAgent(policy, value_net, roll, lam, time, device, **changes)


register_agent("alphago", _from_spec, {
    "ckpt": (str, "policy network giving the priors (AlphaGo: the SL policy)"),
    "value": (str, "value network checkpoint (needed unless lambda=1)"),
    "rollout": (str, "fast rollout policy .npz (default: uniform random rollouts)"),
    "lambda": (float, f"leaf value mix: (1-lambda) v_net + lambda z_rollout (default {ALPHAGO_LAMBDA})"),
    "simulations": (int, f"simulations per move (default {ALPHAGO_CONFIG.simulations}, or unlimited when time is given)"),
    "time": (float, "seconds per move (GTP time settings replace it)"),
    "rollouts": (int, "rollouts per leaf (default 1)"),
    "c_puct": (float, f"PUCT exploration constant (default {ALPHAGO_CONFIG.c_puct})"),
    "resign": (float, f"resign below this win rate for {ALPHAGO_POLICY.resign_moves} moves in a row "
                      f"(default {ALPHAGO_POLICY.resign_winrate}; 0 = never)"),
    "root": (str, f"root policy: {' or '.join(ROOTS)} (default puct)"),
    "m": (int, f"actions the Gumbel root considers (default {ALPHAGO_CONFIG.gumbel_m})"),
    "seed": (int, "random seed of the search and rollouts"),
    "device": (str, DEVICE_HELP),
    "threads": (int, "torch CPU threads of the process (default 1: fastest for small batches; 0 = torch's)"),
    "backend": (str, "inference backend: auto (onnxruntime on cpu when installed), torch, bf16, onnxruntime"),
}, positional="ckpt", help="AlphaGo 2016: policy priors, value net + rollouts at the leaves, PUCT search")
