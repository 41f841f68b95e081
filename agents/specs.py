"""Agent specs: one string syntax for `rlgo play`, `rlgo gtp` and `rlgo tournament`.

    random                     random:seed=3
    mcts:simulations=2000         mcts:time=2
    policy:ckpt=PATH           zero:ckpt=PATH,simulations=200
    gnugo                      gnugo:level=1
    gtp:"/usr/games/gnugo --mode gtp --level 10",timeout=30

A spec is `name[:item,item,...]`; an item is `key=value` or, for agents with a positional key,
a bare value. Values may be quoted ("..." or '...', backslash escapes the quote) and are
converted to the key's declared type.

Agents plug in with `register_agent(name, factory, keys)`. A name that is not registered is
looked up as the module `agents/<name>_agent.py`, which registers itself when imported, so a
missing torch or checkpoint only fails the specs that need it.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rlgo.go.rules import Rules
from rlgo.renames import SPEC_KEYS, renamed
from rlgo.seeds import fresh_seed

GNUGO_PATH = "/usr/games/gnugo"
"""Where `gnugo` specs look for GNU Go unless `path=` says otherwise."""


class SpecError(ValueError):
    """A malformed agent spec, an unknown agent name or key, or a value of the wrong type."""


@dataclass(frozen=True)
class AgentEntry:
    """A registered agent kind."""

    name: str
    """Spec name."""
    factory: Callable
    """factory(size=int, rules=Rules, **values) -> Agent."""
    keys: dict
    """key -> (type, help): the accepted keys (type is int, float, str, bool or Path)."""
    positional: str | None = None
    """The key that a bare value sets (e.g. gtp's command)."""
    help: str = ""
    """One line for listings."""


_REGISTRY: dict[str, AgentEntry] = {}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def register_agent(name: str, factory: Callable, keys: dict, positional: str | None = None, help: str = "") -> None:
    """Make `name` usable in specs; `keys` maps each accepted key to (type, help)."""
    if not _NAME.match(name):
        raise SpecError(f"invalid agent name {name!r}")
    if positional is not None and positional not in keys:
        raise SpecError(f"positional key {positional!r} of agent {name!r} is not among its keys")
    _REGISTRY[name] = AgentEntry(name, factory, dict(keys), positional, help)


def agent_names() -> list[str]:
    """Registered names plus the `agents/<name>_agent.py` plugin modules that exist."""
    plugins = {p.stem[:-len("_agent")] for p in Path(__file__).parent.glob("*_agent.py")}
    return sorted(set(_REGISTRY) | plugins)


def lookup(name: str) -> AgentEntry:
    """The entry of an agent name, importing its plugin module on first use."""
    if name not in _REGISTRY and _NAME.match(name) and name in agent_names():
        importlib.import_module(f"agents.{name}_agent")
    if name not in _REGISTRY:
        raise SpecError(f"unknown agent {name!r}; valid agents: {', '.join(agent_names())}")
    return _REGISTRY[name]


# ----------------------------------------------------------------- parsing
def split_spec(spec: str) -> tuple[str, list[tuple[str | None, str]]]:
    """'mcts:simulations=20,"x"' -> ('mcts', [('simulations', '20'), (None, 'x')]) (values still text)."""
    text = spec.strip()
    name, sep, rest = text.partition(":")
    name = name.strip()
    if not _NAME.match(name):
        raise SpecError(f"invalid agent spec {spec!r}: expected NAME[:key=value,...]")
    items: list[tuple[str | None, str]] = []
    i = 0
    while sep and i <= len(rest):
        key = None
        match = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=", rest[i:])
        if match:
            key = match.group(1)
            i += match.end()
        value, i = _read_value(rest, i, spec)
        items.append((key, value))
        if i < len(rest):
            if rest[i] != ",":
                raise SpecError(f"invalid agent spec {spec!r}: expected ',' at {rest[i:]!r}")
            i += 1
        else:
            break
    return name, items


def _read_value(text: str, i: int, spec: str) -> tuple[str, int]:
    """One value starting at text[i] (quoted or up to the next comma); returns (value, next index)."""
    while i < len(text) and text[i] == " ":
        i += 1
    if i < len(text) and text[i] in "\"'":
        quote, out, i = text[i], [], i + 1
        while i < len(text) and text[i] != quote:
            if text[i] == "\\" and i + 1 < len(text):
                i += 1
            out.append(text[i])
            i += 1
        if i >= len(text):
            raise SpecError(f"invalid agent spec {spec!r}: unterminated quote")
        i += 1
        while i < len(text) and text[i] == " ":
            i += 1
        return "".join(out), i
    end = text.find(",", i)
    end = len(text) if end < 0 else end
    value = text[i:end].strip()
    if not value:
        raise SpecError(f"invalid agent spec {spec!r}: empty value")
    return value, end


def _convert(name: str, key: str, kind, text: str):
    try:
        if kind is bool:
            lowered = text.lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise ValueError(text)
            return lowered in ("true", "1", "yes", "on")
        return kind(text)
    except (ValueError, TypeError):
        raise SpecError(f"{name}: {key} must be {getattr(kind, '__name__', kind)}, got {text!r}") from None


def parse_spec(spec: str) -> tuple[AgentEntry, dict]:
    """Check a spec against its agent's keys: (entry, {key: typed value})."""
    name, items = split_spec(spec)
    entry = lookup(name)
    values = {}
    for key, text in items:
        if key is None:
            if entry.positional is None:
                raise SpecError(f"{name}: value {text!r} needs a key; valid keys: {_key_list(entry)}")
            key = entry.positional
        if key not in entry.keys:
            if SPEC_KEYS.get(key) in entry.keys:
                raise SpecError(f"{name}: key {renamed(key, SPEC_KEYS)}")
            raise SpecError(f"{name}: unknown key {key!r}; valid keys: {_key_list(entry)}")
        if key in values:
            raise SpecError(f"{name}: key {key!r} given twice")
        values[key] = _convert(name, key, entry.keys[key][0], text)
    return entry, values


def make_agent(spec: str, size: int | None = 9, rules: Rules | None = None, seed: int | None = None):
    """Build the Agent a spec describes (`size` None: any, e.g. a network's own).

    An agent that takes a seed gets the spec's, else `seed`, else fresh entropy (never a fixed
    default: two engines of one spec must not replay one game).
    """
    entry, values = parse_spec(spec)
    if "seed" in entry.keys and "seed" not in values:
        values["seed"] = fresh_seed() if seed is None else seed
    return entry.factory(size=size, rules=rules or Rules(), **values)


def describe_agents() -> str:
    """A listing of every registered agent with its keys (for --help texts)."""
    lines = []
    for name in agent_names():
        try:
            entry = lookup(name)
        except Exception as exc:  # a plugin that cannot load is listed with the reason
            lines.append(f"  {name}: unavailable ({type(exc).__name__}: {exc})")
            continue
        lines.append(f"  {name}: {entry.help}")
        for key, (kind, text) in entry.keys.items():
            lines.append(f"      {key}={getattr(kind, '__name__', kind).upper()}  {text}")
    return "\n".join(lines)


def _key_list(entry: AgentEntry) -> str:
    return ", ".join(entry.keys) if entry.keys else "(none)"


# ----------------------------------------------------------------- built-in agents
def _random(size: int, rules: Rules, seed: int | None = None):
    from agents.random_agent import RandomAgent
    return RandomAgent(seed)


def _gtp(size: int, rules: Rules, command: str | None = None, timeout: float = 60.0, name: str | None = None,
         restarts: int = 1):
    from agents.gtp_agent import GTPAgent
    if not command:
        raise SpecError('gtp: needs an engine command, e.g. gtp:"/usr/games/gnugo --mode gtp"')
    return GTPAgent(command, per_move_timeout=timeout, name=name, restarts=restarts)


def gnugo_command(level: int = 10, rules: Rules | None = None, path: str = GNUGO_PATH) -> list[str]:
    """GNU Go's GTP command line playing by `rules` (ko, suicide and scoring flags)."""
    rules = rules or Rules()
    argv = [path, "--mode", "gtp", "--level", str(level)]
    argv += {"simple": [], "positional": ["--positional-superko"], "situational": ["--situational-superko"]}[rules.ko]
    argv += ["--allow-all-suicide"] if rules.suicide else []
    argv += ["--chinese-rules"] if rules.scoring == "area" else ["--japanese-rules"]
    return argv


def _gnugo(size: int, rules: Rules, level: int = 10, path: str = GNUGO_PATH, timeout: float = 60.0,
           seed: int | None = None):
    from agents.gtp_agent import GTPAgent
    if not 0 <= level <= 10:
        raise SpecError(f"gnugo: level must be in 0..10, got {level}")
    return GTPAgent(gnugo_command(level, rules, path), per_move_timeout=timeout, name=f"gnugo-{level}", seed=seed)


register_agent("random", _random, {"seed": (int, "random seed")},
               help="uniformly random legal moves, never filling its own eyes")
register_agent("gtp", _gtp, {
    "command": (str, "engine command line (quote it)"),
    "timeout": (float, "seconds per genmove before the engine is killed (default 60)"),
    "name": (str, "display name (default: the program name)"),
    "restarts": (int, "restarts after a crash within one move (default 1)"),
}, positional="command", help="any GTP engine run as a subprocess")
register_agent("gnugo", _gnugo, {
    "level": (int, "GNU Go level 0..10 (default 10)"),
    "path": (str, f"GNU Go binary (default {GNUGO_PATH})"),
    "timeout": (float, "seconds per genmove before the engine is killed (default 60)"),
    "seed": (int, "GNU Go's random seed, which picks among moves of equal value (default: the game's seed, "
                  "else fresh entropy, so that games differ)"),
}, help="GNU Go 3.8 over GTP, playing by the game's rules")
