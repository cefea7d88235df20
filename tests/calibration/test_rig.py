import numpy as np
import pytest

from calibration.camera import Camera
from calibration.rig import CameraRig, UnknownCameraError
from calibration.rotations import look_at


def ring(n: int, lens=(-0.2, 0.05, 1e-3, -5e-4, 0.01)) -> CameraRig:
    cameras = []
    for i in range(n):
        a = 2 * np.pi * i / n
        rotation, translation = look_at([4 * np.cos(a), 4 * np.sin(a), 2.0], [0.0, 0.0, 1.0])
        matrix = [[1000.0 + i, 0.0, 640.0], [0.0, 1001.0, 360.0], [0.0, 0.0, 1.0]]
        cameras.append(Camera.from_rotation_matrix(f"cam_{i + 1}", (1280, 720), matrix, lens, rotation, translation))
    return CameraRig(tuple(cameras))


def test_order_is_the_given_order_not_a_string_sort():
    rig = ring(12)
    assert rig.names[9:] == ("cam_10", "cam_11", "cam_12")
    assert rig.index("cam_2") == 1
    assert rig.subset(["cam_12", "cam_2"]).names == ("cam_12", "cam_2")


def test_unknown_and_repeated_names():
    rig = ring(3)
    with pytest.raises(
        UnknownCameraError, match=r"no camera named 'cam_9' in the rig \(cameras: cam_1, cam_2, cam_3\)"
    ):
        rig["cam_9"]
    with pytest.raises(ValueError, match="repeated: cam_1"):
        CameraRig((rig[0], rig[0]))


def test_fundamental_matrices_satisfy_the_epipolar_constraint(rng):
    rig = ring(5)
    points = rng.uniform([-1, -1, 0], [1, 1, 2], (500, 3))
    ideal = rig.undistort_points(rig.project(points))  # (V, N, 2) undistorted pixels
    homogeneous = np.concatenate([ideal, np.ones(ideal.shape[:-1] + (1,))], axis=-1)
    all_f = rig.fundamental_matrices()
    for i in range(len(rig)):
        for j in range(len(rig)):
            if i == j:
                continue
            lines = homogeneous[i] @ all_f[i, j].T  # epipolar lines in view j
            distance = np.abs(np.sum(lines * homogeneous[j], axis=1)) / np.linalg.norm(lines[:, :2], axis=1)
            assert distance.max() < 1e-6
            np.testing.assert_allclose(all_f[j, i], all_f[i, j].T, atol=1e-12)


def test_batched_projection_matches_each_camera(rng):
    rig = ring(4)
    points = rng.uniform(-1, 1, (7, 3, 3)) + [0, 0, 1]
    projected = rig.project(points)
    assert projected.shape == (4, 7, 3, 2)
    np.testing.assert_array_equal(projected[2], rig[2].project(points))
