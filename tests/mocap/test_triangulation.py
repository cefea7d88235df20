import numpy as np
import pytest

from mocap.errors import MismatchError, ShapeError
from mocap.metrics import mpjpe
from mocap.synthetic.studio import StudioConfig, generate_take
from mocap.triangulation.dlt import triangulate_dlt
from mocap.triangulation.single_person import triangulate_single_person
from tests.calibration.test_rig import ring


def test_noise_free_points_come_back_exactly(rng):
    rig = ring(6)
    points = rng.uniform([-1, -1, 0], [1, 1, 2], (50, 17, 3))
    pixels = np.moveaxis(rig.project(points), 0, -2)  # (50, 17, V, 2)
    result = triangulate_dlt(rig, pixels)
    assert np.max(np.abs(result.points_world - points)) < 1e-9
    assert np.nanmax(result.reprojection_error_px) < 1e-6
    assert (result.n_views == 6).all()


def test_weights_views_and_missing_data(rng):
    rig = ring(4)
    points = rng.uniform([-1, -1, 0], [1, 1, 2], (10, 3))
    pixels = np.moveaxis(rig.project(points), 0, -2)
    weights = np.ones((10, 4))
    pixels[0, 1:] = np.nan  # one view only -> NaN, not an exception
    pixels[1, 2] = np.nan  # NaN view ignored
    weights[2, 3] = 0.0  # zero weight ignored
    pixels[2, 3] += 500.0  # ... so its outlier does not matter
    result = triangulate_dlt(rig, pixels, weights)
    assert np.isnan(result.points_world[0]).all() and result.n_views[0] == 0
    assert result.n_views[1] == 3 and result.n_views[2] == 3
    assert np.max(np.abs(result.points_world[1:] - points[1:])) < 1e-9
    assert np.isnan(result.view_errors_px[1, 2]) and not result.views_used[2, 3]
    all_nan = triangulate_dlt(rig, np.full((3, 4, 2), np.nan))
    assert np.isnan(all_nan.points_world).all() and np.isnan(all_nan.reprojection_error_px).all()


def test_shape_mismatch_is_named():
    with pytest.raises(ShapeError, match=r"pixels: expected shape \(\.\.\., 4, 2\)"):
        triangulate_dlt(ring(4), np.zeros((5, 3, 2)))
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
