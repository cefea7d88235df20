import cv2
import numpy as np
import pytest

from calibration.camera import Camera
from calibration.errors import ShapeError
from calibration.rotations import look_at

LENSES = {
    "none": [],
    "4": [-0.28, 0.09, 8e-4, -6e-4],
    "5": [-0.31, 0.12, 1e-3, -1e-3, -0.02],
    "8": [0.1, -0.2, 1e-3, 2e-3, 0.05, 0.02, -0.1, 0.06],
    "12": [0.1, -0.2, 1e-3, 2e-3, 0.05, 0.02, -0.1, 0.06, 1e-3, -2e-3, 3e-3, 5e-4],
}


def make_camera(distortion, size=(1920, 1080)) -> Camera:
    rotation, translation = look_at([3.0, 1.0, 1.5], [0.0, 0.0, 1.0])
    matrix = [[1400.0, 0.0, 955.0], [0.0, 1398.0, 545.0], [0.0, 0.0, 1.0]]
    return Camera.from_rotation_matrix("cam", size, matrix, distortion, rotation, translation)


@pytest.mark.parametrize("lens", LENSES)
def test_project_matches_opencv(lens, rng):
    camera = make_camera(LENSES[lens])
    points = rng.uniform([-1, -1, 0], [1, 1, 2], (2000, 3))
    ours = camera.project(points)
    dist = np.array(LENSES[lens], dtype=float) if LENSES[lens] else None
    theirs, _ = cv2.projectPoints(points, camera.rvec, camera.translation, camera.matrix, dist)
    assert np.max(np.abs(ours - theirs[:, 0])) < 1e-9


@pytest.mark.parametrize("lens", LENSES)
def test_undistort_then_distort_is_identity_over_the_whole_image(lens):
    camera = make_camera(LENSES[lens])
    u, v = np.meshgrid(np.linspace(0, 1919, 241), np.linspace(0, 1079, 136))
    pixels = np.stack([u, v], axis=-1)
    ideal = camera.undistort_points(pixels)
    assert not np.any(np.isnan(ideal))
    assert np.max(np.abs(camera.distort_points(ideal) - pixels)) < 1e-6


@pytest.mark.parametrize("lens", LENSES)
def test_project_then_undistort_gives_the_pinhole_projection(lens, rng):
    camera = make_camera(LENSES[lens])
    points = rng.uniform([-1, -1, 0], [1, 1, 2], (2000, 3))
    in_camera = camera.world_to_camera(points)
    pinhole = camera.normalized_to_pixels(in_camera[:, :2] / in_camera[:, 2:])
    assert np.max(np.abs(camera.undistort_points(camera.project(points)) - pinhole)) < 1e-6


def test_undistort_beats_opencv_fixed_point_on_a_strong_lens():
    camera = make_camera(LENSES["5"])
    corners = np.array([[0.0, 0.0], [1919.0, 0.0], [0.0, 1079.0], [1919.0, 1079.0]])
    ours = camera.undistort_points(corners, normalized=True)
    opencv = cv2.undistortPoints(corners[:, None], camera.matrix, camera.distortion)[:, 0]
    ours_error = np.abs(camera.distort_points(camera.normalized_to_pixels(ours)) - corners).max()
    opencv_error = np.abs(camera.distort_points(camera.normalized_to_pixels(opencv)) - corners).max()
    assert ours_error < 1e-6 < opencv_error


def test_points_behind_the_camera_and_nan_project_to_nan():
    camera = make_camera([])
    behind = camera.center_world + (camera.center_world - np.array([0.0, 0.0, 1.0]))
    out = camera.project(np.array([behind, [np.nan, 0.0, 0.0], [0.0, 0.0, 1.0]]))
    assert np.isnan(out[0]).all() and np.isnan(out[1]).all() and np.isfinite(out[2]).all()


def test_camera_centre_and_projection_matrix_agree(rng):
    camera = make_camera([])
    points = rng.uniform(-1, 1, (10, 3))
    homogeneous = np.hstack([points, np.ones((10, 1))]) @ camera.projection_matrix.T
    np.testing.assert_allclose(homogeneous[:, :2] / homogeneous[:, 2:], camera.project(points), atol=1e-9)
    assert np.linalg.norm(camera.world_to_camera(camera.center_world)) < 1e-12


def test_arrays_are_read_only():
    camera = make_camera(LENSES["5"])
    with pytest.raises(ValueError, match="read-only"):
        camera.matrix[0, 0] = 1.0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"matrix": np.diag([-1.0, 1.0, 1.0])}, "matrix"),
        ({"matrix": np.diag([1000.0, 0.0, 1.0])}, "matrix"),
        ({"matrix": np.eye(2)}, "matrix"),
        ({"distortion": np.zeros(6)}, "distortions"),
        ({"distortion": np.array([np.nan, 0, 0, 0])}, "distortions"),
        ({"translation": np.zeros(2)}, "translation"),
        ({"rvec": np.zeros(4)}, "rotation"),
        ({"image_size": (0, 10)}, "size"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_fields_raise_a_shape_error_naming_the_field(change, field):
    camera = make_camera(LENSES["4"])
    with pytest.raises(ShapeError) as info:
        camera.replace(**change)
    assert info.value.name == field
    assert "\n" not in str(info.value)


def test_non_rotation_matrix_is_refused():
    with pytest.raises(ShapeError, match="rotation"):
        Camera.from_rotation_matrix("c", (10, 10), np.eye(3), [], np.diag([1.0, 1.0, -1.0]), np.zeros(3))
