"""Rules as data: ko, suicide, scoring and komi."""
from __future__ import annotations

from dataclasses import dataclass, replace

KO_RULES = ("simple", "positional", "situational")
SCORING_RULES = ("area", "territory")


@dataclass(frozen=True)
class Rules:
    """The rules a game is played under (defaults: Tromp-Taylor-like area, positional superko)."""

    ko: str = "positional"
    """'simple' (immediate recapture forbidden), 'positional' or 'situational' superko."""
    suicide: bool = False
    """Whether a move that leaves its own group without liberties is allowed (it is removed)."""
    scoring: str = "area"
    """'area' (stones + empty regions reaching one colour only) or 'territory' (+ prisoners)."""
    komi: float = 7.5
    """Points added to White's score."""

    def __post_init__(self):
        if self.ko not in KO_RULES:
            raise ValueError(f"unknown ko rule {self.ko!r}; valid: {', '.join(KO_RULES)}")
        if self.scoring not in SCORING_RULES:
            raise ValueError(f"unknown scoring {self.scoring!r}; valid: {', '.join(SCORING_RULES)}")
        if not isinstance(self.komi, (int, float)) or self.komi != self.komi:
            raise ValueError(f"komi must be a number, got {self.komi!r}")

    def with_komi(self, komi: float) -> "Rules":
        """A copy with another komi."""
        return replace(self, komi=float(komi))


# Named presets for the CLI / GTP (`--rules`).
PRESETS = {
    "tromp-taylor": Rules(ko="positional", suicide=True, scoring="area", komi=7.5),
    "chinese": Rules(ko="positional", suicide=False, scoring="area", komi=7.5),
    "japanese": Rules(ko="simple", suicide=False, scoring="territory", komi=6.5),
    "gnugo": Rules(ko="simple", suicide=False, scoring="area", komi=7.5),
}


def rules_from_name(name: str) -> Rules:
    """A preset by name (tromp-taylor, chinese, japanese, gnugo)."""
    try:
        return PRESETS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown rules {name!r}; valid: {', '.join(PRESETS)}") from None
