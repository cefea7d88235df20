"""Shared fixtures: the real-data folder (skips with a reason when absent) and small helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mocap.data_paths import shared_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or ``$MOCAP_TEST_DATA``); skips the test when it is absent."""
    root = shared_data_dir()
    if root is None:
        pytest.skip("real data folder ../shared/data is absent (set MOCAP_TEST_DATA to point at it)")
    return root


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
