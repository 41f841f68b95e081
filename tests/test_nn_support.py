"""Helpers shared by the test_nn_* modules (no tests here).

Import `torch_env` into a test module to apply it there (it is autouse).
"""
import pytest
import torch

from rlgo.nn.model import NetConfig


@pytest.fixture(autouse=True)
def torch_env():
    """Fixed seed; one intra-op thread, since competing test processes on few cores make
    torch's spinning worker threads many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


def tiny(backbone: str = "resnet", n: int = 9, **overrides) -> NetConfig:
    """A config small enough for fast tests: width 8, one block, narrow heads."""
    small = dict(width=8, blocks=1, head_width=8, head_hidden=8)
    return NetConfig(backbone=backbone, board_size=n, **{**small, **overrides})
