import cv2
import numpy as np
import pytest

from calibration.errors import ShapeError
from calibration.rotations import is_rotation, look_at, matrix_to_rodrigues, rodrigues_to_matrix


def test_rodrigues_matches_opencv(rng):
    rvecs = rng.normal(size=(200, 3))
    ours = rodrigues_to_matrix(rvecs)
    for r, m in zip(rvecs, ours, strict=True):
        expected, _ = cv2.Rodrigues(r)
        np.testing.assert_allclose(m, expected, atol=1e-12)


@pytest.mark.parametrize("angle", [0.0, 1e-9, 1e-4, 0.5, 2.0, np.pi - 1e-4, np.pi - 1e-9, np.pi])
def test_round_trip_at_every_angle(rng, angle):
    axes = rng.normal(size=(50, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    rvecs = axes * angle
    matrices = rodrigues_to_matrix(rvecs)
    back = rodrigues_to_matrix(matrix_to_rodrigues(matrices))
    np.testing.assert_allclose(back, matrices, atol=1e-9)
    assert all(is_rotation(m) for m in matrices)


def test_look_at_points_the_optical_axis_at_the_target():
    rotation, translation = look_at([4.0, 1.0, 2.0], [0.0, 0.0, 1.0])
    target_camera = rotation @ np.array([0.0, 0.0, 1.0]) + translation
    assert target_camera[0] == pytest.approx(0.0, abs=1e-12)
    assert target_camera[1] == pytest.approx(0.0, abs=1e-12)
    assert target_camera[2] > 0
    # the world up direction points up in the image (negative camera y)
    assert (rotation @ np.array([0.0, 0.0, 1.0]))[1] < 0


def test_bad_shapes_are_named():
    with pytest.raises(ShapeError, match="rvecs: expected shape"):
        rodrigues_to_matrix(np.zeros((4, 2)))
