"""rlgo.search.entry: a kernel's compiled entry point answers as its dispatcher does, per argument types."""
import numpy as np
from numba import njit

from rlgo.go.state import GameState
from rlgo.search import simulate as S
from rlgo.search.config import SearchConfig
from rlgo.search.entry import compiled_entry
from rlgo.search.mcts import MCTS


@njit
def _weighted(xs, w):
    total = 0.0
    for i in range(xs.shape[0]):
        total += xs[i] * w
    return total


def test_the_entry_compiles_for_new_types_and_answers_as_the_dispatcher():
    ints, floats = np.arange(5, dtype=np.int64), np.linspace(0.0, 1.0, 7)
    by_int = compiled_entry(_weighted, ints, 2.0)
    assert len(_weighted.signatures) == 1  # compiled on first use
    by_float = compiled_entry(_weighted, floats, 2.0)
    assert len(_weighted.signatures) == 2 and by_int is not by_float
    assert by_int(ints, 3.0) == _weighted(ints, 3.0) == 30.0
    assert by_float(floats, 0.5) == _weighted(floats, 0.5)
    assert compiled_entry(_weighted, ints, 1.0) is by_int  # one entry per signature


def test_a_search_through_the_entry_equals_one_through_the_dispatcher():
    state = GameState(9)
    for gtp in ("E5", "C3"):
        state.play_gtp(gtp)
    searches = []
    for through_dispatcher in (False, True):
        search = MCTS(9, _Uniform(), SearchConfig(batch_size=4, seed=3))
        if through_dispatcher:
            search._step = S.advance
        search.search(state, simulations=300)
        searches.append(search)
    assert (searches[0].visit_counts() == searches[1].visit_counts()).all()
    assert searches[0].root_value() == searches[1].root_value()


class _Uniform:
    feature_set = None
    history_length = 0

    def evaluate(self, batch):
        values = (np.arange(len(batch.b)) % 3 - 1).astype(np.float32) * 0.5
        return np.ones(batch.legal.shape, np.float32), values
