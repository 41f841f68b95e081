"""Statistics of games between agents: Elo, SPRT, intervals, and the game log they read.

    results.py      results.jsonl: one JSON line per finished game (tournaments and zero gates)
    elo.py          maximum-likelihood Elo (Bradley-Terry) with 95% intervals
    sprt.py         Wald's sequential probability ratio test (gating a candidate network)
    intervals.py    Wilson score interval of a win rate

Plain Python and numpy: everything above rlgo/go may use it (rlgo/train's gate, rlgo/arena).
"""
