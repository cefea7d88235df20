"""Fixtures of the export tests: the synthetic two-person take, the Pose2Sim take, Blender."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from mocap.synthetic.studio import StudioConfig, generate_take

ROOT = Path(__file__).resolve().parents[3]
BLENDER_PYTHON = ROOT / ".venv-blender" / "bin" / "python"
MEASURE = ROOT / "tools" / "blender_measure.py"


@pytest.fixture(scope="session")
def synthetic_poses():
    """Ground truth of a 300-frame synthetic take with two people (COCO-17, 30 fps)."""
    return generate_take(StudioConfig(num_people=2, num_frames=300, seed=7)).poses


@pytest.fixture(scope="session")
def pose2sim_poses(shared_data):
    """The real Pose2Sim demo take: OpenPose BODY_25B triangulated with the reference calibration (60 fps)."""
    from calibration.rig_toml import load_rig
    from mocap.formats.openpose_json import read_openpose_folders
    from mocap.triangulation.single_person import triangulate_single_person

    base = shared_data / "pose2sim_demo" / "balancing_trial_reference"
    rig = load_rig(base / "calibration_converted_by_pose2sim.toml")
    folders = [base / "openpose_body25b_json" / f"cam0{i}_json" for i in range(1, 5)]
    detections = read_openpose_folders(folders, rig.names, "body25b", fps=60.0)
    return triangulate_single_person(rig, detections)


def require_blender(python: Path, environ: Mapping[str, str]) -> Path:
    """``python`` of .venv-blender; fails the test when missing, skips only on ``MOCAP_SKIP_BLENDER=1``."""
    if environ.get("MOCAP_SKIP_BLENDER") == "1":
        pytest.skip("MOCAP_SKIP_BLENDER=1: Blender round-trip tests skipped on request")
    if not python.is_file():
        pytest.fail(f"{python} is missing: run make blender-venv (or set MOCAP_SKIP_BLENDER=1 to skip)")
    return python


@pytest.fixture(scope="session")
def blender():
    """A function ``measure(file, up="y", scale=1.0) -> dict`` that imports a file into Blender.

    A missing ``.venv-blender`` fails the test (CI builds it with ``make blender-venv``) unless
    ``MOCAP_SKIP_BLENDER=1`` is set, which skips with that reason.
    """
    python = require_blender(BLENDER_PYTHON, os.environ)

    def measure(path: Path, up: str = "y", scale: float = 1.0) -> dict:
        out = path.with_suffix(path.suffix + ".blender.npz")
        command = [str(python), str(MEASURE), str(path), str(out), "--up", up, "--scale", str(scale)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert result.returncode == 0, f"Blender import of {path.name} failed:\n{result.stderr[-3000:]}"
        with np.load(out, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}

    return measure
