"""Fixtures of the SMPL tests: the synthetic model and known motion made from known parameters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from numpy.typing import NDArray

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


@dataclass(frozen=True)
class KnownMotion:
    """Parameters of a known motion: betas (S,), poses (T, 72) axis-angle, trans (T, 3), fps."""

    betas: NDArray[np.float64]
    poses: NDArray[np.float64]
    trans: NDArray[np.float64]
    fps: float


def known_motion(frames: int, seed: int = 1, fps: float = 30.0) -> KnownMotion:
    """Smooth random motion inside the joint limits, standing upright in the Z-up world, turning."""
    from scipy.spatial.transform import Rotation

    from mocap.body.priors import joint_limits

    rng = np.random.default_rng(seed)
    limits = joint_limits()
    t = np.arange(frames) / fps
    amplitude = rng.uniform(0.1, 0.4, (23, 3))
    phase = rng.uniform(0.0, 2 * np.pi, (23, 3))
    freq = rng.uniform(0.3, 1.0, (23, 3))
    centre = 0.15 * (limits[..., 0] + limits[..., 1])
    body = centre + amplitude * np.sin(2 * np.pi * freq * t[:, None, None] + phase)
    body = np.clip(body, limits[..., 0] + 0.05, limits[..., 1] - 0.05)
    # SMPL's Y-up frame into the Z-up world (+90 deg about X), then a slow turn about Z
    turn = Rotation.from_rotvec(np.stack([np.zeros(frames), np.zeros(frames), 0.5 * np.sin(t) + 0.3], axis=1))
    root = (turn * Rotation.from_rotvec([np.pi / 2, 0.0, 0.0])).as_rotvec()
    trans = np.stack([0.5 * t + 0.2, 0.1 * np.sin(t), np.full(frames, 0.95)], axis=1)
    poses = np.concatenate([root, body.reshape(frames, 69)], axis=1)
    return KnownMotion(betas=rng.normal(0.0, 1.0, 10), poses=poses, trans=trans, fps=fps)
