"""A pinhole camera with OpenCV lens distortion, as a frozen value type.

Frames and names follow :mod:`calibration.conventions`: ``rotation`` and ``translation`` are
``camera_from_world`` (``x_cam = R @ x_world + t``), pixels are OpenCV's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.arrays import as_float64, frozen
from calibration.distortion import SUPPORTED_LENGTHS, distort, undistort
from calibration.errors import ShapeError
from calibration.rotations import is_rotation, matrix_to_rodrigues, rodrigues_to_matrix


def _reject(field_name: str, expected: str, actual: str) -> ShapeError:
    return ShapeError(field_name, expected, actual)


@dataclass(frozen=True, eq=False)
class Camera:
    """One calibrated camera.

    Attributes:
        name: unique name within a rig (``"cam_01"``); used to match files and views.
        image_size: ``(width, height)`` in pixels.
        matrix: intrinsic matrix ``K`` (3, 3): ``[[fx, s, cx], [0, fy, cy], [0, 0, 1]]``, pixels.
        distortion: OpenCV coefficients (0, 4, 5, 8 or 12 values), see :mod:`calibration.distortion`.
        rvec: ``camera_from_world`` rotation as a Rodrigues vector (3,), radians. This is the stored
            form (as in the rig TOML), so writing and reading a rig is exact.
        rotation: the same rotation as a matrix (3, 3), derived from ``rvec``.
        translation: ``camera_from_world`` translation (3,), metres: the world origin in the camera
            frame.

    Arrays are float64 and read-only. Construction validates everything and raises
    :class:`~calibration.errors.ShapeError` naming the bad field.
    """

    name: str
    image_size: tuple[int, int]
    matrix: NDArray[np.float64] = field(repr=False)
    distortion: NDArray[np.float64] = field(repr=False)
    rvec: NDArray[np.float64] = field(repr=False)
    translation: NDArray[np.float64] = field(repr=False)
    rotation: NDArray[np.float64] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise _reject("name", "a non-empty string", repr(self.name))
        size = tuple(self.image_size)
        if len(size) != 2 or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in size
        ):
            raise _reject("size", "(width, height) as two positive integers", repr(self.image_size))
        object.__setattr__(self, "image_size", (int(size[0]), int(size[1])))
        matrix = frozen("matrix", self.matrix, (3, 3), np.float64)
        if not np.all(np.isfinite(matrix)):
            raise _reject("matrix", "finite numbers", "NaN or inf")
        if matrix[0, 0] <= 0 or matrix[1, 1] <= 0:
            raise _reject("matrix", "positive focal lengths fx, fy", f"fx={matrix[0, 0]:g}, fy={matrix[1, 1]:g}")
        if matrix[1, 0] != 0 or matrix[2, 0] != 0 or matrix[2, 1] != 0 or matrix[2, 2] != 1:
            raise _reject("matrix", "rows [fx, s, cx], [0, fy, cy], [0, 0, 1]", str(matrix.tolist()))
        object.__setattr__(self, "matrix", matrix)
        dist = frozen("distortions", np.ravel(np.asarray(self.distortion, dtype=np.float64)), (None,), np.float64)
        if len(dist) not in SUPPORTED_LENGTHS:
            raise _reject(
                "distortions",
                "0, 4, 5, 8 or 12 OpenCV coefficients (k1, k2, p1, p2[, k3[, k4, k5, k6[, s1..s4]]])",
                f"{len(dist)} values",
            )
        if not np.all(np.isfinite(dist)):
            raise _reject("distortions", "finite numbers", "NaN or inf")
        object.__setattr__(self, "distortion", dist)
        rvec = frozen("rotation", np.ravel(np.asarray(self.rvec, dtype=np.float64)), (3,), np.float64)
        if not np.all(np.isfinite(rvec)):
            raise _reject("rotation", "finite numbers", "NaN or inf")
        object.__setattr__(self, "rvec", rvec)
        rotation = rodrigues_to_matrix(rvec)
        rotation.setflags(write=False)
        object.__setattr__(self, "rotation", rotation)
        translation = frozen("translation", self.translation, (3,), np.float64)
        if not np.all(np.isfinite(translation)):
            raise _reject("translation", "finite numbers", "NaN or inf")
        object.__setattr__(self, "translation", translation)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_rotation_matrix(
        cls,
        name: str,
        image_size: tuple[int, int],
        matrix: ArrayLike,
        distortion: ArrayLike,
        rotation: ArrayLike,
        translation: ArrayLike,
    ) -> Camera:
        """Build a camera whose ``camera_from_world`` rotation is given as a matrix (3, 3).

        Raises:
            ShapeError: if ``rotation`` is not a rotation matrix (orthonormal, det +1, to 1e-6).
        """
        r = frozen("rotation", rotation, (3, 3), np.float64)
        if not is_rotation(r):
            raise _reject("rotation", "a rotation matrix (orthonormal, det +1)", str(r.tolist()))
        return cls(
            name,
            image_size,
            np.asarray(matrix),
            np.asarray(distortion),
            matrix_to_rodrigues(r),
            np.asarray(translation),
        )

    def replace(self, **changes: Any) -> Camera:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def with_pose(self, rotation: ArrayLike, translation: ArrayLike) -> Camera:
        """A copy with a new ``camera_from_world`` pose given as a rotation matrix and translation."""
        return Camera.from_rotation_matrix(
            self.name, self.image_size, self.matrix, self.distortion, rotation, translation
        )

    # ------------------------------------------------------------------ derived values

    @property
    def focal_lengths(self) -> NDArray[np.float64]:
        """``(fx, fy)`` in pixels."""
        return np.array([self.matrix[0, 0], self.matrix[1, 1]])

    @property
    def principal_point(self) -> NDArray[np.float64]:
        """``(cx, cy)`` in pixels."""
        return np.array([self.matrix[0, 2], self.matrix[1, 2]])

    @property
    def center_world(self) -> NDArray[np.float64]:
        """Camera centre in world coordinates (3,), metres: ``-R.T @ t``."""
        return -self.rotation.T @ self.translation

    @property
    def projection_matrix(self) -> NDArray[np.float64]:
        """``K @ [R | t]`` (3, 4), mapping homogeneous world points to *undistorted* pixels."""
        return self.matrix @ np.hstack([self.rotation, self.translation[:, None]])

    @property
    def extrinsic_matrix(self) -> NDArray[np.float64]:
        """``camera_from_world`` as a homogeneous (4, 4) matrix."""
        out = np.eye(4)
        out[:3, :3] = self.rotation
        out[:3, 3] = self.translation
        return out

    # ------------------------------------------------------------------ geometry

    def world_to_camera(self, points_world: ArrayLike) -> NDArray[np.float64]:
        """World points ``(..., 3)`` -> camera-frame points ``(..., 3)``, metres."""
        p = as_float64("points_world", points_world, (..., 3))
        return p @ self.rotation.T + self.translation

    def normalized_to_pixels(self, normalized: ArrayLike) -> NDArray[np.float64]:
        """Apply ``K`` to normalized coordinates ``(..., 2)`` -> pixels ``(..., 2)``."""
        n = as_float64("normalized", normalized, (..., 2))
        k = self.matrix
        u = k[0, 0] * n[..., 0] + k[0, 1] * n[..., 1] + k[0, 2]
        v = k[1, 1] * n[..., 1] + k[1, 2]
        return np.stack([u, v], axis=-1)

    def pixels_to_normalized(self, pixels: ArrayLike) -> NDArray[np.float64]:
        """Apply ``K^-1`` to pixels ``(..., 2)`` -> normalized coordinates ``(..., 2)``."""
        p = as_float64("pixels", pixels, (..., 2))
        k = self.matrix
        y = (p[..., 1] - k[1, 2]) / k[1, 1]
        x = (p[..., 0] - k[0, 2] - k[0, 1] * y) / k[0, 0]
        return np.stack([x, y], axis=-1)

    def project(self, points_world: ArrayLike) -> NDArray[np.float64]:
        """Project world points ``(..., 3)`` to distorted pixels ``(..., 2)``.

        Points on or behind the camera plane (camera ``z <= 0``) and NaN inputs give NaN.
        Matches ``cv2.projectPoints`` for points in front of the camera.
        """
        points_camera = self.world_to_camera(points_world)
        return self.project_camera_points(points_camera)

    def project_camera_points(self, points_camera: ArrayLike) -> NDArray[np.float64]:
        """Project camera-frame points ``(..., 3)`` to distorted pixels ``(..., 2)`` (NaN behind)."""
        pc = as_float64("points_camera", points_camera, (..., 3))
        z = pc[..., 2:3]
        with np.errstate(divide="ignore", invalid="ignore"):
            normalized = np.where(z > 0, pc[..., :2] / np.where(z > 0, z, 1.0), np.nan)
        return self.normalized_to_pixels(distort(normalized, self.distortion))

    def undistort_points(self, pixels: ArrayLike, *, normalized: bool = False) -> NDArray[np.float64]:
        """Remove lens distortion from pixels ``(..., 2)``.

        Args:
            pixels: distorted pixel coordinates.
            normalized: return normalized image coordinates (``z = 1`` plane) instead of ideal
                (undistorted) pixels ``K @ normalized``.

        Returns:
            ``(..., 2)`` float64; NaN where the input is NaN or the lens model cannot be inverted.
        """
        n = undistort(self.pixels_to_normalized(pixels), self.distortion)
        return n if normalized else self.normalized_to_pixels(n)

    def distort_points(self, ideal_pixels: ArrayLike) -> NDArray[np.float64]:
        """Inverse of :meth:`undistort_points`: ideal pixels ``(..., 2)`` -> distorted pixels."""
        n = self.pixels_to_normalized(ideal_pixels)
        return self.normalized_to_pixels(distort(n, self.distortion))

    def in_image(self, pixels: ArrayLike) -> NDArray[np.bool_]:
        """True where pixels ``(..., 2)`` fall inside the image (NaN -> False)."""
        p = as_float64("pixels", pixels, (..., 2))
        w, h = self.image_size
        with np.errstate(invalid="ignore"):
            return (p[..., 0] >= -0.5) & (p[..., 0] <= w - 0.5) & (p[..., 1] >= -0.5) & (p[..., 1] <= h - 0.5)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Camera):
            return NotImplemented
        return (
            self.name == other.name
            and self.image_size == other.image_size
            and np.array_equal(self.matrix, other.matrix)
            and np.array_equal(self.distortion, other.distortion)
            and np.array_equal(self.rvec, other.rvec)
            and np.array_equal(self.translation, other.translation)
        )

    __hash__ = None  # type: ignore[assignment]
