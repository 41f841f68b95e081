"""Plain-text board diagrams (GTP showboard, logs, tests)."""
from __future__ import annotations

from rlgo.go.coords import GTP_LETTERS

_STONE = {0: ".", 1: "X", 2: "O"}


def star_points(size: int) -> set[tuple[int, int]]:
    """(row, col) of the hoshi drawn on a `size` board (5 on 9x9 and 13x13, 9 on 19x19)."""
    if size < 7:
        return set()
    edge = 2 if size < 12 else 3
    lines = [edge, size - 1 - edge]
    points = {(r, c) for r in lines for c in lines}
    if size % 2 == 1 and size >= 9:
        mid = size // 2
        points.add((mid, mid))
        if size >= 15:
            points |= {(mid, edge), (mid, size - 1 - edge), (edge, mid), (size - 1 - edge, mid)}
    return points


def board_text(state) -> str:
    """ASCII diagram: X black, O white, + star point, last move in parentheses."""
    n = state.size
    stones = state.board()
    stars = star_points(n)
    last = state.last_move
    header = "   " + " ".join(GTP_LETTERS[:n])
    lines = [header]
    for r in range(n):
        cells = []
        for c in range(n):
            ch = _STONE[int(stones[r, c])]
            cells.append("+" if ch == "." and (r, c) in stars else ch)
        seps = [" "] * (n + 1)
        if last is not None and last < n * n and last // n == r:
            seps[last % n], seps[last % n + 1] = "(", ")"
        row = "".join(sep + cell for sep, cell in zip(seps, cells)) + seps[n]
        lines.append(f"{n - r:2d}{row}{n - r:d}")
    lines.append(header)
    caps = state.captures
    lines.append(f"to play: {'X' if state.to_play == 1 else 'O'}  captures X {caps[1]} O {caps[2]}  "
                 f"komi {state.rules.komi:g}  move {state.move_number}")
    return "\n".join(lines)
