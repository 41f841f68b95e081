"""AlphaGo Zero self-play training: batched multi-game MCTS, on-disk replay buffer, training, gating."""
