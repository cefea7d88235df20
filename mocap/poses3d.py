"""3D poses of the people of a take: the ``Poses3D`` type and its npz file.

File ``poses3d.npz`` (plain arrays, loads with ``allow_pickle=False``):

=======================  ======================  ==============================================
key                      shape / dtype           meaning
=======================  ======================  ==============================================
``xyz``                  (T, P, J, 3) float32    world coordinates, metres, Z up
``person_id``            (P,) int32              stable id per person slot; -1 = padded slot
``reprojection_error``   (T, P, J) float32       mean reprojection error of the views used, px
``n_views``              (T, P, J) int16         number of views the point was made from
``layout``               () str                  keypoint layout name
``joint_names``          (J,) str                canonical joint names
``fps``                  () float64              frames per second
``schema_version``       () int                  format version
=======================  ======================  ==============================================

NaN semantics: a joint that was not reconstructed in a frame has ``xyz = NaN`` (all three),
``n_views = 0`` and ``reprojection_error = NaN``. ``reprojection_error`` may also be NaN for a
reconstructed point when no error is known (ground truth, imported motion). A padded person slot
(id -1) is NaN everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.arrays import check_shape, frozen
from calibration.conventions import PADDED_PERSON_ID, SCHEMA_VERSION
from mocap.errors import FileFormatError, ShapeError
from mocap.npz_io import read_npz, scalar, write_npz
from mocap.skeleton.layouts import KeypointLayout, layout_from_names


@dataclass(frozen=True, eq=False)
class Poses3D:
    """3D joints per frame and person.

    Attributes:
        xyz: (T, P, J, 3) float32, metres, world frame; NaN where not reconstructed.
        person_id: (P,) int32 track id per slot; -1 for a padded slot.
        reprojection_error: (T, P, J) float32 pixels; NaN where unknown or not reconstructed.
        n_views: (T, P, J) int16 views used; 0 where not reconstructed.
        layout: keypoint layout of axis J.
        fps: frames per second.

    Construction copies, freezes and normalises the arrays (a point with any NaN component is
    NaN in all three, has 0 views and NaN error; padded slots are emptied).

    Raises:
        ShapeError: inconsistent shapes, repeated non-negative ids, a non-positive fps.
    """

    xyz: NDArray[Any] = field(repr=False)
    person_id: NDArray[Any]
    reprojection_error: NDArray[Any] = field(repr=False)
    n_views: NDArray[Any] = field(repr=False)
    layout: KeypointLayout
    fps: float

    def __post_init__(self) -> None:
        sizes = {"J": self.layout.num_joints}
        xyz = np.array(self.xyz, dtype=np.float32, copy=True)
        check_shape("xyz", xyz, ("T", "P", "J", 3), sizes)
        ids = np.array(self.person_id, dtype=np.int32, copy=True)
        check_shape("person_id", ids, ("P",), sizes)
        error = np.array(self.reprojection_error, dtype=np.float32, copy=True)
        check_shape("reprojection_error", error, ("T", "P", "J"), sizes)
        views = np.array(self.n_views, copy=True)
        check_shape("n_views", views, ("T", "P", "J"), sizes)
        if np.any(views < 0):
            raise ShapeError("n_views", "counts >= 0", f"min {views.min()}")
        real = ids[ids != PADDED_PERSON_ID]
        if np.any(real < 0) or len(np.unique(real)) != len(real):
            raise ShapeError("person_id", "unique ids >= 0, or -1 for padded slots", str(ids.tolist()))
        if not np.isfinite(self.fps) or self.fps <= 0:
            raise ShapeError("fps", "a positive number of frames per second", repr(self.fps))
        missing = np.any(~np.isfinite(xyz), axis=-1)
        missing[:, ids == PADDED_PERSON_ID] = True
        xyz[missing] = np.nan
        error[missing] = np.nan
        views = views.astype(np.int16)
        views[missing] = 0
        object.__setattr__(self, "xyz", frozen("xyz", xyz, (None,) * 4, np.float32))
        object.__setattr__(self, "person_id", frozen("person_id", ids, (None,), np.int32))
        object.__setattr__(self, "reprojection_error", frozen("reprojection_error", error, (None,) * 3, np.float32))
        object.__setattr__(self, "n_views", frozen("n_views", views, (None,) * 3, np.int16))
        object.__setattr__(self, "fps", float(self.fps))

    @classmethod
    def from_points(
        cls,
        xyz: ArrayLike,
        layout: KeypointLayout,
        fps: float,
        person_id: ArrayLike | None = None,
    ) -> Poses3D:
        """Poses from coordinates alone (ground truth, imported motion): error unknown (NaN).

        ``n_views`` is 0 everywhere, since no view made these points.
        """
        xyz = np.asarray(xyz, dtype=np.float32)
        check_shape("xyz", xyz, ("T", "P", layout.num_joints, 3))
        t, p = xyz.shape[:2]
        ids = np.arange(p, dtype=np.int32) if person_id is None else np.asarray(person_id)
        return cls(
            xyz, ids, np.full((t, p, layout.num_joints), np.nan), np.zeros((t, p, layout.num_joints)), layout, fps
        )

    @property
    def num_frames(self) -> int:
        return int(self.xyz.shape[0])

    @property
    def num_people(self) -> int:
        """Person slots (axis P), padded ones included."""
        return int(self.xyz.shape[1])

    @property
    def valid(self) -> NDArray[np.bool_]:
        """(T, P, J) True where a joint was reconstructed."""
        return ~np.isnan(self.xyz[..., 0])

    def person(self, person_id: int) -> Poses3D:
        """The one-person poses of track ``person_id``.

        Raises:
            KeyError: if no slot has that id (the message lists the ids).
        """
        slots = np.flatnonzero(self.person_id == person_id)
        if person_id == PADDED_PERSON_ID or len(slots) == 0:
            ids = ", ".join(str(i) for i in self.person_id if i != PADDED_PERSON_ID)
            raise KeyError(f"no person with id {person_id} (ids: {ids or 'none'})")
        s = slots[:1]
        return Poses3D(
            self.xyz[:, s], self.person_id[s], self.reprojection_error[:, s], self.n_views[:, s], self.layout, self.fps
        )

    # ------------------------------------------------------------------ files

    def save(self, path: str | Path) -> Path:
        """Write ``poses3d.npz`` atomically (see the module docstring)."""
        return write_npz(
            path,
            {
                "xyz": self.xyz,
                "person_id": self.person_id,
                "reprojection_error": self.reprojection_error,
                "n_views": self.n_views,
                "layout": np.array(self.layout.name),
                "joint_names": np.array(self.layout.joint_names, dtype=str),
                "fps": np.array(self.fps),
                "schema_version": np.array(SCHEMA_VERSION),
            },
        )

    @classmethod
    def load(cls, path: str | Path) -> Poses3D:
        """Read a ``poses3d.npz`` file.

        Raises:
            MissingFileError, FileFormatError: with the file and field named.
        """
        keys = ("xyz", "person_id", "reprojection_error", "n_views", "layout", "joint_names", "fps")
        arrays = read_npz(path, keys, "a poses3d.npz file")
        layout = layout_from_names(scalar(path, arrays, "layout", str), list(arrays["joint_names"]))
        try:
            return cls(
                arrays["xyz"],
                arrays["person_id"],
                arrays["reprojection_error"],
                arrays["n_views"],
                layout,
                scalar(path, arrays, "fps", float),
            )
        except ShapeError as exc:
            raise FileFormatError(path, exc.name, f"expected {exc.expected}, got {exc.actual}") from None
