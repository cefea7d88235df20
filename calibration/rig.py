"""A rig of calibrated cameras, ordered by an explicit list of names.

The order of cameras in a rig is the order they were given in (the order of a rig file's tables,
of a take's camera list), never a string sort: ``cam_10`` may well come after ``cam_2``. Every
per-view array (axis ``V``) follows that order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.arrays import as_float64, check_shape
from calibration.camera import Camera
from calibration.errors import MocapError
from calibration.rotations import skew


class UnknownCameraError(MocapError, KeyError):
    """A camera name that the rig does not hold."""

    def __str__(self) -> str:  # KeyError quotes its message; we want one plain line
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True, eq=False)
class CameraRig:
    """Cameras in a fixed order, with per-rig metadata (board, per-camera errors, ...).

    Attributes:
        cameras: the cameras, in rig order; names are unique.
        metadata: free-form, TOML-serialisable information (see :mod:`calibration.rig_toml`).
    """

    cameras: tuple[Camera, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        cameras = tuple(self.cameras)
        if not cameras:
            raise ValueError("a camera rig needs at least one camera")
        for cam in cameras:
            if not isinstance(cam, Camera):
                raise TypeError(f"rig cameras must be Camera objects, got {type(cam).__name__}")
        names = [c.name for c in cameras]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"camera names must be unique in a rig; repeated: {', '.join(dupes)}")
        object.__setattr__(self, "cameras", cameras)
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    # ------------------------------------------------------------------ container

    @property
    def names(self) -> tuple[str, ...]:
        """Camera names in rig order."""
        return tuple(c.name for c in self.cameras)

    def __len__(self) -> int:
        return len(self.cameras)

    def __iter__(self) -> Iterator[Camera]:
        return iter(self.cameras)

    def __getitem__(self, key: int | str) -> Camera:
        if isinstance(key, str):
            return self.cameras[self.index(key)]
        return self.cameras[key]

    def index(self, name: str) -> int:
        """Position of camera ``name`` in the rig.

        Raises:
            UnknownCameraError: listing the rig's names.
        """
        for i, cam in enumerate(self.cameras):
            if cam.name == name:
                return i
        raise UnknownCameraError(f"no camera named {name!r} in the rig (cameras: {', '.join(self.names)})")

    def subset(self, names: Sequence[str]) -> CameraRig:
        """A rig of the named cameras, in the order given."""
        return CameraRig(tuple(self[n] for n in names), self.metadata)

    def with_camera(self, camera: Camera) -> CameraRig:
        """A rig where the camera of the same name is replaced by ``camera``."""
        i = self.index(camera.name)
        return CameraRig(self.cameras[:i] + (camera,) + self.cameras[i + 1 :], self.metadata)

    def with_metadata(self, metadata: Mapping[str, Any]) -> CameraRig:
        """A rig with ``metadata`` replacing the current metadata."""
        return CameraRig(self.cameras, metadata)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CameraRig):
            return NotImplemented
        return self.cameras == other.cameras and dict(self.metadata) == dict(other.metadata)

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ batched geometry

    @property
    def centers_world(self) -> NDArray[np.float64]:
        """Camera centres (V, 3), metres, world frame."""
        return np.stack([c.center_world for c in self.cameras])

    @property
    def projection_matrices(self) -> NDArray[np.float64]:
        """``K [R | t]`` per camera (V, 3, 4), for undistorted pixels."""
        return np.stack([c.projection_matrix for c in self.cameras])

    def project(self, points_world: ArrayLike) -> NDArray[np.float64]:
        """Project world points ``(..., 3)`` into every camera -> ``(V, ..., 2)`` distorted pixels.

        NaN where a point is behind a camera or NaN.
        """
        p = as_float64("points_world", points_world, (..., 3))
        return np.stack([c.project(p) for c in self.cameras])

    def undistort_points(self, pixels: ArrayLike, *, normalized: bool = False) -> NDArray[np.float64]:
        """Undistort per-view pixels ``(V, ..., 2)`` -> ``(V, ..., 2)`` (see :meth:`Camera.undistort_points`)."""
        p = as_float64("pixels", pixels, (..., 2))
        check_shape("pixels", p, (len(self),) + (None,) * (p.ndim - 1))
        return np.stack([c.undistort_points(p[i], normalized=normalized) for i, c in enumerate(self.cameras)])

    def fundamental_matrix(self, source: int | str, target: int | str) -> NDArray[np.float64]:
        """Fundamental matrix ``F`` (3, 3) with ``x_target^T F x_source = 0``.

        ``x`` are homogeneous *undistorted* pixels (see :meth:`undistort_points`). ``F @ x_source``
        is the epipolar line in the target image; ``F.T @ x_target`` the one in the source image.
        Scaled to unit Frobenius norm.
        """
        a = self[source] if isinstance(source, str) else self.cameras[source]
        b = self[target] if isinstance(target, str) else self.cameras[target]
        # target_from_source = target_from_world @ world_from_source
        rotation = b.rotation @ a.rotation.T
        translation = b.translation - rotation @ a.translation
        essential = skew(translation) @ rotation
        f = np.linalg.inv(b.matrix).T @ essential @ np.linalg.inv(a.matrix)
        norm = np.linalg.norm(f)
        return f / norm if norm > 0 else f

    def fundamental_matrices(self) -> NDArray[np.float64]:
        """All pairs ``F[i, j]`` (V, V, 3, 3) with ``x_j^T F[i, j] x_i = 0``; zeros on the diagonal."""
        n = len(self)
        out = np.zeros((n, n, 3, 3))
        for i in range(n):
            for j in range(n):
                if i != j:
                    out[i, j] = self.fundamental_matrix(i, j)
        return out
