"""2D keypoint detections of every view of a take: the ``Detections2D`` type and its npz file.

File ``keypoints2d.npz`` (plain arrays, loads with ``allow_pickle=False``):

=================  ======================  ===================================================
key                shape / dtype           meaning
=================  ======================  ===================================================
``xy``             (T, V, P, J, 2) float32 pixel coordinates (distorted, as in the image)
``score``          (T, V, P, J) float32    confidence in [0, 1]
``camera_names``   (V,) str                view order; matched to rig cameras by name
``layout``         () str                  keypoint layout name (``mocap.skeleton``)
``joint_names``    (J,) str                canonical joint names of the layout
``fps``            () float64              frames per second
``schema_version`` () int                  format version
=================  ======================  ===================================================

NaN semantics: a joint that was not detected has ``xy = NaN`` (both components) and
``score = 0``. Person slots ``P`` are per view and per frame: slot ``p`` of view ``a`` and slot
``p`` of view ``b`` are **not** the same person unless an association step made them so. A padded
slot has all ``xy`` NaN and all scores 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calibration.arrays import check_shape, frozen
from calibration.conventions import SCHEMA_VERSION
from mocap.errors import FileFormatError, ShapeError
from mocap.npz_io import read_npz, scalar, write_npz
from mocap.skeleton.layouts import KeypointLayout, layout_from_names


def _check_fps(fps: float) -> float:
    if not np.isfinite(fps) or fps <= 0:
        raise ShapeError("fps", "a positive number of frames per second", repr(fps))
    return float(fps)


@dataclass(frozen=True, eq=False)
class Detections2D:
    """2D keypoints per frame, view, person slot and joint.

    Attributes:
        xy: (T, V, P, J, 2) float32 pixels; NaN where not detected.
        score: (T, V, P, J) float32 in [0, 1]; 0 where not detected.
        camera_names: (V,) names of the views, in array order.
        layout: keypoint layout of axis J.
        fps: frames per second of axis T.

    Construction copies the arrays, makes them read-only and normalises missing joints
    (any NaN component or a zero/NaN score makes the joint missing: both ``xy`` NaN, score 0).

    Raises:
        ShapeError: on inconsistent shapes, scores outside [0, 1], a non-positive fps, or camera
            names that repeat.
    """

    xy: NDArray[Any] = field(repr=False)
    score: NDArray[Any] = field(repr=False)
    camera_names: tuple[str, ...]
    layout: KeypointLayout
    fps: float

    def __post_init__(self) -> None:
        sizes = {"J": self.layout.num_joints, "V": len(self.camera_names)}
        xy = np.array(self.xy, dtype=np.float32, copy=True)
        score = np.array(self.score, dtype=np.float32, copy=True)
        check_shape("xy", xy, ("T", "V", "P", "J", 2), sizes)
        check_shape("score", score, ("T", "V", "P", "J"), sizes)
        if len(set(self.camera_names)) != len(self.camera_names):
            raise ShapeError("camera_names", "unique names", ", ".join(self.camera_names))
        with np.errstate(invalid="ignore"):
            bad = (score < 0) | (score > 1)
        if np.any(bad):
            raise ShapeError("score", "values in [0, 1]", f"min {np.nanmin(score):g}, max {np.nanmax(score):g}")
        missing = np.any(~np.isfinite(xy), axis=-1) | ~(score > 0)
        xy[missing] = np.nan
        score[missing] = 0.0
        object.__setattr__(self, "xy", frozen("xy", xy, (None,) * 5, np.float32))
        object.__setattr__(self, "score", frozen("score", score, (None,) * 4, np.float32))
        object.__setattr__(self, "camera_names", tuple(str(n) for n in self.camera_names))
        object.__setattr__(self, "fps", _check_fps(self.fps))

    @property
    def num_frames(self) -> int:
        return int(self.xy.shape[0])

    @property
    def num_views(self) -> int:
        return int(self.xy.shape[1])

    @property
    def num_slots(self) -> int:
        """Person slots per view and frame (axis P)."""
        return int(self.xy.shape[2])

    @property
    def detected(self) -> NDArray[np.bool_]:
        """(T, V, P, J) True where a joint was detected."""
        return self.score > 0

    def subset_views(self, names: tuple[str, ...] | list[str]) -> Detections2D:
        """The views named, in the order given (e.g. to follow a rig's order).

        Raises:
            KeyError: naming the missing view and listing the available ones.
        """
        index = []
        for name in names:
            if name not in self.camera_names:
                raise KeyError(f"no view named {name!r} (views: {', '.join(self.camera_names)})")
            index.append(self.camera_names.index(name))
        return Detections2D(self.xy[:, index], self.score[:, index], tuple(names), self.layout, self.fps)

    # ------------------------------------------------------------------ files

    def save(self, path: str | Path) -> Path:
        """Write ``keypoints2d.npz`` atomically (see the module docstring)."""
        return write_npz(
            path,
            {
                "xy": self.xy,
                "score": self.score,
                "camera_names": np.array(self.camera_names, dtype=str),
                "layout": np.array(self.layout.name),
                "joint_names": np.array(self.layout.joint_names, dtype=str),
                "fps": np.array(self.fps),
                "schema_version": np.array(SCHEMA_VERSION),
            },
        )

    @classmethod
    def load(cls, path: str | Path) -> Detections2D:
        """Read a ``keypoints2d.npz`` file.

        Raises:
            MissingFileError, FileFormatError: with the file and field named.
        """
        keys = ("xy", "score", "camera_names", "layout", "joint_names", "fps")
        arrays = read_npz(path, keys, "a keypoints2d.npz file")
        layout = layout_from_names(scalar(path, arrays, "layout", str), list(arrays["joint_names"]))
        try:
            return cls(
                arrays["xy"],
                arrays["score"],
                tuple(str(n) for n in arrays["camera_names"]),
                layout,
                scalar(path, arrays, "fps", float),
            )
        except ShapeError as exc:
            raise FileFormatError(path, exc.name, f"expected {exc.expected}, got {exc.actual}") from None


def empty_detections(
    num_frames: int, camera_names: tuple[str, ...], num_slots: int, layout: KeypointLayout, fps: float
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Writable ``xy`` (NaN) and ``score`` (0) arrays to fill before building a :class:`Detections2D`."""
    shape = (num_frames, len(camera_names), num_slots, layout.num_joints)
    return np.full(shape + (2,), np.nan, dtype=np.float32), np.zeros(shape, dtype=np.float32)
