"""Batched rotation tools of the skeleton solver: frames from vectors, swings, quaternions, Euler angles.

All functions take leading batch axes and use column vectors: a rotation ``R`` maps ``v`` to ``R @ v``.
Quaternions are ``(w, x, y, z)``. Euler orders are written in the BVH way: ``"ZXY"`` means
``R = Rz @ Rx @ Ry`` (the first letter is the outermost rotation), which is also what BVH's
``CHANNELS ... Zrotation Xrotation Yrotation`` means. FBX's ``eEulerXYZ`` (X applied first) is
``R = Rz @ Ry @ Rx``, i.e. order ``"ZYX"`` here.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from calibration.errors import ShapeError

_EPS = 1e-12
_AXES = {"X": 0, "Y": 1, "Z": 2}
EULER_ORDERS: tuple[str, ...] = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")


def normalize(v: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Unit vectors ``(..., 3)`` and the norms ``(...)``; zero vectors stay zero."""
    n = np.linalg.norm(v, axis=-1)
    return v / np.where(n > _EPS, n, 1.0)[..., None], n


def frame(
    primary: NDArray[np.float64], secondary: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Orthonormal frames ``(..., 3, 3)`` with columns ``[p, s', p x s']``.

    ``p`` is the unit ``primary``; ``s'`` is the unit part of ``secondary`` orthogonal to it.

    Returns:
        The frames and ``(...)`` the norm of the orthogonal part of the unit secondary (0 when
        ``secondary`` is parallel to ``primary``, where the frame is not defined).
    """
    p, _ = normalize(primary)
    s_unit, _ = normalize(secondary)
    s_perp = s_unit - np.sum(s_unit * p, axis=-1, keepdims=True) * p
    s, quality = normalize(s_perp)
    return np.stack([p, s, np.cross(p, s)], axis=-1), quality


def swing(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """The smallest rotations ``(..., 3, 3)`` taking directions ``a`` to ``b`` (``(..., 3)`` each).

    For opposite directions the axis is any perpendicular one (the rotation is then not unique).
    """
    a, _ = normalize(a)
    b, _ = normalize(b)
    axis = np.cross(a, b)
    cos = np.sum(a * b, axis=-1)
    # Rodrigues with k = axis/sin: R = I + [axis]x + [axis]x^2 / (1 + cos), exact for cos > -1.
    k = np.zeros(a.shape[:-1] + (3, 3))
    k[..., 0, 1], k[..., 0, 2] = -axis[..., 2], axis[..., 1]
    k[..., 1, 0], k[..., 1, 2] = axis[..., 2], -axis[..., 0]
    k[..., 2, 0], k[..., 2, 1] = -axis[..., 1], axis[..., 0]
    opposite = cos < -1.0 + 1e-9
    scale = 1.0 / np.where(opposite, 1.0, 1.0 + cos)
    out = np.eye(3) + k + (k @ k) * scale[..., None, None]
    if np.any(opposite):
        # half turn about an axis perpendicular to a
        helper = np.where(np.abs(a[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
        n, _ = normalize(np.cross(a, helper))
        half = 2.0 * n[..., :, None] * n[..., None, :] - np.eye(3)
        out[opposite] = half[opposite]
    return out


def matrix_to_quaternion(matrices: NDArray[np.float64]) -> NDArray[np.float64]:
    """Unit quaternions ``(..., 4)`` (w, x, y, z) of rotation matrices ``(..., 3, 3)``, w >= 0."""
    m = matrices
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    # Pick, per matrix, the largest of 4w^2, 4x^2, 4y^2, 4z^2 for a stable square root.
    cand = np.stack(
        [
            1.0 + trace,
            1.0 + 2.0 * m[..., 0, 0] - trace,
            1.0 + 2.0 * m[..., 1, 1] - trace,
            1.0 + 2.0 * m[..., 2, 2] - trace,
        ],
        axis=-1,
    )
    which = np.argmax(cand, axis=-1)
    q = np.empty(m.shape[:-2] + (4,))
    r = np.sqrt(np.maximum(np.take_along_axis(cand, which[..., None], axis=-1)[..., 0], _EPS))
    f = 0.5 / r
    w_ = which == 0
    x_ = which == 1
    y_ = which == 2
    z_ = which == 3
    q[w_] = np.stack(
        [
            0.5 * r,
            (m[..., 2, 1] - m[..., 1, 2]) * f,
            (m[..., 0, 2] - m[..., 2, 0]) * f,
            (m[..., 1, 0] - m[..., 0, 1]) * f,
        ],
        axis=-1,
    )[w_]
    q[x_] = np.stack(
        [
            (m[..., 2, 1] - m[..., 1, 2]) * f,
            0.5 * r,
            (m[..., 0, 1] + m[..., 1, 0]) * f,
            (m[..., 0, 2] + m[..., 2, 0]) * f,
        ],
        axis=-1,
    )[x_]
    q[y_] = np.stack(
        [
            (m[..., 0, 2] - m[..., 2, 0]) * f,
            (m[..., 0, 1] + m[..., 1, 0]) * f,
            0.5 * r,
            (m[..., 1, 2] + m[..., 2, 1]) * f,
        ],
        axis=-1,
    )[y_]
    q[z_] = np.stack(
        [
            (m[..., 1, 0] - m[..., 0, 1]) * f,
            (m[..., 0, 2] + m[..., 2, 0]) * f,
            (m[..., 1, 2] + m[..., 2, 1]) * f,
            0.5 * r,
        ],
        axis=-1,
    )[z_]
    q = np.where(q[..., :1] < 0, -q, q)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def quaternion_to_matrix(quaternions: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rotation matrices ``(..., 3, 3)`` of quaternions ``(..., 4)`` (w, x, y, z; normalised here)."""
    q = quaternions / np.linalg.norm(quaternions, axis=-1, keepdims=True)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    out = np.empty(q.shape[:-1] + (3, 3))
    out[..., 0, 0] = 1 - 2 * (y * y + z * z)
    out[..., 0, 1] = 2 * (x * y - w * z)
    out[..., 0, 2] = 2 * (x * z + w * y)
    out[..., 1, 0] = 2 * (x * y + w * z)
    out[..., 1, 1] = 1 - 2 * (x * x + z * z)
    out[..., 1, 2] = 2 * (y * z - w * x)
    out[..., 2, 0] = 2 * (x * z - w * y)
    out[..., 2, 1] = 2 * (y * z + w * x)
    out[..., 2, 2] = 1 - 2 * (x * x + y * y)
    return out


def continuous_quaternions(quaternions: NDArray[np.float64]) -> NDArray[np.float64]:
    """Flip signs along axis 0 (time) so that consecutive quaternions have a non-negative dot product.

    ``q`` and ``-q`` are the same rotation; choosing the sign nearest the previous frame removes
    the apparent 360 degree jumps that interpolation and filtering would otherwise produce.
    """
    q = np.array(quaternions, dtype=np.float64, copy=True)
    if len(q) < 2:
        return q
    dots = np.sum(q[1:] * q[:-1], axis=-1)
    signs = np.where(dots < 0, -1.0, 1.0)
    flips = np.concatenate([np.ones((1,) + signs.shape[1:]), np.cumprod(signs, axis=0)])
    return q * flips[..., None]


def rotation_angle(matrices: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rotation angles ``(...)`` in radians of rotation matrices ``(..., 3, 3)``."""
    cos = (np.trace(matrices, axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.arccos(np.clip(cos, -1.0, 1.0))


def _check_order(order: str) -> str:
    order = order.upper()
    if order not in EULER_ORDERS:
        raise ShapeError("rotation order", f"one of {', '.join(EULER_ORDERS)}", repr(order))
    return order


def axis_rotation(axis: int, angles: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rotations ``(..., 3, 3)`` about coordinate axis ``axis`` (0 x, 1 y, 2 z) by ``angles`` radians."""
    c, s = np.cos(angles), np.sin(angles)
    out = np.zeros(np.shape(angles) + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    out[..., axis, axis] = 1.0
    out[..., i, i], out[..., j, j] = c, c
    out[..., i, j], out[..., j, i] = -s, s
    return out


def euler_to_matrix(angles: NDArray[np.float64], order: str) -> NDArray[np.float64]:
    """Matrices ``(..., 3, 3)`` of Euler angles ``(..., 3)`` in radians, listed in ``order``."""
    order = _check_order(order)
    out = axis_rotation(_AXES[order[0]], angles[..., 0])
    for k in (1, 2):
        out = out @ axis_rotation(_AXES[order[k]], angles[..., k])
    return out


def _euler_pair(m: NDArray[np.float64], order: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Both Euler solutions ``(..., 3)`` of matrices for ``order`` (a, b, c with R = Ra Rb Rc)."""
    i, j, k = (_AXES[c] for c in order)
    # parity: +1 when (i, j, k) is a cyclic permutation of (0, 1, 2)
    sign = 1.0 if (j - i) % 3 == 1 else -1.0
    # R = R_i(a) R_j(b) R_k(c): R[i, k] = sign * sin(b)
    sb = np.clip(sign * m[..., i, k], -1.0, 1.0)
    b1 = np.arcsin(sb)
    cb = np.cos(b1)
    gimbal = cb < 1e-9
    a1 = np.arctan2(-sign * m[..., j, k], m[..., k, k])
    c1 = np.arctan2(-sign * m[..., i, j], m[..., i, i])
    # at gimbal lock only a +- c is defined: put it all in a
    a_lock = np.arctan2(sign * m[..., k, j], m[..., j, j])
    a1 = np.where(gimbal, a_lock, a1)
    c1 = np.where(gimbal, 0.0, c1)
    first = np.stack([a1, b1, c1], axis=-1)
    second = np.stack([a1 + np.pi, np.pi - b1, c1 + np.pi], axis=-1)
    return first, second


def _nearest(candidate: NDArray[np.float64], previous: NDArray[np.float64]) -> NDArray[np.float64]:
    """``candidate`` shifted by multiples of 2 pi per angle to be nearest ``previous``."""
    return candidate + 2.0 * np.pi * np.round((previous - candidate) / (2.0 * np.pi))


def matrix_to_euler(matrices: NDArray[np.float64], order: str) -> NDArray[np.float64]:
    """Euler angles ``(T, ..., 3)`` in radians, continuous along axis 0 (time).

    Of the two Euler solutions of each matrix (and their 2 pi shifts), every frame takes the one
    nearest the previous frame's angles, so curves never jump by 360 degrees or flip through the
    alternative solution; the first frame takes the solution with the middle angle in
    ``[-90, 90]`` degrees.
    """
    order = _check_order(order)
    m = np.asarray(matrices, dtype=np.float64)
    first, second = _euler_pair(m, order)
    i, j, k = (_AXES[c] for c in order)
    sign = 1.0 if (j - i) % 3 == 1 else -1.0
    gimbal = np.abs(np.abs(sign * m[..., i, k]) - 1.0) < 1e-12
    out = np.empty_like(first)
    if len(out) == 0:
        return out
    out[0] = first[0]
    for t in range(1, len(out)):
        prev = out[t - 1]
        if np.any(gimbal[t]):
            # only a +- c is defined at gimbal lock: keep the previous c and solve a for it
            g = gimbal[t]
            rest = m[t][g] @ np.swapaxes(axis_rotation(k, prev[g][..., 2]), -1, -2)
            a = np.arctan2(sign * rest[..., k, j], rest[..., j, j])
            first[t][g] = np.stack([a, first[t][g][..., 1], prev[g][..., 2]], axis=-1)
            second[t][g] = first[t][g]
        c1 = _nearest(first[t], prev)
        c2 = _nearest(second[t], prev)
        d1 = np.sum((c1 - prev) ** 2, axis=-1, keepdims=True)
        d2 = np.sum((c2 - prev) ** 2, axis=-1, keepdims=True)
        out[t] = np.where(d2 < d1, c2, c1)
    return out
