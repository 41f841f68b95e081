"""Benchmarks run by `rlgo bench`: each benchmarks/bench_<name>.py exposes `run(quick=False) -> dict`.

`run` prints its own table and returns its figures by name (floats; units in the names).
Timing targets live here, never as assertions in tests.
"""
