"""Known-answer SMPL fits: joints made from known beta/theta/translation plus noise are recovered."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from calibration.progress import CancelToken, Progress
from mocap.body.alignment import FitError
from mocap.body.fitting import FitConfig, fit_smpl, fit_smpl_iter
from mocap.body.result import SmplFit
from mocap.body.synthetic_model import SyntheticModel
from mocap.body.synthetic_motion import KnownMotion, observe_keypoints, random_motion
from mocap.errors import CancelledError
from mocap.poses3d import Poses3D
from mocap.skeleton.layouts import SMPL24, get_layout

log = logging.getLogger(__name__)


def errors(fit: SmplFit, motion: KnownMotion, true_joints: NDArray[np.float64]) -> dict[str, float]:
    body_error = np.abs(fit.poses[:, 3:] - motion.poses[:, 3:])
    return {
        "mpjpe_cm": 100 * float(np.linalg.norm(fit.joints - true_joints, axis=-1).mean()),
        "beta_rms": float(np.sqrt(np.mean((fit.betas - motion.betas) ** 2))),
        "beta_max": float(np.abs(fit.betas - motion.betas).max()),
        "theta_mean_deg": float(np.degrees(body_error.mean())),
        "theta_median_deg": float(np.degrees(np.median(body_error))),
    }


def test_known_answer_smpl24(synthetic: SyntheticModel) -> None:
    """Acceptance 1: SMPL joints + 1 cm noise -> fitted joints within 1.5 cm MPJPE of the truth."""
    motion = random_motion(frames=16, seed=1)
    clean, true_joints = observe_keypoints(synthetic.model, motion, SMPL24)
    noisy = clean + np.random.default_rng(2).normal(0.0, 0.01, clean.shape)
    fit = fit_smpl(Poses3D.from_points(noisy[:, None], SMPL24, motion.fps), synthetic.model)[0]
    result = errors(fit, motion, true_joints)
    log.info("known answer smpl24: %s", result)
    print("known answer smpl24:", {k: round(v, 3) for k, v in result.items()})
    assert result["mpjpe_cm"] < 1.5
    assert result["beta_rms"] < 0.4
    assert result["theta_median_deg"] < 10.0
    assert np.all(fit.observed)
    # residuals against the noisy input are about the noise (1 cm per axis -> ~1.6 cm in 3D)
    assert 0.5 < 100 * fit.mean_residual_m() < 2.0
    np.testing.assert_allclose(fit.trans, motion.trans, atol=0.03)


def test_known_answer_detector_layout(synthetic: SyntheticModel) -> None:
    """BODY_25B keypoints (joints, approximate hips/neck, nose/eyes/ears/toes/heels from vertices)."""
    layout = get_layout("body_25b")
    motion = random_motion(frames=12, seed=8)
    clean, true_joints = observe_keypoints(synthetic.model, motion, layout)
    noisy = clean + np.random.default_rng(9).normal(0.0, 0.01, clean.shape)
    poses = Poses3D.from_points(noisy[:, None], layout, motion.fps)
    fit = fit_smpl(poses, synthetic.model, vertex_keypoints=synthetic.vertex_keypoints)[0]
    result = errors(fit, motion, true_joints)
    print("known answer body_25b:", {k: round(v, 3) for k, v in result.items()})
    assert result["mpjpe_cm"] < 1.5
    residual = fit.per_joint_residual_m()
    assert set(residual) == set(layout.joint_names)  # every BODY_25B keypoint has an SMPL point
    assert "nose" in residual and "left_big_toe" in residual and "head_top" in residual
    assert max(residual.values()) < 0.03


def test_missing_joints_and_unobserved_frames(synthetic: SyntheticModel) -> None:
    motion = random_motion(frames=12, seed=4)
    clean, true_joints = observe_keypoints(synthetic.model, motion, SMPL24)
    rng = np.random.default_rng(5)
    noisy = clean + rng.normal(0.0, 0.01, clean.shape)
    noisy[rng.random(noisy.shape[:2]) < 0.2] = np.nan
    noisy[6] = np.nan  # one frame with nothing
    fit = fit_smpl(Poses3D.from_points(noisy[:, None], SMPL24, motion.fps), synthetic.model)[0]
    assert not fit.observed[6] and fit.observed.sum() == 11
    assert np.all(np.isfinite(fit.poses)) and np.all(np.isfinite(fit.joints))
    assert np.isnan(fit.residual_m[6]).all()
    per_frame = 100 * np.linalg.norm(fit.joints - true_joints, axis=-1).mean(axis=1)
    assert per_frame[fit.observed].mean() < 2.0
    assert per_frame[6] < 5.0  # carried by the smoothness prior from its neighbours


def test_progress_and_cancel(synthetic: SyntheticModel) -> None:
    motion = random_motion(frames=5, seed=6)
    clean, _ = observe_keypoints(synthetic.model, motion, SMPL24)
    poses = Poses3D.from_points(clean[:, None], SMPL24, motion.fps)
    config = FitConfig(global_iterations=2, body_iterations=3)
    reports: list[Progress] = []
    generator = fit_smpl_iter(poses, synthetic.model, config)
    while True:
        try:
            reports.append(next(generator))
        except StopIteration:
            break
    assert {p.stage for p in reports} <= {"global", "body"} and reports[-1].stage == "body"
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        fit_smpl(poses, synthetic.model, config, cancel=token)


def test_unfittable_input(synthetic: SyntheticModel) -> None:
    nothing = Poses3D.from_points(np.full((3, 1, 24, 3), np.nan), SMPL24, 30.0)
    with pytest.raises(FitError, match="person 0"):
        fit_smpl(nothing, synthetic.model)
    coco = get_layout("coco17")
    only_face = np.full((3, 1, coco.num_joints, 3), np.nan)
    only_face[:, :, :5] = np.random.default_rng(0).normal(size=(3, 1, 5, 3))
    poses = Poses3D.from_points(only_face, coco, 30.0)
    with pytest.raises(FitError, match="torso"):
        fit_smpl(poses, synthetic.model, vertex_keypoints=synthetic.vertex_keypoints)


def test_smpl_npz_round_trip(synthetic: SyntheticModel, tmp_path: Path) -> None:
    motion = random_motion(frames=4, seed=7)
    clean, _ = observe_keypoints(synthetic.model, motion, SMPL24)
    poses = Poses3D.from_points(clean[:, None], SMPL24, motion.fps, person_id=[3])
    fit = fit_smpl(poses, synthetic.model, FitConfig(global_iterations=1, body_iterations=2))[0]
    path = fit.save(tmp_path / "smpl.npz")
    with np.load(path, allow_pickle=False) as data:
        assert data["poses"].shape == (4, 72) and data["betas"].shape == (10,) and data["trans"].shape == (4, 3)
        assert str(data["gender"]) == "neutral" and float(data["mocap_framerate"]) == motion.fps
    loaded = SmplFit.load(path)
    np.testing.assert_array_equal(loaded.poses, fit.poses)
    np.testing.assert_array_equal(loaded.residual_m, fit.residual_m)
    assert loaded.person_id == 3 and loaded.source_layout == SMPL24
    assert FitConfig.model_validate_json(loaded.config) == FitConfig(global_iterations=1, body_iterations=2)
    assert loaded.code_version == fit.code_version != ""
    exported = loaded.to_poses3d()
    assert exported.layout == SMPL24 and exported.xyz.shape == (4, 1, 24, 3)


def test_several_people(synthetic: SyntheticModel, caplog: pytest.LogCaptureFixture) -> None:
    motions = [random_motion(frames=4, seed=s) for s in (20, 21)]
    points = np.stack([observe_keypoints(synthetic.model, m, SMPL24)[0] for m in motions], axis=1)
    stray = np.full((4, 1, 24, 3), np.nan)
    stray[1, 0, 3] = 1.0  # a track of one stray point
    poses = Poses3D.from_points(np.concatenate([points, stray], axis=1), SMPL24, 30.0, person_id=[5, 2, 9])
    quick = FitConfig(global_iterations=2, body_iterations=3)
    fits = fit_smpl(poses, synthetic.model, quick)
    assert [f.person_id for f in fits] == [5, 2] and "skipping person 9" in caplog.text
    assert np.linalg.norm(fits[1].joints - points[:, 1], axis=-1).mean() < 0.05
    with pytest.raises(FitError, match="person 9"):
        fit_smpl(poses, synthetic.model, quick, person_ids=[9])
    with pytest.raises(FitError, match="no person with id 4"):
        fit_smpl(poses, synthetic.model, quick, person_ids=[4])


def test_long_take_in_windows(synthetic: SyntheticModel) -> None:
    """A take longer than the window: one shape, overlapping windows, seamless joints."""
    from mocap.body.windows import window_starts

    assert window_starts(10, 16, 6) == [0]
    starts = window_starts(40, 16, 6)
    assert starts[0] == 0 and starts[-1] == 24 and all(b - a <= 10 for a, b in itertools.pairwise(starts))
    motion = random_motion(frames=24, seed=14)
    clean, true_joints = observe_keypoints(synthetic.model, motion, SMPL24)
    noisy = clean + np.random.default_rng(15).normal(0.0, 0.01, clean.shape)
    config = FitConfig(window_frames=12, window_overlap_frames=4)
    fit = fit_smpl(Poses3D.from_points(noisy[:, None], SMPL24, motion.fps), synthetic.model, config)[0]
    assert fit.num_frames == 24 and np.all(np.isfinite(fit.poses))
    assert fit.report is not None and "windows body" in fit.report.iterations
    error = np.linalg.norm(fit.joints - true_joints, axis=-1).mean(axis=1)  # (T,)
    assert error.mean() < 0.015
    # no jump at the seams: frame-to-frame joint motion stays that of the true motion
    step = np.linalg.norm(np.diff(fit.joints, axis=0), axis=-1).max(axis=1)
    true_step = np.linalg.norm(np.diff(true_joints, axis=0), axis=-1).max(axis=1)
    assert np.all(step < true_step + 0.02)
