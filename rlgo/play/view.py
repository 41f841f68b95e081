"""Board pictures for the terminal: rich Text lines (colour) or plain ASCII (dumb terminals, pipes)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.text import Text

from rlgo.go.coords import GTP_LETTERS, RESIGN, to_gtp
from rlgo.go.render import star_points
from rlgo.go.state import BLACK, EMPTY, WHITE, GameState

COLOR_WORDS = {BLACK: "Black", WHITE: "White"}


@dataclass(frozen=True)
class Glyphs:
    """Characters and rich styles of one drawing mode."""

    stone: dict[int, str]
    """Stone character by colour."""
    empty: str
    """An empty point."""
    star: str
    """An empty star point."""
    territory: dict[int, str]
    """An empty point owned by a colour at the end of the game."""
    dead: dict[int, str]
    """A dead stone of a colour."""
    stone_style: dict[int, str]
    """Style of the stones (and territory marks) of each colour."""
    board_style: str
    """Style of the board background, grid dots and coordinates."""
    mark_style: str
    """Style of the last-move brackets and numbered hint marks."""


PLAIN = Glyphs(stone={BLACK: "X", WHITE: "O"}, empty=".", star="+", territory={BLACK: "b", WHITE: "w"},
               dead={BLACK: "x", WHITE: "o"}, stone_style={BLACK: "", WHITE: ""}, board_style="", mark_style="")
COLOR = Glyphs(stone={BLACK: "●", WHITE: "●"}, empty="·", star="+", territory={BLACK: "▪", WHITE: "▪"},
               dead={BLACK: "×", WHITE: "×"}, stone_style={BLACK: "bold #000000", WHITE: "bold #ffffff"},
               board_style="#5c4314 on #dcb35c", mark_style="bold #c00000 on #dcb35c")


def board_lines(state: GameState, glyphs: Glyphs, owner: np.ndarray | None = None, dead=(),
                marks: dict[int, str] | None = None) -> list[Text]:
    """The board with coordinates on all sides, star points and the last move in brackets.

    owner: int8 [N, N] area owners to mark on empty points and dead stones (end of game);
    dead: points of dead stones; marks: {point: one character} drawn on empty points (hints).
    """
    n = state.size
    stones = state.board()
    stars = star_points(n)
    dead, marks = set(dead), marks or {}
    last = state.last_move if state.last_move is not None and 0 <= state.last_move < n * n else None
    letters = Text().append("   " + " ".join(GTP_LETTERS[:n]) + "    ", style=glyphs.board_style)
    lines = [letters]
    for r in range(n):
        line = Text().append(f"{n - r:2d}", style=glyphs.board_style)
        for c in range(n):
            point = r * n + c
            opening, closing = point == last, c > 0 and point - 1 == last
            line.append("(" if opening else ")" if closing else " ",
                        style=glyphs.mark_style if opening or closing else glyphs.board_style)
            owned = EMPTY if owner is None else int(owner[r, c])
            line.append(*_cell(glyphs, int(stones[r, c]), point, (r, c) in stars, owned, dead, marks))
        line.append(")" if last == r * n + n - 1 else " ",
                    style=glyphs.mark_style if last == r * n + n - 1 else glyphs.board_style)
        line.append(f" {n - r:<2d}", style=glyphs.board_style)
        lines.append(line)
    lines.append(letters.copy())
    return lines


def _cell(glyphs: Glyphs, color: int, point: int, star: bool, owned: int, dead, marks) -> tuple[str, str]:
    """(character, style) of one point; `owned` is its area owner at the end of the game (or EMPTY)."""
    if color != EMPTY and point in dead:
        return glyphs.dead[color], _on_board(glyphs, glyphs.stone_style[color])
    if color != EMPTY:
        return glyphs.stone[color], _on_board(glyphs, glyphs.stone_style[color])
    if point in marks:
        return marks[point], glyphs.mark_style
    if owned != EMPTY:
        return glyphs.territory[owned], _on_board(glyphs, glyphs.stone_style[owned])
    return (glyphs.star if star else glyphs.empty), glyphs.board_style


def _on_board(glyphs: Glyphs, style: str) -> str:
    """`style` on the board's background colour (plain mode: no style)."""
    return f"{style} on {glyphs.board_style.split(' on ')[-1]}" if glyphs.board_style else style


def info_lines(state: GameState, players: dict[int, str], glyphs: Glyphs = PLAIN) -> list[Text]:
    """Side panel (at most 30 columns): move number, side to move, players with captures, komi, last move."""
    lines = [Text(f"Move {state.move_number}" + ("" if state.is_over else f", {COLOR_WORDS[state.to_play]} to play"))]
    for color in (BLACK, WHITE):
        line = Text().append(glyphs.stone[color], style=_on_board(glyphs, glyphs.stone_style[color]))
        lines.append(line.append(f" {COLOR_WORDS[color]} {players[color]:<8.8} captures {state.captures[color]}"))
    lines.append(Text(f"Komi {state.rules.komi:g}, {state.rules.scoring} scoring"))
    if state.moves:
        color, point = state.moves[-1]
        lines.append(Text(f"Last: {COLOR_WORDS[color]} {'resigns' if point == RESIGN else to_gtp(point, state.size)}"))
    return lines


def compose(board: list[Text], info: list[Text], width: int) -> list[Text]:
    """The info panel to the right of the board when it fits in `width` columns, else below it."""
    panel_width = max((t.cell_len for t in info), default=0)
    if board[0].cell_len + 3 + panel_width > width or len(info) >= len(board):
        return board + info
    out = []
    for i, line in enumerate(board):
        row = line.copy()
        if 1 <= i <= len(info):
            row.append("   ").append_text(info[i - 1])
        out.append(row)
    return out
