"""KataGo's rule names and JSON form (docs/GTP_Extensions.md, kata-get-rules) mapped onto rlgo's Rules.

rlgo's Rules hold ko, suicide and scoring. Of KataGo's other fields rlgo plays exactly: tax NONE
(rlgo counts every empty region bordered by one colour, seki eyes included), no button, and
whiteHandicapBonus "0" (komi only; "N" and "N-1" give the same game while no handicap stones are on
the board). friendlyPassOk is a hint about when to pass; rlgo stores and reports it. Anything else
is a `RulesError` that names the field.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

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
    fields = _validated(text)
    if fields["hasButton"]:
        raise RulesError("hasButton true is not supported by rlgo")
    if fields["tax"] != "NONE":
        raise RulesError(f"tax {fields['tax']!r} is not supported by rlgo (it scores with tax NONE)")
    bonus = fields["whiteHandicapBonus"]
    if bonus != "0" and handicap_stones:
        raise RulesError(f"whiteHandicapBonus {bonus} is not supported by rlgo in a handicap game (komi only)")
    rules = Rules(ko=KATA_KO[fields["ko"]], suicide=fields["suicide"], scoring=KATA_SCORING[fields["scoring"]],
                  komi=float(komi))
    return KataRules(rules, fields["friendlyPassOk"])


def nearest_kata_rules(text, komi: float) -> tuple[KataRules, str | None]:
    """Like parse_kata_rules, but rules rlgo does not play become the nearest it does (no button, tax NONE,
    handicap bonus 0): (rules, a warning or None). Malformed rules still raise RulesError."""
    fields = _validated(text)
    nearest = dict(fields, hasButton=False, tax="NONE", whiteHandicapBonus="0")
    kata = parse_kata_rules(nearest, komi)
    changed = sorted(k for k in fields if fields[k] != nearest[k] and k != "whiteHandicapBonus")
    if not changed:
        return kata, None
    return kata, f"rlgo does not play {', '.join(f'{k} {fields[k]}' for k in changed)}; using {kata.to_json()}"


def handicap_bonus(text) -> str:
    """The whiteHandicapBonus ('0', 'N', 'N-1') that valid rules `text` ask for."""
    return _validated(text)["whiteHandicapBonus"]


def _validated(text) -> dict:
    """The full rules dictionary (BASE filled in) with every field checked for its documented values."""
    fields = _fields(text)
    unknown = sorted(set(fields) - set(BASE))
    if unknown:
        raise RulesError(f"unknown rules field(s) {unknown}; valid: {', '.join(BASE)}")
    merged = dict(BASE, **fields)
    choices = {"ko": KATA_KO, "scoring": KATA_SCORING, "tax": ("NONE", "SEKI", "ALL"),
               "whiteHandicapBonus": ("0", "N", "N-1")}
    for name, valid in choices.items():
        if merged[name] not in valid:
            raise RulesError(f"{name} must be one of {', '.join(valid)}, got {merged[name]!r}")
    for name in ("suicide", "hasButton", "friendlyPassOk"):
        if not isinstance(merged[name], bool):
            raise RulesError(f"{name} must be true or false, got {merged[name]!r}")
    return merged


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
