"""ZeroAgent: PUCT tree search guided by a policy + value network checkpoint, no rollouts (AlphaGo Zero)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from agents.base import mover_area_lead
from agents.mcts_agent import MCTSAgent
from agents.specs import SpecError, register_agent
from rlgo.go import features
from rlgo.go.rules import Rules
from rlgo.go.state import GameState
from rlgo.nn.checkpoint import load_checkpoint
from rlgo.nn.evaluator import TorchEvaluator
from rlgo.search.config import SearchConfig
from rlgo.search.evaluator import NetworkEvaluator
from rlgo.search.mcts import UNLIMITED
from rlgo.train.zero.storage import BEST, read_best

ZERO_CONFIG = SearchConfig(playouts=200, selection="puct", c_puct=1.5, fpu=0.25, batch_size=8,
                           resign_threshold=0.02)
"""Defaults of the zero agent: PUCT over network priors, network values at the leaves."""


class ZeroAgent(MCTSAgent):
    """MCTS with PUCT on the priors and values of an rlgo checkpoint with policy and value heads.

    `checkpoint`: path of the network; `size`: board size the checkpoint must be for (None: any);
    `playouts` per move, `seconds_per_move` (a clock on top of or instead of the playouts),
    `symmetries`: average the net over the 8 board symmetries; `backend`: rlgo.nn.backend; `pass_guard`: never pass while
    the area count is not in our favour (as in zero self-play, see docs/zero.md); other
    SearchConfig fields as keywords.
    """

    name = "zero"

    def __init__(self, checkpoint: str | Path, size: int | None = None, playouts: int | None = 200,
                 seconds_per_move: float | None = None, device: str = "cpu", symmetries: bool = False,
                 pass_guard: bool = True, backend: str = "auto", **overrides):
        model, meta = load_checkpoint(checkpoint, expect_board_size=size, map_location=device, backend=backend)
        net = TorchEvaluator(model, device=device, symmetries=symmetries)
        evaluator = NetworkEvaluator(net, feature_set=meta.feature_set, board_size=meta.board_size)
        overrides["playouts"] = UNLIMITED if playouts is None else playouts
        super().__init__(ZERO_CONFIG, evaluator, seconds_per_move, **overrides)
        self.name = f"zero-{Path(checkpoint).stem}"
        self.pass_guard = pass_guard

    def select_move(self, state: GameState) -> int:
        move = super().select_move(state)
        if move == state.pass_move and self.pass_guard:
            if mover_area_lead(state) <= 0:  # the opponent would pass back and win
                move = self._best_non_pass(self.search, move)
                if move == state.pass_move:  # the search visited nothing else: the network's favourite
                    move = self._most_probable_non_pass(state, move)
        return move

    def _most_probable_non_pass(self, state: GameState, fallback: int) -> int:
        legal = state.legal_mask()
        if not legal[:-1].any():
            return fallback
        planes = features.encode(state, self.evaluator.feature_set)[None]
        priors, _ = self.evaluator.net(planes, legal[None])
        return int(np.argmax(np.where(legal[:-1], priors[0, :-1], -1.0)))


def _best_of_run(run: Path) -> Path:
    """The best network of a `rlgo train zero` run folder (its best.json)."""
    if not (run / BEST).is_file():
        raise SpecError(f"zero: {str(run)!r} is a folder without {BEST}; give a checkpoint file or a zero run folder")
    try:
        return read_best(run)[1]
    except (ValueError, KeyError, TypeError) as exc:
        raise SpecError(f"zero: damaged {str(run / BEST)!r}: {exc}") from None


def _from_spec(size: int, rules: Rules, ckpt: str | None = None, playouts: int | None = None,
               time: float | None = None, seed: int = 0, symmetries: bool = False, device: str = "cpu",
               pass_guard: bool = True, opening: int = 0, backend: str = "auto") -> ZeroAgent:
    """Spec factory: `zero:ckpt=PATH,playouts=200`, `zero:ckpt=PATH,time=2` (then the clock alone limits the search)."""
    if not ckpt:
        raise SpecError("zero: needs a checkpoint or a zero run folder, e.g. zero:ckpt=runs/zero9,playouts=200")
    if Path(ckpt).is_dir():
        ckpt = str(_best_of_run(Path(ckpt)))
    if playouts is not None and playouts <= 0:
        raise SpecError(f"zero: playouts must be > 0, got {playouts}")
    if playouts is None and time is None:
        playouts = ZERO_CONFIG.playouts
    if opening < 0:
        raise SpecError(f"zero: opening must be >= 0, got {opening}")
    return ZeroAgent(ckpt, size, playouts, time, device, symmetries, pass_guard, backend, seed=seed,
                     temperature_moves=opening)


register_agent("zero", _from_spec, {
    "ckpt": (str, "rlgo checkpoint with policy and value heads, or a zero run folder (its best network)"),
    "playouts": (int, f"simulations per move (default {ZERO_CONFIG.playouts}, or unlimited when time is given)"),
    "time": (float, "seconds per move (without playouts= the clock alone limits the search)"),
    "seed": (int, "random seed of the search"),
    "symmetries": (bool, "average the network over the 8 board symmetries"),
    "device": (str, "torch device (default cpu)"),
    "pass_guard": (bool, "never pass while the area count favours the opponent (default true)"),
    "opening": (int, "first moves of a game drawn in proportion to visits, for varied games (default 0)"),
    "backend": (str, "inference backend: auto (onnxruntime on cpu when installed), torch, bf16, onnxruntime"),
}, positional="ckpt", help="AlphaGo Zero: PUCT search on a policy + value network, no rollouts")
