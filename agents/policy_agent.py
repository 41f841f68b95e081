"""PolicyAgent: plays a policy network's move directly, no search (argmax, or sampled at a temperature)."""
from __future__ import annotations

import numpy as np

from agents.base import DEVICE_HELP, Agent, MoveInfo, pass_is_safe, set_torch_threads, torch_device
from agents.estimates import move_analysis
from agents.specs import SpecError, register_agent
from rlgo.go.features import encode
from rlgo.go.state import GameState
from rlgo.nn.inference import PolicyNet, load_policy, sample_moves
from rlgo.search.filters import root_moves


def playable_mask(state: GameState, prune_eye_fills: bool = True) -> np.ndarray:
    """bool [N*N+1]: legal moves (superko included), without own-eye fills if `prune_eye_fills`
    (the move set of rlgo.train.batch_play, so agents play as they were trained)."""
    mask = state.legal_mask()
    if prune_eye_fills:
        for p in np.flatnonzero(mask[:-1]):
            mask[p] = not state.fills_own_eye(int(p))
    return mask


ANALYSIS_MOVES = 10
"""Candidates a policy agent's analysis lists."""


class PolicyAgent(Agent):
    """The move of a policy network for the side to move: its argmax (temperature 0) or a sample of pi^(1/T).

    One rule on top, as MCTSAgent has: after the opponent's pass it passes too when the count with
    dead stones removed already favours it (agents.base.pass_is_safe; a policy trained under
    Tromp-Taylor scoring would otherwise play on into its own territory while the opponent waits).
    """

    name = "policy"

    def __init__(self, policy: PolicyNet, temperature: float = 0.0, seed: int | None = None,
                 prune_eye_fills: bool = True):
        if temperature < 0:
            raise SpecError(f"policy: temperature must be >= 0, got {temperature!r}")
        self.policy = policy
        self.board_size = policy.board_size
        self.temperature = temperature
        self.prune_eye_fills = prune_eye_fills
        self.rng = np.random.default_rng(seed)
        self._position: GameState | None = None
        self._last: list[MoveInfo] = []

    def select_move(self, state: GameState) -> int:
        self._position, self._last = state.copy(), []
        allowed = root_moves(self.filters, state.to_play, state.size)
        if state.passes == 1 and allowed[state.pass_move] and pass_is_safe(state):
            return state.pass_move
        legal = (playable_mask(state, self.prune_eye_fills) & allowed)[None]
        if not legal.any():
            return state.pass_move
        log_probs = self.policy.log_probs(encode(state, self.policy.feature_set)[None], legal)
        return int(sample_moves(log_probs, legal, self.rng, self.temperature)[0])

    def warm_up(self, state: GameState) -> None:
        self.policy.log_probs(encode(state, self.policy.feature_set)[None], playable_mask(state, self.prune_eye_fills)[None])

    def ponder(self, state: GameState, visits: int | None = None) -> None:
        self._position, self._last = state.copy(), []

    def analysis(self) -> list[MoveInfo]:
        """The ANALYSIS_MOVES most probable moves of the last position, visits 0; win rates and scores
        are the network's heads on the position after each move (random rollouts for missing heads)."""
        position = self._position
        if position is None or position.is_over:
            return []
        if not self._last:
            legal = playable_mask(position, self.prune_eye_fills)
            log_probs = self.policy.log_probs(encode(position, self.policy.feature_set)[None], legal[None])[0]
            probs = np.where(legal, np.exp(log_probs), 0.0)
            top = [int(p) for p in np.argsort(-probs)[:ANALYSIS_MOVES] if probs[p] > 0]
            self._last = move_analysis(self, position, top, [float(probs[p]) for p in top])
        return list(self._last)

    def networks(self) -> list:
        return [self.policy.model]


def _from_spec(size: int, rules, ckpt: str | None = None, temperature: float = 0.0, seed: int | None = None,
               device: str = "auto", prune_eye_fills: bool = True, threads: int = 1, backend: str = "auto") -> PolicyAgent:
    set_torch_threads(threads)
    device = torch_device(device)
    if not ckpt:
        raise SpecError("policy: needs a checkpoint, e.g. policy:ckpt=runs/pg9/last.pt")
    return PolicyAgent(load_policy(ckpt, device, size, backend=backend), temperature, seed, prune_eye_fills)


register_agent("policy", _from_spec, {
    "ckpt": (str, "policy network checkpoint"),
    "temperature": (float, "0 = always the most likely move (default); 1 = sample from the policy"),
    "seed": (int, "random seed of the sampling"),
    "device": (str, DEVICE_HELP),
    "prune_eye_fills": (bool, "leave out moves that fill its own single-point eyes (default true, as in training)"),
    "threads": (int, "torch CPU threads of the process (default 1: fastest for one position; 0 = torch's)"),
    "backend": (str, "inference backend: auto (onnxruntime on cpu when installed), torch, bf16, onnxruntime"),
}, positional="ckpt", help="a policy network's move, no search (argmax or sampled)")
