"""Robust triangulation, refinement and prior-guided triangulation on hand-made cases."""

import numpy as np
import pytest

from mocap.synthetic.studio import StudioConfig, generate_take
from mocap.triangulation import (
    PointStatus,
    refine_points,
    triangulate_dlt,
    triangulate_guided,
    triangulate_robust,
)
from tests.calibration.test_rig import ring


def observed(rig, points):
    return np.moveaxis(rig.project(points), 0, -2).copy()  # (..., V, 2)


def test_one_and_two_gross_outliers_are_rejected(rng):
    rig = ring(5)
    points = rng.uniform([-1, -1, 0], [1, 1, 2], (40, 3))
    pixels = observed(rig, points)
    pixels[:20, 1] += [80.0, -60.0]  # one wrong view
    pixels[20:, 0] += [-120.0, 40.0]  # two wrong views
    pixels[20:, 3] += [0.0, 150.0]
    plain = triangulate_dlt(rig, pixels)
    assert np.min(np.linalg.norm(plain.points_world - points, axis=-1)) > 1e-3
    result = triangulate_robust(rig, pixels, adaptive=False)
    assert np.max(np.abs(result.points_world - points)) < 1e-9
    assert not result.views_used[:20, 1].any() and result.views_used[:20, [0, 2, 3, 4]].all()
    assert not result.views_used[20:, [0, 3]].any() and (result.n_views[20:] == 3).all()
    # the rejected views keep their (large) errors; inliers reproject exactly
    assert np.all(result.view_errors_px[:20, 1] > 50) and np.nanmax(result.reprojection_error_px) < 1e-6


def test_contested_points_are_nan_unless_accepted(rng):
    rig = ring(4)
    points = rng.uniform([-1, -1, 0], [1, 1, 2], (10, 3))
    pixels = observed(rig, points)
    pixels[:, 2] += [90.0, 0.0]  # two views wrong in different ways: only views 0 and 1 agree
    pixels[:, 3] += [0.0, -120.0]
    result = triangulate_robust(rig, pixels, adaptive=False)
    assert (result.status == PointStatus.CONTESTED).all() and np.isnan(result.points_world).all()
    assert "CONTESTED" in result.describe_failures()
    accepted = triangulate_robust(rig, pixels, adaptive=False, accept_contested=True)
    assert np.max(np.abs(accepted.points_world - points)) < 1e-9 and (accepted.n_views == 2).all()
    # two views only, agreeing: nothing contradicts them
    two = triangulate_robust(rig, np.where(np.arange(4)[:, None] < 2, pixels, np.nan))
    assert two.valid.all()


def test_views_that_disagree_beyond_the_threshold_give_no_consensus():
    rig = ring(2)
    point = np.array([0.3, 0.4, 1.2])
    pixels = observed(rig, point)
    ideal = rig.undistort_points(pixels)  # (V, 2) undistorted pixels
    line = rig.fundamental_matrix(0, 1) @ np.append(ideal[0], 1.0)  # epipolar line in view 1
    across = line[:2] / np.linalg.norm(line[:2])
    pixels[1] = rig[1].distort_points(ideal[1] + 60.0 * across)  # 60 px off the epipolar line
    result = triangulate_robust(rig, pixels, adaptive=False)
    assert result.status == PointStatus.NO_CONSENSUS and result.n_views == 0
    loose = triangulate_robust(rig, pixels, adaptive=False, threshold_px=50.0)
    assert loose.valid and loose.n_views == 2


def test_adaptive_threshold_follows_the_detector_noise():
    quiet = generate_take(StudioConfig(num_frames=60, occlusion=False, noise_px=2.0))
    loud = generate_take(StudioConfig(num_frames=60, occlusion=False, noise_px=12.0))
    for take, low, high in ((quiet, 20.0, 20.0), (loud, 30.0, 60.0)):
        pixels = np.moveaxis(take.detections.xy[:, :, 0], 1, -2)
        result = triangulate_robust(take.rig, pixels)
        assert low <= result.threshold_px <= high, result.threshold_px
        assert result.valid.mean() > 0.97
    fixed = triangulate_robust(loud.rig, np.moveaxis(loud.detections.xy[:, :, 0], 1, -2), adaptive=False)
    assert fixed.threshold_px == 20.0 and fixed.valid.mean() < 0.97  # a fixed 20 px cuts noisy views


def test_refinement_lowers_the_pixel_error_and_the_3d_error():
    take = generate_take(StudioConfig(num_frames=100, occlusion=False, noise_px=3.0, lens="strong"))
    pixels = np.moveaxis(take.detections.xy[:, :, 0], 1, -2).astype(np.float64)
    weights = np.moveaxis(take.detections.score[:, :, 0], 1, -1).astype(np.float64)
    plain = triangulate_robust(take.rig, pixels, weights)
    refined = triangulate_robust(take.rig, pixels, weights, refine=True)
    both = plain.valid & refined.valid
    cost = [np.sum(np.where(r.views_used, weights * r.view_errors_px, 0) ** 2, axis=-1)[both] for r in (plain, refined)]
    assert np.all(cost[1] <= cost[0] + 1e-9) and cost[1].sum() < 0.95 * cost[0].sum()
    truth = take.poses.xyz[:, 0]
    error = [np.mean(np.linalg.norm(r.points_world[both] - truth[both], axis=-1)) for r in (plain, refined)]
    assert error[1] < error[0]


def test_refinement_keeps_exact_points_and_nan_points(rng):
    rig = ring(4)
    points = rng.uniform([-1, -1, 0], [1, 1, 2], (5, 3))
    pixels = observed(rig, points)
    start = points.copy()
    start[0] += 0.02
    start[4] = np.nan
    views = np.ones((5, 4), dtype=bool)
    refined = refine_points(rig, start, pixels, np.ones((5, 4)), views)
    assert np.max(np.abs(refined[:4] - points[:4])) < 1e-9 and np.isnan(refined[4]).all()


def test_a_prior_settles_contested_points(rng):
    rig = ring(4)
    points = rng.uniform([-1, -1, 0], [1, 1, 2], (10, 3))
    pixels = observed(rig, points)
    pixels[:, 2] += [90.0, 0.0]
    pixels[:, 3] += [0.0, -120.0]
    prior = points + rng.normal(0.0, 0.01, points.shape)  # e.g. interpolated from the neighbours
    prior[9] = np.nan
    result = triangulate_guided(rig, pixels, None, prior)
    assert np.max(np.abs(result.points_world[:9] - points[:9])) < 1e-9
    assert not result.views_used[:9, 2:].any()
    assert result.status[9] == PointStatus.NO_CONSENSUS
    far = triangulate_guided(rig, pixels, None, points + [0.5, 0.0, 0.0])  # a prior no view confirms
    assert (far.status == PointStatus.NO_CONSENSUS).all()


def test_bad_settings_are_named():
    rig = ring(3)
    with pytest.raises(ValueError, match="threshold_px must be a positive"):
        triangulate_robust(rig, np.zeros((2, 3, 2)), threshold_px=0.0)
    with pytest.raises(ValueError, match="min_views"):
        triangulate_robust(rig, np.zeros((2, 3, 2)), min_views=1)
    with pytest.raises(ValueError, match="min_weight"):
        triangulate_robust(rig, np.zeros((2, 3, 2)), min_weight=-1.0)
