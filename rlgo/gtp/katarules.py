"""KataGo's rule names and JSON form (docs/GTP_Extensions.md, kata-get-rules) mapped onto rlgo's Rules.

rlgo's Rules hold ko, suicide and scoring. Of KataGo's other fields rlgo plays exactly: tax NONE
(rlgo counts every empty region bordered by one colour, seki eyes included), no button, and
whiteHandicapBonus "0" (komi only; "N" and "N-1" give the same game while no handicap stones are on
the board). friendlyPassOk is a hint about when to pass; rlgo stores and reports it. Anything else
is a `RulesError` that names the field.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace

from rlgo.go.rules import Rules

KATA_KO = {"SIMPLE": "simple", "POSITIONAL": "positional", "SITUATIONAL": "situational"}
KATA_SCORING = {"AREA": "area", "TERRITORY": "territory"}
BASE = {"hasButton": False, "ko": "POSITIONAL", "scoring": "AREA", "suicide": True, "tax": "NONE",
        "whiteHandicapBonus": "0", "friendlyPassOk": True}
SHORTHANDS = {
    "tromp-taylor": dict(BASE, ko="POSITIONAL", suicide=True, friendlyPassOk=False),
    "chinese": dict(BASE, ko="SIMPLE", suicide=False, whiteHandicapBonus="N"),
    "chinese-ogs": dict(BASE, ko="POSITIONAL", suicide=False, whiteHandicapBonus="N"),
    "chinese-kgs": dict(BASE, ko="POSITIONAL", suicide=False, whiteHandicapBonus="N"),
    "japanese": dict(BASE, ko="SIMPLE", scoring="TERRITORY", suicide=False, tax="SEKI"),
    "korean": dict(BASE, ko="SIMPLE", scoring="TERRITORY", suicide=False, tax="SEKI"),
    "stone-scoring": dict(BASE, ko="SIMPLE", suicide=False, tax="ALL"),
    "aga": dict(BASE, ko="SITUATIONAL", suicide=False, whiteHandicapBonus="N-1"),
    "bga": dict(BASE, ko="SITUATIONAL", suicide=False, whiteHandicapBonus="N-1"),
    "new-zealand": dict(BASE, ko="SITUATIONAL", suicide=True),
    "aga-button": dict(BASE, ko="SITUATIONAL", suicide=False, whiteHandicapBonus="N-1", hasButton=True),
}
"""KataGo's shorthand rule strings and the JSON each stands for (as its docs list them)."""
KGS_RULES = {"chinese": "chinese-kgs", "aga": "aga", "japanese": "japanese", "new_zealand": "new-zealand"}
"""kgsGtp's `kgs-rules` names -> KataGo shorthands (KataGo maps chinese to chinese-kgs)."""


class RulesError(ValueError):
    """Rules rlgo cannot parse or does not play; the message names the field."""


@dataclass(frozen=True)
class KataRules:
    """A KataGo rules dictionary rlgo plays: its Rules plus the stored friendlyPassOk."""

    rules: Rules
    friendly_pass_ok: bool = True

    def to_json(self) -> str:
        """kata-get-rules' JSON (rlgo plays tax NONE, no button, handicap bonus 0)."""
        ko = {v: k for k, v in KATA_KO.items()}[self.rules.ko]
        scoring = {v: k for k, v in KATA_SCORING.items()}[self.rules.scoring]
        return json.dumps({"hasButton": False, "ko": ko, "scoring": scoring, "suicide": self.rules.suicide,
                           "tax": "NONE", "whiteHandicapBonus": "0", "friendlyPassOk": self.friendly_pass_ok},
                          separators=(",", ":"))


def parse_kata_rules(text, komi: float, handicap_stones: int = 0) -> KataRules:
    """A shorthand name, a JSON object string or a dict -> KataRules with `komi`; RulesError otherwise."""
    fields = _fields(text)
    unknown = sorted(set(fields) - set(BASE))
    if unknown:
        raise RulesError(f"unknown rules field(s) {unknown}; valid: {', '.join(BASE)}")
    merged = dict(BASE, **fields)
    if merged["ko"] not in KATA_KO:
        raise RulesError(f"ko must be one of {', '.join(KATA_KO)}, got {merged['ko']!r}")
    if merged["scoring"] not in KATA_SCORING:
        raise RulesError(f"scoring must be one of {', '.join(KATA_SCORING)}, got {merged['scoring']!r}")
    for name in ("suicide", "hasButton", "friendlyPassOk"):
        if not isinstance(merged[name], bool):
            raise RulesError(f"{name} must be true or false, got {merged[name]!r}")
    if merged["hasButton"]:
        raise RulesError("hasButton true is not supported by rlgo")
    if merged["tax"] != "NONE":
        raise RulesError(f"tax {merged['tax']!r} is not supported by rlgo (it scores with tax NONE)")
    bonus = merged["whiteHandicapBonus"]
    if bonus not in ("0", "N", "N-1"):
        raise RulesError(f"whiteHandicapBonus must be 0, N or N-1, got {bonus!r}")
    if bonus != "0" and handicap_stones:
        raise RulesError(f"whiteHandicapBonus {bonus} is not supported by rlgo in a handicap game (komi only)")
    rules = Rules(ko=KATA_KO[merged["ko"]], suicide=merged["suicide"], scoring=KATA_SCORING[merged["scoring"]],
                  komi=float(komi))
    return KataRules(rules, merged["friendlyPassOk"])


def nearest_kata_rules(text, komi: float) -> tuple[KataRules, str | None]:
    """Like parse_kata_rules, but rules rlgo does not play become the nearest it does: (rules, warning or None).
    Syntax errors (unknown names, bad values) still raise RulesError."""
    try:
        return parse_kata_rules(text, komi), None
    except RulesError as exc:
        fields = dict(BASE, **_fields(text))
        fields.update(hasButton=False, tax="NONE", whiteHandicapBonus="0")
        try:
            return parse_kata_rules(fields, komi), f"{exc}; using {KataRules(parse_kata_rules(fields, komi).rules).to_json()}"
        except RulesError:
            raise exc from None


def _fields(text) -> dict:
    if isinstance(text, dict):
        return dict(text)
    if not isinstance(text, str):
        raise RulesError(f"rules must be a name or a JSON object, got {text!r}")
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise RulesError(f"rules JSON does not parse: {exc}") from None
        if not isinstance(value, dict):
            raise RulesError("rules JSON must be an object")
        return value
    name = stripped.lower().replace("_", "-").replace(" ", "-")
    if name not in SHORTHANDS:
        raise RulesError(f"unknown rules {text!r}; valid: {', '.join(SHORTHANDS)}")
    return dict(SHORTHANDS[name])


def with_komi(kata: KataRules, komi: float) -> KataRules:
    """The same rules with another komi."""
    return replace(kata, rules=kata.rules.with_komi(komi))
