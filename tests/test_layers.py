"""Imports point down the layers of docs/architecture.md: every import statement in rlgo/, agents/,
envs/ and cli.py (inside functions too, relative ones resolved) goes to a lower layer or stays in its
own package. benchmarks/ and tests/ sit above everything and are not checked."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("rlgo", "agents", "envs", "cli.py")
"""What is checked, relative to the repository root."""
PROJECT = ("rlgo", "agents", "envs", "cli", "benchmarks", "tests")
"""Top-level names of the project's own code; any other import is a third-party one."""
LAYERS = (
    ("base", 0, ("rlgo.atomic", "rlgo.procs", "rlgo.seeds", "rlgo.gtpclient", "rlgo.renames")),
    ("go", 1, ("rlgo.go",)),
    ("stats", 1, ("rlgo.stats",)),
    ("search", 2, ("rlgo.search",)),
    ("nn", 3, ("rlgo.nn",)),
    ("train", 4, ("rlgo.train",)),
    ("arena", 5, ("rlgo.arena",)),
    ("gtp", 5, ("rlgo.gtp",)),
    ("agents", 6, ("agents",)),
    ("envs", 7, ("envs",)),
    ("play", 8, ("rlgo.play",)),
    ("commands", 9, ("rlgo.commands",)),
    ("cli", 10, ("cli",)),
)
"""(unit, rank, module prefixes), lowest first: a module may import its own unit and any unit of a
lower rank; units of one rank (go and stats, arena and gtp) do not import each other."""
TORCH_FREE = ("base", "go", "stats", "search")
"""Units that never import torch (the search sees networks only through the evaluator protocol)."""


def unit_of(module: str) -> tuple[str, int] | None:
    """(unit, rank) of a project module by its longest matching prefix; None if no layer holds it."""
    if module == "rlgo":  # the (empty) root package
        return "base", 0
    best = None
    for unit, rank, prefixes in LAYERS:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), unit, rank)
    return None if best is None else best[1:]


def module_name(path: Path) -> str:
    """'rlgo/go/state.py' -> 'rlgo.go.state'; a package's __init__.py is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, module) of every import in `source` (the text of `module`), at any depth, relative ones
    resolved; `from P import name` counts as P.name when that is a module of the project."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.append((node.lineno, sub if _is_project_module(sub) else target))
    return list(dict.fromkeys(out))  # `from P import a, b` of one module P: once


def _is_project_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def violations(source: str, module: str, where: str, is_package: bool = False) -> list[str]:
    """'where:line -> target (why)' for every import of `module` that breaks the layer rule."""
    own = unit_of(module)
    if own is None:
        return [f"{where}: {module} is in no layer (add it to LAYERS and docs/architecture.md)"]
    found = []
    for line, target in imported(source, module, is_package):
        top = target.split(".")[0]
        if top == "torch" and own[0] in TORCH_FREE:
            found.append(f"{where}:{line} -> {target} ({own[0]} never imports torch)")
        if top not in PROJECT:
            continue
        theirs = unit_of(target)
        if theirs is None:
            found.append(f"{where}:{line} -> {target} (in no layer: benchmarks and tests sit above everything)")
        elif theirs[0] != own[0] and theirs[1] >= own[1]:
            way = "up" if theirs[1] > own[1] else "sideways"
            found.append(f"{where}:{line} -> {target} ({way}: {own[0]} imports {theirs[0]})")
    return found


def checked_files() -> list[Path]:
    files = []
    for name in CHECKED:
        path = ROOT / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def test_every_import_points_down_the_layers():
    found = []
    for path in checked_files():
        found += violations(path.read_text(encoding="utf-8"), module_name(path), str(path.relative_to(ROOT)),
                            path.name == "__init__.py")
    assert not found, "imports that do not point down the layers:\n" + "\n".join(found)


def test_the_checker_sees_every_package():
    assert len(checked_files()) > 100
    units = {unit_of(module_name(p))[0] for p in checked_files() if unit_of(module_name(p))}
    assert units == {unit for unit, _, _ in LAYERS}


@pytest.mark.parametrize("module, source, expected", [
    ("rlgo.go.fake", "from rlgo.train.sl import SLConfig\n", ["fake.py:1 -> rlgo.train.sl (up: go imports train)"]),
    ("rlgo.search.fake", "def f():\n    import rlgo.arena.game\n", ["fake.py:2 -> rlgo.arena.game (up: search imports arena)"]),
    ("rlgo.search.fake", "from ..nn import model\n", ["fake.py:1 -> rlgo.nn.model (up: search imports nn)"]),
    ("rlgo.train.zero.fake", "from ...arena import elo\n", ["fake.py:1 -> rlgo.arena (up: train imports arena)"]),
    ("rlgo.gtp.fake", "from rlgo.arena.game import play_game\n", ["fake.py:1 -> rlgo.arena.game (sideways: gtp imports arena)"]),
    ("rlgo.go.fake", "from rlgo.stats import elo\n", ["fake.py:1 -> rlgo.stats.elo (sideways: go imports stats)"]),
    ("agents.fake", "import envs\n", ["fake.py:1 -> envs (up: agents imports envs)"]),
    ("rlgo.go.fake", "import torch\n", ["fake.py:1 -> torch (go never imports torch)"]),
    ("rlgo.play.fake", "import benchmarks.bench_board\n",
     ["fake.py:1 -> benchmarks.bench_board (in no layer: benchmarks and tests sit above everything)"]),
    ("rlgo.newpkg.fake", "import numpy\n", ["fake.py: rlgo.newpkg.fake is in no layer (add it to LAYERS and docs/architecture.md)"]),
])
def test_the_checker_flags_upward_sideways_and_unplaced_imports(module, source, expected):
    assert violations(source, module, "fake.py") == expected


@pytest.mark.parametrize("module, source", [
    ("rlgo.commands.fake", "from rlgo.train.sl import SLConfig\nimport agents.specs\nimport cli_helpers\n"),
    ("rlgo.search.fake", "from . import tree\nfrom .tree import Forest\nimport numpy as np\n"),
    ("envs.fake", "def f():\n    from agents.specs import make_agent\n"),
    ("rlgo.train.fake", "import torch\nfrom rlgo.stats.elo import fit_elo\nfrom rlgo.gtpclient import GTPClient\n"),
])
def test_the_checker_lets_downward_and_own_package_imports_pass(module, source):
    assert violations(source, module, "fake.py") == []


def test_resign_is_defined_once():
    """One RESIGN for agents, GTP, tournaments and GameState (rlgo.go.coords)."""
    definers = [module_name(p) for p in checked_files()
                if any(isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "RESIGN" for t in node.targets)
                       for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))))]
    assert definers == ["rlgo.go.coords"]
