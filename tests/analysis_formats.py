"""Strict parsers of the analysis formats, written from KataGo's docs/GTP_Extensions.md and
docs/Analysis_Engine.md (v1.17.2), not from rlgo's output: every token must be a documented key
with a value of the documented type and range, or parsing fails."""
from __future__ import annotations

import math

from rlgo.go import coords

GTP_LETTERS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"
KATA_INFO_KEYS = {  # key -> kind, as listed under kata-analyze "Output format"
    "move": "vertex", "visits": "int", "edgeVisits": "int", "winrate": "prob", "scoreMean": "float",
    "scoreStdev": "nonneg", "scoreLead": "float", "scoreSelfplay": "float", "prior": "prob",
    "noResultValue": "prob", "utility": "float", "lcb": "float", "utilityLcb": "float", "weight": "nonneg",
    "isSymmetryOf": "vertex", "order": "int",
}
ROOT_KEYS = {"visits": "int", "utility": "float", "winrate": "prob", "scoreMean": "float", "scoreStdev": "nonneg",
             "scoreLead": "float", "scoreSelfplay": "float", "weight": "nonneg", "rawStWrError": "float",
             "rawStScoreError": "float", "rawVarTimeLeft": "float"}
LZ_INFO_KEYS = ("move", "visits", "winrate", "prior", "lcb", "order")  # lz-analyze, in the documented order
TOP_LEVEL = ("info", "rootInfo", "ownership", "ownershipStdev")
RAW_NN_ONE = ("whiteWin", "whiteLoss", "noResult", "whiteLead", "whiteScoreSelfplay", "whiteScoreSelfplaySq",
              "varTimeLeft", "shorttermWinlossError", "shorttermScoreError", "policyPass")
RAW_NN_BOARD = ("policy", "whiteOwnership")


class FormatError(AssertionError):
    """Output that breaks the documented format."""


def _vertex(token: str, size: int) -> str:
    if token.lower() == "pass":
        return "pass"
    if not (token[:1] in GTP_LETTERS[:size] and token[1:].isdigit() and 1 <= int(token[1:]) <= size):
        raise FormatError(f"not a vertex of a {size}x{size} board: {token!r}")
    coords.from_gtp(token, size)
    return token


def _value(kind: str, token: str, size: int):
    if kind == "vertex":
        return _vertex(token, size)
    if kind == "int":
        if not token.isdigit():
            raise FormatError(f"not a non-negative integer: {token!r}")
        return int(token)
    try:
        value = float(token)
    except ValueError:
        raise FormatError(f"not a number: {token!r}") from None
    if not math.isfinite(value):
        raise FormatError(f"not finite: {token!r}")
    if kind == "prob" and not 0 <= value <= 1:
        raise FormatError(f"not in [0, 1]: {token!r}")
    if kind == "nonneg" and value < 0:
        raise FormatError(f"negative: {token!r}")
    return value


def _floats(tokens: list[str], i: int, count: int, low: float, high: float) -> tuple[list[float], int]:
    values = [float(t) for t in tokens[i:i + count]]
    if len(values) != count or not all(low <= v <= high for v in values):
        raise FormatError(f"need {count} floats in [{low}, {high}] at token {i}")
    return values, i + count


def parse_kata_line(line: str, size: int) -> dict:
    """{'infos': [dict], 'rootInfo': dict | None, 'ownership': list | None} of one kata-analyze line."""
    tokens = line.split()
    out = {"infos": [], "rootInfo": None, "ownership": None}
    i = 0
    if not tokens or tokens[0] != "info":
        raise FormatError(f"a line starts with info: {line[:40]!r}")
    while i < len(tokens):
        head = tokens[i]
        i += 1
        if head == "info":
            info = {}
            while True:
                if i >= len(tokens):
                    raise FormatError("info without pv")
                key = tokens[i]
                if key == "pv":
                    i += 1
                    pv = []
                    while i < len(tokens) and tokens[i] not in TOP_LEVEL + ("movesOwnership",):
                        pv.append(_vertex(tokens[i], size))
                        i += 1
                    info["pv"] = pv
                    if i < len(tokens) and tokens[i] == "movesOwnership":
                        info["movesOwnership"], i = _floats(tokens, i + 1, size * size, -1, 1)
                    break
                if key not in KATA_INFO_KEYS or key in info:
                    raise FormatError(f"undocumented or repeated info key {key!r}")
                info[key] = _value(KATA_INFO_KEYS[key], tokens[i + 1], size)
                i += 2
            for required in ("move", "visits", "winrate", "prior", "order"):
                if required not in info:
                    raise FormatError(f"info lacks {required}")
            if info["order"] != len(out["infos"]):
                raise FormatError(f"order {info['order']} out of sequence")
            if ("scoreMean" in info) != ("scoreLead" in info) or info.get("scoreMean") != info.get("scoreLead"):
                raise FormatError("scoreMean must equal scoreLead (the docs: 'same as scoreLead')")
            out["infos"].append(info)
        elif head == "rootInfo":
            root = {}
            while i < len(tokens) and tokens[i] not in TOP_LEVEL:
                key = tokens[i]
                if key not in ROOT_KEYS or key in root:
                    raise FormatError(f"undocumented or repeated rootInfo key {key!r}")
                root[key] = _value(ROOT_KEYS[key], tokens[i + 1], size)
                i += 2
            out["rootInfo"] = root
        elif head == "ownership":
            out["ownership"], i = _floats(tokens, i, size * size, -1, 1)
        else:
            raise FormatError(f"undocumented top-level field {head!r}")
    return out


def parse_lz_line(line: str, size: int) -> list[dict]:
    """The candidates of one lz-analyze line: integers in 1/10000 as documented."""
    tokens = line.split()
    infos, i = [], 0
    while i < len(tokens):
        if tokens[i] != "info":
            raise FormatError(f"expected info at token {i}: {tokens[i]!r}")
        info = {}
        for key in LZ_INFO_KEYS:
            i += 1
            if tokens[i] != key:
                raise FormatError(f"expected {key} at token {i}, got {tokens[i]!r}")
            i += 1
            info[key] = _vertex(tokens[i], size) if key == "move" else int(tokens[i])
        i += 1
        if tokens[i] != "pv":
            raise FormatError("expected pv")
        i += 1
        info["pv"] = []
        while i < len(tokens) and tokens[i] != "info":
            info["pv"].append(_vertex(tokens[i], size))
            i += 1
        if not (0 <= info["winrate"] <= 10000 and 0 <= info["prior"] <= 10000) or info["order"] != len(infos):
            raise FormatError(f"bad lz values {info}")
        infos.append(info)
    return infos


def parse_raw_nn(text: str, size: int) -> list[dict]:
    """kata-raw-nn output: `symmetry K` then keys in any order, robust to whitespace, as the docs ask."""
    tokens = text.split()
    out, i = [], 0
    while i < len(tokens):
        if tokens[i] != "symmetry":
            raise FormatError(f"expected symmetry at token {i}: {tokens[i]!r}")
        block = {"symmetry": int(tokens[i + 1])}
        i += 2
        while i < len(tokens) and tokens[i] != "symmetry":
            key = tokens[i]
            if key in RAW_NN_ONE:
                block[key] = float(tokens[i + 1])
                i += 2
            elif key in RAW_NN_BOARD:
                values = [float("nan") if t == "NAN" else float(t) for t in tokens[i + 1:i + 1 + size * size]]
                if len(values) != size * size:
                    raise FormatError(f"{key} needs {size * size} values")
                block[key] = values
                i += 1 + size * size
            else:
                raise FormatError(f"undocumented kata-raw-nn key {key!r}")
        out.append(block)
    return out


def check_json_response(obj: dict, size: int, query_id: str) -> None:
    """One analysis response of docs/Analysis_Engine.md: the documented fields with their types."""
    if obj.get("id") != query_id or not isinstance(obj.get("isDuringSearch"), bool) or \
            not isinstance(obj.get("turnNumber"), int):
        raise FormatError(f"id / isDuringSearch / turnNumber wrong in {obj}")
    for order, info in enumerate(obj["moveInfos"]):
        _vertex(info["move"], size)
        if info["order"] != order or not isinstance(info["visits"], int) or not 0 <= info["winrate"] <= 1:
            raise FormatError(f"bad moveInfo {info}")
        if not 0 <= info["prior"] <= 1 or info["scoreMean"] != info["scoreLead"]:
            raise FormatError(f"bad moveInfo {info}")
        for key in ("utility", "lcb", "utilityLcb", "scoreLead", "scoreSelfplay"):
            if not isinstance(info[key], float) or not math.isfinite(info[key]):
                raise FormatError(f"{key} must be a float in {info}")
        [_vertex(v, size) for v in info["pv"]]
        if "ownership" in info and (len(info["ownership"]) != size * size
                                    or not all(-1 <= v <= 1 for v in info["ownership"])):
            raise FormatError("moveInfo ownership must be N*N values in [-1, 1]")
    root = obj["rootInfo"]
    if root["currentPlayer"] not in ("B", "W") or not 0 <= root["winrate"] <= 1:
        raise FormatError(f"bad rootInfo {root}")
    for key in ("visits", "scoreLead", "utility"):
        if key not in root:
            raise FormatError(f"rootInfo lacks {key}")
    if "ownership" in obj and (len(obj["ownership"]) != size * size or not all(-1 <= v <= 1 for v in obj["ownership"])):
        raise FormatError("ownership must be N*N values in [-1, 1]")
    if "policy" in obj:
        policy = obj["policy"]
        legal = [p for p in policy if p != -1]
        if len(policy) != size * size + 1 or any(p < 0 for p in legal) or abs(sum(legal) - 1) > 1e-4:
            raise FormatError("policy must be N*N+1 values: positive summing to 1, -1 on illegal moves")
