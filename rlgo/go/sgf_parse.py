"""SGF syntax: decoding, a position-tracking tokenizer/parser to a tree of nodes, text escapes.

The parser knows nothing of Go; `rlgo.go.sgf` turns the main line of a tree into a GameRecord.
Every error is an SGFError naming the line and column (1-based, in characters) where it occurs.
"""
from __future__ import annotations

import bisect
import codecs
import re
from dataclasses import dataclass, field

from rlgo.go.errors import GoError


class SGFError(GoError, ValueError):
    """A malformed or unusable SGF file; names the file position and, for moves, the move number."""

    def __init__(self, message: str, line: int | None = None, col: int | None = None,
                 move: int | None = None, source: str | None = None):
        self.detail, self.line, self.col, self.move, self.source = message, line, col, move, source
        where = ":".join(str(x) for x in (source, line, col) if x is not None)
        text = f"move {move}: {message}" if move is not None else message
        super().__init__(f"{where}: {text}" if where else text)


@dataclass
class Prop:
    """One property of a node: identifier, raw values (escapes kept) and their (line, col)."""

    name: str
    values: list[str] = field(default_factory=list)
    where: list[tuple[int, int]] = field(default_factory=list)

    def error(self, message: str, index: int = 0, move: int | None = None) -> SGFError:
        """An SGFError located at value `index` of this property."""
        return SGFError(f"{self.name}[{_clip(self.values[index])}]: {message}", *self.where[index], move=move)


Node = dict[str, Prop]
"""Properties of a node by identifier (repeated identifiers in one node are merged)."""


@dataclass
class GameTree:
    """A sequence of nodes followed by variations (children[0] is the main line)."""

    nodes: list[Node]
    children: list["GameTree"]
    where: tuple[int, int]
    """(line, col) of the opening '('."""

    def main_line(self) -> list[Node]:
        """The nodes of the first variation at every branch, root first."""
        out, tree = [], self
        while True:
            out.extend(tree.nodes)
            if not tree.children:
                return out
            tree = tree.children[0]


_CA = re.compile(rb"CA\s*\[([^\]]*)\]")
_WS = re.compile(r"\s*")
_IDENT = re.compile(r"[A-Za-z]+")
_VALUE = re.compile(r"\[((?:[^\]\\]|\\.)*)\]", re.S)
_TEXT = re.compile(r"\\(?:\r\n|\n\r|\r|\n)|\\(.)|(\r\n|\n\r|\r|\n)|[\t\v\f]", re.S)


def decode(data: str | bytes) -> str:
    """Text of an SGF file: str as is; bytes by their CA[] charset, else UTF-8, else latin-1."""
    if isinstance(data, str):
        return data
    declared = _CA.search(data)
    names = [declared.group(1).decode("ascii", "replace").strip()] if declared else []
    for name in names + ["utf-8-sig"]:
        try:
            return data.decode(codecs.lookup(name).name)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


class _Locator:
    """Offset -> (line, col), both 1-based."""

    def __init__(self, text: str):
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def __call__(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1


def parse_trees(data: str | bytes) -> list[GameTree]:
    """All game trees of a collection; raises SGFError (with line:col) on any syntax error."""
    text = decode(data).lstrip("\ufeff")
    at = _Locator(text)
    nul = text.find("\x00")
    if nul >= 0:
        raise SGFError("binary data (NUL byte), not an SGF file", *at(nul))
    trees: list[GameTree] = []
    stack: list[GameTree] = []
    node: Node | None = None
    pos = _WS.match(text).end()
    if pos == len(text):
        raise SGFError("empty file, no game tree", *at(pos))
    while pos < len(text):
        char = text[pos]
        if not stack:
            if char != "(":
                raise SGFError(f"expected '(' to start a game tree, found {_clip(text[pos:])!r}", *at(pos))
        if char == "(":
            tree = GameTree([], [], at(pos))
            pos = _WS.match(text, pos + 1).end()
            if not text.startswith(";", pos):
                raise SGFError(f"expected ';' after '(', found {_clip(text[pos:]) or 'end of file'!r}", *at(pos))
            if stack:
                stack[-1].children.append(tree)
            stack.append(tree)
            node = None
            continue
        if char == ")":
            tree = stack.pop()
            if not stack:
                trees.append(tree)
            node = None
            pos += 1
        elif char == ";":
            if stack[-1].children:
                raise SGFError("node after a variation (expected '(' or ')')", *at(pos))
            node = {}
            stack[-1].nodes.append(node)
            pos += 1
        elif (ident := _IDENT.match(text, pos)) and node is not None:
            pos = _read_property(text, ident, node, at)
            continue
        else:
            raise SGFError(f"unexpected {_clip(text[pos:])!r}", *at(pos))
        pos = _WS.match(text, pos).end()
    if stack:
        raise SGFError("game tree not closed (missing ')')", *stack[-1].where)
    return trees


def _read_property(text: str, ident: re.Match, node: Node, at: _Locator) -> int:
    """Parse one property (identifier and values) into `node`; returns the offset after it."""
    name = ident.group()
    if not name.isupper():
        name = "".join(c for c in name if c.isupper())  # FF[1-3] lower-case letters are ignored
        if not name:
            raise SGFError(f"bad property identifier {ident.group()!r}", *at(ident.start()))
    prop = node.get(name)
    if prop is None:
        prop = node[name] = Prop(name)
    pos = _WS.match(text, ident.end()).end()
    if not text.startswith("[", pos):
        raise SGFError(f"property {name} has no value", *at(ident.start()))
    while text.startswith("[", pos):
        value = _VALUE.match(text, pos)
        if value is None:
            raise SGFError(f"unclosed value of {name} (missing ']')", *at(pos))
        prop.values.append(value.group(1))
        prop.where.append(at(pos))
        pos = _WS.match(text, value.end()).end()
    return pos


def text_value(raw: str, simple: bool = False) -> str:
    """Unescape an SGF Text value (SimpleText when `simple`: line breaks become spaces).

    Soft line breaks (backslash + newline) vanish, other escapes keep the escaped char,
    every line break style becomes '\\n' and other whitespace becomes a space.
    """
    def replace(match: re.Match) -> str:
        if match.group(1) is not None:
            return match.group(1)
        if match.group(0).startswith("\\"):
            return ""
        if match.group(2) is not None:
            return " " if simple else "\n"
        return " "
    return _TEXT.sub(replace, raw)


def escape_text(text: str) -> str:
    """Escape a Text value for writing between brackets."""
    return text.replace("\\", "\\\\").replace("]", "\\]")


def _clip(text: str, width: int = 20) -> str:
    return text if len(text) <= width else text[:width] + "..."
