"""Acceptance 2: the real Pose2Sim take, triangulated here, fits SMPL without NaNs and plausibly.

The real SMPL model cannot be shipped, so the fit uses the synthetic SMPL-layout model (same
24-joint tree and file layout, a coarse body; its shape space is not a human one, so the betas
say nothing about the person). What is checked is the pipeline on real, noisy triangulations
(OpenPose BODY_25B, ~11 px reprojection error): no NaN anywhere, residuals per keypoint of a few
centimetres, a body standing upright on the treadmill.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from calibration.rig_toml import load_rig
from mocap.body.fitting import FitConfig, fit_smpl
from mocap.body.synthetic_model import SyntheticModel
from mocap.formats.openpose_json import read_openpose_take
from mocap.skeleton.layouts import SMPL24
from mocap.triangulation.pipeline import reconstruct
from mocap.triangulation.studies import POSE2SIM_TAKE

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_pose2sim_take_fits(shared_data: Path, synthetic: SyntheticModel) -> None:
    base = shared_data / POSE2SIM_TAKE
    rig = load_rig(base / "calibration_converted_by_pose2sim.toml")
    detections = read_openpose_take(base / "openpose_body25b_json", rig.names, "body25b", fps=60.0)
    poses = reconstruct(rig, detections).poses
    fit = fit_smpl(poses, synthetic.model, FitConfig(body_iterations=30))[0]
    residual = fit.per_joint_residual_m()
    print(
        f"\n[pose2sim SMPL] {fit.num_frames} frames, mean residual {100 * fit.mean_residual_m():.2f} cm, "
        f"{fit.report}\n  per keypoint (median, cm): "
        + ", ".join(f"{name} {100 * value:.1f}" for name, value in residual.items())
    )
    for array in (fit.poses, fit.betas, fit.trans, fit.joints):
        assert np.all(np.isfinite(array))
    assert fit.observed.all()
    assert len(residual) == 25  # every BODY_25B keypoint has an SMPL joint or surface point
    assert fit.mean_residual_m() < 0.03
    assert max(residual.values()) < 0.06
    # upright: head above pelvis above ankles, by body-sized margins (world Z up, metres)
    z = fit.joints[..., 2]
    head, pelvis, ankles = (
        z[:, SMPL24.index("head")],
        z[:, 0],
        z[:, [SMPL24.index("left_ankle"), SMPL24.index("right_ankle")]].mean(axis=1),
    )
    assert np.all(head - pelvis > 0.3) and np.all(pelvis - ankles > 0.6)
