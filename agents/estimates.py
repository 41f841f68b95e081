"""Static judgements of positions for analysis: an agent's network heads, random rollouts for the rest.

Every field is from the point of view of the position's side to move, as KataGo's GTP extensions
report them: win rate in [0, 1]; score as the expected final area margin in points, komi
included (rlgo's score head is trained on exactly that: the self-play margin, which rlgo reports
as the lead); ownership in [-1, 1] per point (+1: the side to move will own it), row-major from
the top-left point (A9 on 9x9), N*N values.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.base import MoveInfo
from rlgo.go.deadstones import rollout_outcomes
from rlgo.go.state import BLACK, GameState

ROLLOUTS = 100
"""Random rollouts behind one position's estimate when a network lacks a head."""
NETWORK_FIELDS = ("policy", "value", "score", "ownership")
"""Heads an estimate can use, as named in rlgo.nn.heads."""


@dataclass(frozen=True)
class Estimate:
    """One position, side to move's view (see the module docstring); None where nothing estimated it."""

    winrate: float | None
    """Win probability in [0, 1]."""
    score_lead: float | None
    """Expected final area margin in points."""
    score_stdev: float | None
    """Standard deviation of that margin (rollouts only; a score head predicts the mean alone)."""
    ownership: np.ndarray | None
    """float64 [N*N] in [-1, 1]."""
    policy: np.ndarray | None
    """float64 [N*N+1] network priors over the legal moves (0 on illegal ones; None without a policy head)."""
    sources: dict
    """{'winrate' | 'score' | 'ownership' | 'policy': 'network' or 'rollouts'} for the fields present."""


def estimate(networks: list, states: list[GameState], symmetry: int | None = None, fill: bool = True,
             rollouts: int = ROLLOUTS) -> list[Estimate]:
    """Estimates of `states` from the first network having each head (rlgo.nn.model.GoNet list),
    evaluated in `symmetry` k (0..7, None = as is); random rollouts for missing heads when `fill`."""
    heads = {}
    for name in NETWORK_FIELDS:
        heads[name] = next((net for net in networks if name in net.cfg.heads), None)
    outputs = {}
    for net in {id(n): n for n in heads.values() if n is not None}.values():
        out = _forward(net, states, symmetry or 0)
        for name, values in out.items():
            if heads.get(name) is net:
                outputs[name] = values
    result = []
    for i, state in enumerate(states):
        sources, winrate, lead, stdev, own, policy = {}, None, None, None, None, None
        if "value" in outputs:
            winrate, sources["winrate"] = (float(outputs["value"][i]) + 1) / 2, "network"
        if "score" in outputs:
            lead, sources["score"] = float(outputs["score"][i]), "network"
        if "ownership" in outputs:
            own, sources["ownership"] = outputs["ownership"][i].astype(np.float64), "network"
        if "policy" in outputs:
            policy, sources["policy"] = outputs["policy"][i].astype(np.float64), "network"
        if fill and (winrate is None or lead is None or own is None):
            p_win, p_lead, p_stdev, p_own = rollout_estimate(state, rollouts)
            if winrate is None:
                winrate, sources["winrate"] = p_win, "rollouts"
            if lead is None:
                lead, stdev, sources["score"] = p_lead, p_stdev, "rollouts"
            if own is None:
                own, sources["ownership"] = p_own, "rollouts"
        result.append(Estimate(winrate, lead, stdev, own, policy, sources))
    return result


def rollout_estimate(state: GameState, rollouts: int = ROLLOUTS,
                     seed: int = 0) -> tuple[float, float, float, np.ndarray]:
    """(win rate, mean margin, margin standard deviation, ownership float64 [N*N]) of uniformly random
    rollouts, all for the side to move (a drawn rollout counts half a win)."""
    own, scores = rollout_outcomes(state, rollouts, seed)
    sign = 1.0 if state.to_play == BLACK else -1.0
    mine = sign * scores
    winrate = float(np.mean(mine > 0) + 0.5 * np.mean(mine == 0))
    return winrate, float(mine.mean()), float(mine.std()), sign * own.ravel()


def move_analysis(agent, state: GameState, moves: list[int], priors: list[float],
                  rollouts: int = ROLLOUTS) -> list[MoveInfo]:
    """Candidates of an agent that does not search (visits 0): each move's win rate and score are the
    agent's estimate of the position after it, turned to the view of `state`'s side to move."""
    children = []
    for move in moves:
        child = state.copy()
        child.reopen()
        child.play(move)
        children.append(child)
    judged = estimate(agent.networks(), children, rollouts=rollouts)
    infos = [MoveInfo(int(m), 0, 1.0 - e.winrate, float(p), [int(m)], -e.score_lead,
                      e.score_stdev) for m, p, e in zip(moves, priors, judged)]
    infos.sort(key=lambda i: (-i.prior, -i.winrate))
    return infos


def _forward(net, states: list[GameState], k: int) -> dict[str, np.ndarray]:
    """Each head of `net` on `states` in symmetry k, mapped back: policy as priors over legal moves."""
    import torch

    from rlgo.go.features import encode
    from rlgo.go.symmetry import apply_planes, invert, invert_policy
    from rlgo.nn.heads import mask_illegal

    n = net.cfg.board_size
    planes = np.stack([encode(s, net.cfg.feature_set) for s in states])
    planes = apply_planes(planes, k) if k else planes
    legal = np.stack([s.legal_mask() for s in states])
    device = next(net.parameters()).device
    if net.training:
        net.eval()
    with torch.inference_mode():
        raw = net(torch.from_numpy(np.ascontiguousarray(planes, np.float32)).to(device))
    out = {}
    if "policy" in raw:
        logits = raw["policy"].float().cpu().numpy()
        logits = invert_policy(logits, k, n) if k else logits
        out["policy"] = torch.softmax(mask_illegal(torch.from_numpy(logits), torch.from_numpy(legal)), -1).numpy()
    for name in ("value", "score"):
        if name in raw:
            out[name] = raw[name].float().cpu().numpy()
    if "ownership" in raw:
        own = raw["ownership"].float().cpu().numpy().reshape(-1, n, n)
        out["ownership"] = (apply_planes(own, invert(k)) if k else own).reshape(-1, n * n)
    return out
