"""Gymnasium environments of rlgo; importing this package registers them (idempotently)."""
import gymnasium

from envs.go_env import GoEnv

GO_ENV_ID = "rlgo/Go-v0"

if GO_ENV_ID not in gymnasium.registry:
    gymnasium.register(id=GO_ENV_ID, entry_point="envs.go_env:GoEnv")

__all__ = ["GO_ENV_ID", "GoEnv"]
