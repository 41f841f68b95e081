"""Calling a Numba kernel without its dispatcher's type resolution.

A Numba dispatcher works out the types of its arguments on every call, to pick the compiled
version; for a StructRef argument (rlgo.search.simulate.StepArrays) that costs about 1.5 us, as much
as a small search step's whole tree work. The compiled version's entry point only unboxes the
arguments, trusting their types: call it only with arguments of the types it was made for.
"""
from __future__ import annotations

from typing import Callable

import numba


def compiled_entry(dispatcher, *example) -> Callable:
    """The entry point of `dispatcher` compiled for the Numba types of the `example` arguments (compiled, or
    loaded from Numba's cache, on first use). Every call must pass arguments of those types: the entry
    point does not check them."""
    signature = tuple(numba.typeof(arg) for arg in example)
    if signature not in dispatcher.overloads:
        dispatcher.compile(signature)
    return dispatcher.overloads[signature].entry_point
