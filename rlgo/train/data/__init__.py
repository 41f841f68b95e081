"""Supervised-learning data: GTP-engine game generation, SGF datasets, shards and batch readers."""
