"""Fixtures of the SMPL tests: the synthetic model, one torch thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mocap.body.synthetic_model import SyntheticModel, make_synthetic_model


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """The fits here run on tensors of a few frames: one intra-op thread avoids thread contention
    on a shared CI machine (two threads were 15x slower than one under load)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def synthetic() -> SyntheticModel:
    return make_synthetic_model(seed=0)
