"""A deliberately simple, slow, obviously-correct Go board for differential tests.

Stones live in a dict {(row, col): colour}; groups and liberties come from a fresh flood
fill every time; nothing is incremental. Moves and points use the project convention
(point = row * N + col, row 0 at the top, pass = N * N); colours BLACK = 1, WHITE = 2.

Rules implemented:
- occupied points are illegal;
- a move first removes the opponent groups it leaves without liberties, then (suicide
  allowed) its own group if that has none, else (suicide forbidden) the move is illegal;
- simple ko: after a move that captured exactly one stone with a stone that is then a lone
  stone with exactly one liberty, the opponent may not play on the captured point at once
  (reported as 'ko' under every ko rule);
- positional superko: no move may recreate a board seen before in the game (start included);
- situational superko: no move may recreate a board with the same side to move as before;
  positions after passes count as seen;
- area scoring (Tromp-Taylor): stones plus empty regions that reach only one colour;
- territory scoring: empty regions of one colour plus prisoners, after removing dead stones.
"""
from __future__ import annotations

BLACK, WHITE = 1, 2


class RefIllegal(Exception):
    """A move the reference rejects; `reason` is occupied, ko, suicide, superko or game over."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ReferenceBoard:
    """The reference position: stones, side to move, ko point, prisoners and seen positions."""

    def __init__(self, size: int, ko: str = "positional", suicide: bool = False):
        self.size = size
        self.ko_rule = ko
        self.suicide = suicide
        self.stones: dict[tuple[int, int], int] = {}
        self.to_play = BLACK
        self.ko: tuple[int, int] | None = None
        self.prisoners = {BLACK: 0, WHITE: 0}  # opponent stones that left the board, per colour
        self.passes = 0
        self.seen = {self._key(self.stones, BLACK)}
        self._reasons: dict[int, str | None] = {}  # verdicts on the current position
        self._adjacent = {(r, c): [(a, b) for a, b in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
                                   if 0 <= a < size and 0 <= b < size]
                          for r in range(size) for c in range(size)}

    # ----------------------------------------------------------------- geometry
    def _rc(self, point: int) -> tuple[int, int]:
        return divmod(point, self.size)

    def neighbours(self, p: tuple[int, int]) -> list[tuple[int, int]]:
        """On-board orthogonal neighbours of (row, col)."""
        return self._adjacent[p]

    def group(self, stones: dict, p: tuple[int, int]) -> set[tuple[int, int]]:
        """All stones connected to p with p's colour."""
        color = stones[p]
        found, todo = {p}, [p]
        while todo:
            q = todo.pop()
            for u in self.neighbours(q):
                if stones.get(u) == color and u not in found:
                    found.add(u)
                    todo.append(u)
        return found

    def liberties(self, stones: dict, group: set) -> set[tuple[int, int]]:
        """Empty points next to a group."""
        return {u for q in group for u in self.neighbours(q) if u not in stones}

    # ----------------------------------------------------------------- rules
    def _key(self, stones: dict, to_play: int):
        board = frozenset(stones.items())
        return (board, to_play) if self.ko_rule == "situational" else board

    def _after(self, p: tuple[int, int], color: int):
        """(stones after `color` plays p, opponent stones captured, own stones lost to suicide)."""
        stones = dict(self.stones)
        stones[p] = color
        captured = 0
        for u in self.neighbours(p):
            if stones.get(u) == 3 - color:
                g = self.group(stones, u)
                if not self.liberties(stones, g):
                    for q in g:
                        del stones[q]
                    captured += len(g)
        lost = 0
        own = self.group(stones, p)
        if not self.liberties(stones, own):
            for q in own:
                del stones[q]
            lost = len(own)
        return stones, captured, lost

    def illegal_reason(self, point: int) -> str | None:
        """Why the side to move may not play `point` (N*N = pass), or None."""
        if point not in self._reasons:
            self._reasons[point] = self._reason(point)
        return self._reasons[point]

    def _reason(self, point: int) -> str | None:
        if self.passes >= 2:
            return "game over"
        if point == self.size * self.size:
            return None
        p = self._rc(point)
        if p in self.stones:
            return "occupied"
        if p == self.ko:
            return "ko"
        stones, _, lost = self._after(p, self.to_play)
        if lost and not self.suicide:
            return "suicide"
        if self.ko_rule != "simple" and self._key(stones, 3 - self.to_play) in self.seen:
            return "superko"
        return None

    def legal_points(self) -> set[int]:
        """Every legal move of the side to move, pass included."""
        if self.passes >= 2:
            return set()
        return {p for p in range(self.size * self.size + 1) if self.illegal_reason(p) is None}

    def play(self, point: int) -> int:
        """Play for the side to move; returns opponent stones captured. Raises RefIllegal."""
        reason = self.illegal_reason(point)
        if reason is not None:
            raise RefIllegal(reason)
        color = self.to_play
        captured = 0
        self._reasons = {}
        if point == self.size * self.size:
            self.passes += 1
            self.ko = None
        else:
            p = self._rc(point)
            self.stones, captured, lost = self._after(p, color)
            self.prisoners[color] += captured
            self.prisoners[3 - color] += lost
            self.passes = 0
            self.ko = None
            if captured == 1 and p in self.stones:
                own = self.group(self.stones, p)
                libs = self.liberties(self.stones, own)
                if len(own) == 1 and len(libs) == 1:
                    self.ko = next(iter(libs))
        self.to_play = 3 - color
        self.seen.add(self._key(self.stones, self.to_play))
        return captured

    # ----------------------------------------------------------------- views
    def board(self) -> list[list[int]]:
        """Rows top to bottom of 0 / BLACK / WHITE."""
        return [[self.stones.get((r, c), 0) for c in range(self.size)] for r in range(self.size)]

    def ko_point(self) -> int | None:
        """The point simple ko forbids now, or None."""
        return None if self.ko is None else self.ko[0] * self.size + self.ko[1]

    def regions(self, stones: dict) -> list[tuple[set, set]]:
        """Empty regions with the set of colours each one reaches."""
        out, done = [], set()
        for r in range(self.size):
            for c in range(self.size):
                p = (r, c)
                if p in stones or p in done:
                    continue
                region, todo, border = {p}, [p], set()
                while todo:
                    q = todo.pop()
                    for u in self.neighbours(q):
                        if u in stones:
                            border.add(stones[u])
                        elif u not in region:
                            region.add(u)
                            todo.append(u)
                done |= region
                out.append((region, border))
        return out

    def area(self, dead: tuple[int, ...] = ()) -> tuple[int, int]:
        """(black, white) area points: stones plus one-colour regions, `dead` points removed."""
        stones = {p: c for p, c in self.stones.items() if p[0] * self.size + p[1] not in dead}
        score = {BLACK: 0, WHITE: 0}
        for color in stones.values():
            score[color] += 1
        for region, border in self.regions(stones):
            if len(border) == 1:
                score[next(iter(border))] += len(region)
        return score[BLACK], score[WHITE]

    def territory(self, dead: tuple[int, ...] = ()) -> tuple[int, int]:
        """(black, white) territory + prisoners with `dead` stones removed and counted as prisoners."""
        stones = dict(self.stones)
        score = dict(self.prisoners)
        for point in set(dead):
            color = stones.pop(self._rc(point))
            score[3 - color] += 1
        for region, border in self.regions(stones):
            if len(border) == 1:
                score[next(iter(border))] += len(region)
        return score[BLACK], score[WHITE]

    def score(self, komi: float, scoring: str = "area", dead: tuple[int, ...] = ()) -> float:
        """Black minus White minus komi."""
        black, white = self.area(dead) if scoring == "area" else self.territory(dead)
        return black - white - komi


def _atari_liberties(ref: ReferenceBoard) -> list[tuple[int, int]]:
    """Sole liberties of the groups in atari (either colour), sorted."""
    atari, done = set(), set()
    for p in ref.stones:
        if p not in done:
            g = ref.group(ref.stones, p)
            done |= g
            libs = ref.liberties(ref.stones, g)
            if len(libs) == 1:
                atari |= libs
    return sorted(atari)


def _makes_ko(ref: ReferenceBoard, p: tuple[int, int]) -> bool:
    """Whether the side to move playing p captures one stone and leaves a lone stone in atari."""
    stones, captured, _ = ref._after(p, ref.to_play)
    return (captured == 1 and p in stones and len(ref.group(stones, p)) == 1
            and len(ref.liberties(stones, {p})) == 1)


def biased_attempt(ref: ReferenceBoard, rng) -> int:
    """A move to try, biased towards ko captures, ko recaptures, captures, eye fills, occupied points.

    Often illegal on purpose; `rng` is a numpy Generator.
    """
    n = ref.size
    empty = [p for p in range(n * n) if ref._rc(p) not in ref.stones]
    roll = rng.random()
    if roll < 0.04 or not empty:
        return n * n
    if roll < 0.25 and ref.ko is not None:
        return ref.ko_point()
    if roll < 0.35 and ref.stones:
        return int(rng.choice(sorted(r * n + c for r, c in ref.stones)))
    if roll < 0.75:
        atari = _atari_liberties(ref)
        kos = [p for p in atari if _makes_ko(ref, p)] if roll < 0.55 else []
        pick = kos or atari
        if pick:
            r, c = pick[rng.integers(len(pick))]
            return r * n + c
    if roll < 0.95:
        closed = [p for p in empty if all(u in ref.stones for u in ref.neighbours(ref._rc(p)))]
        if closed:
            return int(rng.choice(closed))
    return int(rng.choice(empty))
