"""Plain weighted DLT: known answers, weights, NaN handling, statuses, bad input."""

import numpy as np
import pytest

from calibration.camera import Camera
from calibration.distortion import distort
from calibration.rig import CameraRig
from calibration.rotations import look_at
from mocap.errors import MismatchError, ShapeError
from mocap.metrics import mpjpe
from mocap.synthetic.studio import StudioConfig, generate_take
from mocap.triangulation import PointStatus, TriangulationConfig, triangulate, triangulate_dlt
from mocap.triangulation.single_person import triangulate_single_person
from tests.calibration.test_rig import ring


def test_noise_free_points_come_back_exactly(rng):
    rig = ring(6)
    points = rng.uniform([-1, -1, 0], [1, 1, 2], (50, 17, 3))
    pixels = np.moveaxis(rig.project(points), 0, -2)  # (50, 17, V, 2)
    result = triangulate_dlt(rig, pixels)
    assert result.points_world.shape == (50, 17, 3) and result.view_errors_px.shape == (50, 17, 6)
    assert np.max(np.abs(result.points_world - points)) < 1e-9
    assert np.nanmax(result.reprojection_error_px) < 1e-6
    assert (result.n_views == 6).all() and (result.status == PointStatus.OK).all()
    assert result.points_world.dtype == np.float64 and not result.points_world.flags.writeable


@pytest.mark.parametrize("lens", ["none", "mild", "strong"])
def test_noise_free_studio_take_is_recovered_below_a_micrometre(lens):
    take = generate_take(StudioConfig(num_frames=40, occlusion=False, lens=lens, num_cameras=5))
    pixels = np.moveaxis(take.true_xy[:, :, 0], 1, -2)  # exact float64 projections (T, J, V, 2)
    for config in (TriangulationConfig(method="dlt", refine=False), TriangulationConfig()):
        result = triangulate(take.rig, pixels, None, config)
        error = np.linalg.norm(result.points_world - take.poses.xyz[:, 0], axis=-1)
        assert np.nanmax(error) < 1e-6, (lens, config.method)
        assert np.isfinite(error).mean() > 0.99


def test_weights_views_and_missing_data(rng):
    rig = ring(4)
    points = rng.uniform([-1, -1, 0], [1, 1, 2], (10, 3))
    pixels = np.moveaxis(rig.project(points), 0, -2)
    weights = np.ones((10, 4))
    pixels[0, 1:] = np.nan  # one view only -> NaN with a reason, not an exception
    pixels[1, 2] = np.nan  # NaN view ignored
    weights[2, 3] = 0.0  # zero weight ignored
    pixels[2, 3] += 500.0  # ... so its outlier does not matter
    weights[3, 0] = np.nan  # NaN weight counts as 0
    result = triangulate_dlt(rig, pixels, weights)
    assert np.isnan(result.points_world[0]).all() and result.n_views[0] == 0
    assert result.status[0] == PointStatus.TOO_FEW_VIEWS
    assert result.n_views[1] == 3 and result.n_views[2] == 3 and result.n_views[3] == 3
    assert np.max(np.abs(result.points_world[1:] - points[1:])) < 1e-9
    assert np.isnan(result.view_errors_px[1, 2]) and not result.views_used[2, 3]
    assert "1 TOO_FEW_VIEWS" in result.describe_failures()
    all_nan = triangulate_dlt(rig, np.full((3, 4, 2), np.nan))
    assert np.isnan(all_nan.points_world).all() and np.isnan(all_nan.reprojection_error_px).all()
    assert (all_nan.status == PointStatus.TOO_FEW_VIEWS).all()


def test_min_views_and_min_weight(rng):
    rig = ring(4)
    points = rng.uniform([-1, -1, 0], [1, 1, 2], (6, 3))
    pixels = np.moveaxis(rig.project(points), 0, -2)
    weights = np.full((6, 4), 0.9)
    weights[:3, :2] = 0.2
    result = triangulate_dlt(rig, pixels, weights, min_views=3, min_weight=0.5)
    assert (result.status[:3] == PointStatus.TOO_FEW_VIEWS).all() and result.valid[3:].all()


def test_weights_pull_towards_confident_views(rng):
    rig = ring(4)
    point = np.array([0.2, -0.1, 1.0])
    pixels = np.moveaxis(rig.project(point), 0, -2).copy()  # (V, 2)
    pixels[0] += [6.0, -4.0]  # a bad but not outrageous view
    even = triangulate_dlt(rig, pixels)
    low = triangulate_dlt(rig, pixels, [0.1, 1.0, 1.0, 1.0])
    assert np.linalg.norm(low.points_world - point) < 0.2 * np.linalg.norm(even.points_world - point)


def test_parallel_rays_are_degenerate_and_points_behind_are_flagged():
    # two cameras on one line looking the same way: every ray through both centres is shared
    rotation, _ = look_at([0.0, -4.0, 1.0], [0.0, 0.0, 1.0])
    centres = ([0.0, -4.0, 1.0], [0.0, -3.0, 1.0])
    intrinsics = [[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]]
    cams = [
        Camera.from_rotation_matrix(f"c{i}", (640, 480), intrinsics, [], rotation, -rotation @ np.array(c))
        for i, c in enumerate(centres)
    ]
    rig = CameraRig(tuple(cams))
    on_axis = np.moveaxis(rig.project(np.array([0.0, 0.0, 1.0])), 0, -2)
    result = triangulate_dlt(rig, on_axis)
    assert result.status == PointStatus.DEGENERATE and np.isnan(result.points_world).all()
    # consistent observations of a point behind camera 0 (pinhole maths does not see the sign)
    front = ring(2)  # cam_1 at (4, 0, 2) and cam_2 at (-4, 0, 2), facing each other
    behind_cam_1 = np.array([6.0, 0.2, 2.5])
    in_cameras = [cam.world_to_camera(behind_cam_1) for cam in front]
    assert in_cameras[0][2] < 0 < in_cameras[1][2]
    pixels = np.stack(
        [
            cam.normalized_to_pixels(distort(pc[:2] / pc[2], cam.distortion))
            for cam, pc in zip(front, in_cameras, strict=True)
        ]
    )
    behind = triangulate_dlt(front, pixels)
    assert behind.status == PointStatus.BEHIND_CAMERA and np.isnan(behind.points_world).all()
    assert behind.n_views == 0 and np.isnan(behind.reprojection_error_px)


def test_shape_mismatch_is_named():
    with pytest.raises(ShapeError, match=r"pixels: expected shape \(\.\.\., 4, 2\)"):
        triangulate_dlt(ring(4), np.zeros((5, 3, 2)))
    with pytest.raises(ShapeError, match=r"weights: expected shape \(5, 4\)"):
        triangulate_dlt(ring(4), np.zeros((5, 4, 2)), np.ones((4, 4)))
    with pytest.raises(ShapeError, match="weights: expected confidences >= 0"):
        triangulate_dlt(ring(4), np.zeros((5, 4, 2)), -np.ones((5, 4)))
    with pytest.raises(ValueError, match="min_views"):
        triangulate_dlt(ring(4), np.zeros((5, 4, 2)), min_views=1)


def test_single_person_on_the_synthetic_studio():
    take = generate_take(StudioConfig(num_frames=60, occlusion=False))
    poses = triangulate_single_person(take.rig, take.detections)
    assert mpjpe(poses.xyz, take.poses.xyz) < 1e-4  # float32 detections, no noise
    noisy = generate_take(StudioConfig(num_frames=60, noise_px=2.0))
    error = mpjpe(triangulate_single_person(noisy.rig, noisy.detections).xyz, noisy.poses.xyz)
    assert 0.002 < error < 0.03


def test_detections_must_cover_the_rig():
    take = generate_take(StudioConfig(num_frames=5))
    with pytest.raises(MismatchError, match="detections lack cameras cam_4 of the rig"):
        triangulate_single_person(take.rig, take.detections.subset_views(["cam_1", "cam_2", "cam_3"]))
