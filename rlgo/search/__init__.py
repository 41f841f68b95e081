"""Monte-Carlo tree search: Numba tree kernels, batched leaf evaluation, evaluators and time control.

    config.py       SearchConfig (frozen) and the errors raised before a search starts
    tree.py         the tree as a struct of preallocated arrays; select / expand / back up / re-root
    simulate.py     descents on real positions (superko, terminal scoring), batch gather and back-up
    evaluator.py    the evaluator protocol (LeafBatch in, priors + values out) and its adapters
    rollout.py      playout policies (uniform, atari-answering heuristic) for rollout evaluators
    rollout_policy.py  the trained fast rollout policy of AlphaGo (pattern features, softmax)
    mcts.py         MCTS: the search loop, subtree reuse, root noise, move choice, analysis
    timecontrol.py  seconds per move from a fixed budget or a GTP clock (Canadian byo-yomi)
"""
