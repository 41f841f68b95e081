"""THE search: a batch of Numba trees stepped together (B = 1 for one agent), evaluators, time control.

    config.py       SearchConfig (frozen) and the errors raised before a search starts
    tree.py         the trees as a Forest of preallocated arrays; select / expand / back up / re-root
    gumbel.py       the Gumbel root: halving schedule, sigma(completed Q), improved policy, selections
    simulate.py     descents on real positions (superko, terminal scoring); gather / apply over all trees
    filters.py      move filters (avoid / allow of the analysis commands) and the ban table the search reads
    evaluator.py    the evaluator protocol (LeafBatch in, priors + values out) and its adapters
    rollout.py      rollout policies (uniform, atari-answering heuristic) for rollout evaluators
    rollout_policy.py  the trained fast rollout policy of AlphaGo (pattern features, softmax)
    mcts.py         MCTS: the search loop over many trees, subtree reuse, root noise, move choice,
                    policy target, resign value, the pass rule, analysis
    timecontrol.py  THE time control: seconds per move from a fixed budget or a GTP clock (Canadian
                    byo-yomi), for search agents and for the GTP engine's per-move deadline
"""
