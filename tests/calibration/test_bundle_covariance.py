"""The predicted covariance of bundle-adjusted camera rotations against repeated noisy solves."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.bundle_adjustment import BoardObservations, BundleOptions, bundle_adjust
from calibration.bundle_covariance import rotation_uncertainty
from calibration.camera import Camera
from calibration.extrinsics import invert_pose, make_pose
from calibration.rig import CameraRig
from calibration.rig_compare import compare_rigs
from mocap.synthetic.boards import BoardStudioConfig, exact_bundle_problem, generate_board_take


def _truth(seed: int = 3, close_ups: bool = True):
    """A 3-camera board take as a bundle problem at the true parameters."""
    take = generate_board_take(BoardStudioConfig(num_cameras=3, intrinsic_views=6, extrinsic_frames=9, seed=seed))
    return take, *exact_bundle_problem(take, close_ups)


def test_prediction_does_not_depend_on_the_world_frame_and_scales_with_noise():
    _, observations, cameras, boards, lenses = _truth()
    base = rotation_uncertainty(observations, cameras, boards, lenses, 0.2)
    # the same rig in another world frame: cameras and boards moved by one rigid transform
    turn = make_pose(np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), np.array([0.3, -1.0, 2.0]))
    other = rotation_uncertainty(observations, cameras @ invert_pose(turn), turn @ boards, lenses, 0.2)
    np.testing.assert_allclose(other.rotation_rms_deg, base.rotation_rms_deg, rtol=1e-6)
    doubled = rotation_uncertainty(observations, cameras, boards, lenses, 0.4)
    np.testing.assert_allclose(doubled.rotation_rms_deg, 2 * base.rotation_rms_deg, rtol=1e-9)
    median, p90 = base.max_angle_quantiles()
    assert np.max(base.rotation_rms_deg) < p90 and median < p90


def test_known_principal_points_remove_most_of_the_rotation_uncertainty():
    _, observations, cameras, boards, lenses = _truth()
    free = rotation_uncertainty(observations, cameras, boards, lenses, 0.2)
    known_centre = rotation_uncertainty(observations, cameras, boards, lenses, 0.2, terms=(0, 1, 4, 5, 6, 7, 8))
    held = rotation_uncertainty(observations, cameras, boards, lenses, 0.2, terms=())
    assert np.all(np.isfinite(free.principal_std_px)) and np.all(np.isnan(held.principal_std_px))
    assert np.all(known_centre.rotation_rms_deg < 0.7 * free.rotation_rms_deg)
    assert np.all(held.rotation_rms_deg <= known_centre.rotation_rms_deg * (1 + 1e-9))


def test_prediction_matches_repeated_solves():
    """Lenses held: 24 noisy solves of the same rig scatter as the covariance says (within sampling error)."""
    take, observations, cameras, boards, lenses = _truth(close_ups=False)
    predicted = rotation_uncertainty(observations, cameras, boards, lenses, 0.3, terms=())
    matrices = np.array([c.matrix for c in take.rig.cameras])
    distortions = lenses[:, 4:]
    from calibration.bundle_projection import project_corners
    from calibration.extrinsics import pose_to_vector

    exact = project_corners(
        observations,
        np.array([pose_to_vector(p) for p in cameras]),
        np.array([pose_to_vector(p) for p in boards]),
        lenses,
    )
    rng = np.random.default_rng(0)
    squared = []
    reference = CameraRig(
        tuple(
            Camera.from_rotation_matrix(c.name, c.image_size, c.matrix, c.distortion, p[:3, :3], p[:3, 3])
            for c, p in zip(take.rig.cameras, cameras, strict=True)
        )
    )
    options = BundleOptions(loss="linear", outlier_min_px=100.0, ftol=1e-10)
    for _ in range(24):
        noisy = BoardObservations(
            observations.camera,
            observations.board,
            observations.points_board,
            exact + rng.normal(0.0, 0.3, exact.shape),
        )
        result = bundle_adjust(noisy, matrices, distortions, cameras, boards, options=options)
        rig = CameraRig(
            tuple(
                Camera.from_rotation_matrix(c.name, c.image_size, c.matrix, c.distortion, p[:3, :3], p[:3, 3])
                for c, p in zip(take.rig.cameras, result.camera_from_reference, strict=True)
            )
        )
        squared.append(compare_rigs(rig, reference).rotation_deg ** 2)
    measured = np.sqrt(np.mean(squared))
    predicted_rms = np.sqrt(np.mean(predicted.rotation_rms_deg**2))
    assert measured == pytest.approx(predicted_rms, rel=0.25)
