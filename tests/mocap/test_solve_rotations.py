"""Rotation tools of the solver: known answers and round trips."""

import numpy as np
import pytest

from mocap.errors import ShapeError
from mocap.solve.rotations import (
    EULER_ORDERS,
    continuous_quaternions,
    euler_to_matrix,
    frame,
    matrix_to_euler,
    matrix_to_quaternion,
    quaternion_to_matrix,
    swing,
)


def random_rotations(rng, n):
    q = rng.normal(size=(n, 4))
    return quaternion_to_matrix(q)


def test_quaternion_round_trip(rng):
    r = random_rotations(rng, 200)
    np.testing.assert_allclose(quaternion_to_matrix(matrix_to_quaternion(r)), r, atol=1e-12)
    # a half turn (w = 0) survives too
    half = np.diag([1.0, -1.0, -1.0])
    np.testing.assert_allclose(quaternion_to_matrix(matrix_to_quaternion(half)), half, atol=1e-12)


@pytest.mark.parametrize("order", EULER_ORDERS)
def test_euler_round_trip_every_order(rng, order):
    r = random_rotations(rng, 100)
    angles = matrix_to_euler(r[:, None], order)[:, 0]
    np.testing.assert_allclose(euler_to_matrix(angles, order), r, atol=1e-9)


def test_euler_known_answer_and_continuity():
    # ZXY: R = Rz(a) Rx(b) Ry(c)
    angles = np.radians([[30.0, 20.0, -40.0]])
    r = euler_to_matrix(angles, "ZXY")
    np.testing.assert_allclose(np.degrees(matrix_to_euler(r, "ZXY")), [[30.0, 20.0, -40.0]], atol=1e-9)
    # a steady spin about z past 180 degrees unwraps instead of jumping by 360
    spin = np.radians(np.linspace(0, 400, 41))
    r = euler_to_matrix(np.stack([spin, 0 * spin, 0 * spin], axis=-1), "ZXY")
    np.testing.assert_allclose(matrix_to_euler(r, "ZXY")[:, 0], spin, atol=1e-9)
    # through gimbal lock the angles stay continuous
    pitch = np.radians(np.linspace(60, 120, 61))
    r = euler_to_matrix(np.stack([0.3 + 0 * pitch, pitch, 0.2 + 0 * pitch], axis=-1), "ZXY")
    out = matrix_to_euler(r, "ZXY")
    np.testing.assert_allclose(euler_to_matrix(out, "ZXY"), r, atol=1e-6)
    assert np.abs(np.diff(out, axis=0)).max() < np.radians(10)
    with pytest.raises(ShapeError, match="rotation order"):
        matrix_to_euler(r, "XXY")


def test_swing_and_frame(rng):
    a = rng.normal(size=(50, 3))
    b = rng.normal(size=(50, 3))
    r = swing(a, b)
    moved = np.einsum("nij,nj->ni", r, a / np.linalg.norm(a, axis=1, keepdims=True))
    np.testing.assert_allclose(moved, b / np.linalg.norm(b, axis=1, keepdims=True), atol=1e-12)
    np.testing.assert_allclose(r @ np.swapaxes(r, 1, 2), np.broadcast_to(np.eye(3), r.shape), atol=1e-12)
    # opposite vectors: still a rotation that maps a to b
    r = swing(np.array([1.0, 0, 0]), np.array([-1.0, 0, 0]))
    np.testing.assert_allclose(r @ [1.0, 0, 0], [-1.0, 0, 0], atol=1e-12)
    assert np.isclose(np.linalg.det(r), 1.0)
    f, quality = frame(np.array([0.0, 0, 2]), np.array([1.0, 0, 1]))
    np.testing.assert_allclose(f, [[0, 1, 0], [0, 0, 1], [1, 0, 0]], atol=1e-12)
    assert np.isclose(quality, np.sqrt(0.5))


def test_quaternion_sign_continuity():
    q = np.array([[1.0, 0, 0, 0], [-0.99, -0.1, 0, 0], [0.98, 0.2, 0, 0]])
    out = continuous_quaternions(q)
    assert np.all(np.sum(out[1:] * out[:-1], axis=-1) > 0)
    np.testing.assert_allclose(np.abs(out), np.abs(q))
