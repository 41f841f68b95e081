"""Seeds of runs and games: fresh OS entropy unless the user gives one, always recorded where it was used."""
from __future__ import annotations

import secrets

SEED_BITS = 31
"""Seeds are in [0, 2**31): every generator, GTP engine and spec key takes them."""


def fresh_seed() -> int:
    """A seed drawn from OS entropy (what a run or an agent uses when no seed is given)."""
    return secrets.randbits(SEED_BITS)
