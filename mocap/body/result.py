"""The result of an SMPL fit and its ``smpl.npz`` file (AMASS-style, plain arrays).

File ``smpl.npz`` (one person; loads with ``numpy.load(..., allow_pickle=False)``):

=====================  ===================  ====================================================
key                    shape / dtype        meaning
=====================  ===================  ====================================================
``poses``              (T, 72) float64      axis-angle per SMPL joint, root first; the root maps
                                            the model frame (Y up) into the world (Z up)
``betas``              (S,) float64         shape coefficients, one set for the take
``trans``              (T, 3) float64       root translation, metres, world
``gender``             () str               neutral, male or female (the model file used)
``mocap_framerate``    () float64           frames per second
``surface_model_type`` () str               ``smpl``
``joints``             (T, 24, 3) float32   posed SMPL joints, metres, world Z-up
``observed``           (T,) bool            frame had enough triangulated keypoints; other
                                            frames are carried by the smoothness prior only
``residual_m``         (T, J) float32       distance fitted keypoint to triangulated keypoint,
                                            NaN where not triangulated or not fitted
``source_layout``      () str               layout of the triangulated keypoints
``source_joint_names`` (J,) str             their canonical names
``person_id``          () int               the person's track id
``fit_config``         () str               the FitConfig that made the file (JSON)
``code_version``       () str               package version (and git commit) that made it
``schema_version``     () int               format version
=====================  ===================  ====================================================

The first five keys are the AMASS layout (``poses``, ``betas``, ``trans``, ``gender``,
``mocap_framerate``), so AMASS tools read the file; SMPL proper has 72 pose values where AMASS's
SMPL+H files have 156. The posed body is ``SMPL(poses, betas) + trans`` with the model file named
by ``gender``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calibration.arrays import frozen
from calibration.conventions import SCHEMA_VERSION
from mocap.body.model_file import GENDERS, Gender
from mocap.errors import FileFormatError, ShapeError
from mocap.npz_io import read_npz, scalar, write_npz
from mocap.poses3d import Poses3D
from mocap.skeleton.layouts import SMPL24, KeypointLayout, layout_from_names


@dataclass(frozen=True)
class FitReport:
    """How a fit went.

    Attributes:
        iterations: optimisation steps per stage, e.g. ``{"global": 5, "body": 25}``.
        final_loss: objective value at the end (per frame).
        seconds: wall time of the fit.
        device: torch device it ran on.
    """

    iterations: dict[str, int]
    final_loss: float
    seconds: float
    device: str


@dataclass(frozen=True, eq=False)
class SmplFit:
    """One person's SMPL parameters over a take (see the module docstring for the meaning).

    Attributes:
        poses: (T, 72) axis-angle, root first.
        betas: (S,) shape.
        trans: (T, 3) metres.
        joints: (T, 24, 3) posed joints, world.
        observed: (T,) frames with enough keypoints.
        residual_m: (T, J) per source keypoint; NaN where not triangulated or not fitted.
        source_layout: layout of the fitted keypoints.
        gender: of the model used.
        fps: frames per second.
        person_id: track id.
        report: optimisation summary (None when read from a file).
        config: the fit settings as JSON (empty when unknown).
        code_version: the code that made the fit (empty when unknown).
    """

    poses: NDArray[np.float64] = field(repr=False)
    betas: NDArray[np.float64]
    trans: NDArray[np.float64] = field(repr=False)
    joints: NDArray[np.float32] = field(repr=False)
    observed: NDArray[np.bool_] = field(repr=False)
    residual_m: NDArray[np.float32] = field(repr=False)
    source_layout: KeypointLayout
    gender: Gender
    fps: float
    person_id: int = 0
    report: FitReport | None = None
    config: str = ""
    code_version: str = ""

    def __post_init__(self) -> None:
        sizes = {"J": self.source_layout.num_joints}
        object.__setattr__(self, "poses", frozen("poses", self.poses, ("T", 72), np.float64, sizes))
        object.__setattr__(self, "betas", frozen("betas", self.betas, ("S",), np.float64, sizes))
        object.__setattr__(self, "trans", frozen("trans", self.trans, ("T", 3), np.float64, sizes))
        object.__setattr__(self, "joints", frozen("joints", self.joints, ("T", 24, 3), np.float32, sizes))
        object.__setattr__(self, "observed", frozen("observed", self.observed, ("T",), np.bool_, sizes))
        object.__setattr__(self, "residual_m", frozen("residual_m", self.residual_m, ("T", "J"), np.float32, sizes))
        if self.gender not in GENDERS:
            raise ShapeError("gender", " or ".join(GENDERS), repr(self.gender))
        if not np.isfinite(self.fps) or self.fps <= 0:
            raise ShapeError("fps", "a positive number of frames per second", repr(self.fps))
        object.__setattr__(self, "fps", float(self.fps))

    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])

    def per_joint_residual_m(self) -> dict[str, float]:
        """Median residual per fitted source keypoint (metres), NaN-free entries only."""
        out = {}
        for j, name in enumerate(self.source_layout.joint_names):
            values = self.residual_m[:, j]
            values = values[np.isfinite(values)]
            if values.size:
                out[name] = float(np.median(values))
        return out

    def mean_residual_m(self) -> float:
        """Mean residual over every fitted, triangulated keypoint (metres); NaN when there is none."""
        values = self.residual_m[np.isfinite(self.residual_m)]
        return float(values.mean()) if values.size else float("nan")

    def to_poses3d(self) -> Poses3D:
        """The posed SMPL skeleton as :class:`Poses3D` in layout ``smpl24`` (for BVH/FBX export).

        Unobserved frames keep the smoothed pose (they are not NaN), since an exporter needs a pose
        on every frame; ``observed`` tells them apart.
        """
        return skeleton_poses([self])

    def save(self, path: str | Path) -> Path:
        """Write ``smpl.npz`` atomically (see the module docstring)."""
        return write_npz(
            path,
            {
                "poses": self.poses,
                "betas": self.betas,
                "trans": self.trans,
                "gender": np.array(self.gender),
                "mocap_framerate": np.array(self.fps),
                "surface_model_type": np.array("smpl"),
                "joints": self.joints,
                "observed": self.observed,
                "residual_m": self.residual_m,
                "source_layout": np.array(self.source_layout.name),
                "source_joint_names": np.array(self.source_layout.joint_names, dtype=str),
                "person_id": np.array(self.person_id),
                "fit_config": np.array(self.config),
                "code_version": np.array(self.code_version),
                "schema_version": np.array(SCHEMA_VERSION),
            },
        )

    @classmethod
    def load(cls, path: str | Path) -> SmplFit:
        """Read a ``smpl.npz`` written by :meth:`save`.

        Raises:
            MissingFileError, FileFormatError: with the file and field named.
        """
        keys = ("poses", "betas", "trans", "gender", "mocap_framerate", "joints", "observed", "residual_m")
        arrays: dict[str, Any] = read_npz(path, (*keys, "source_layout", "source_joint_names"), "an smpl.npz file")
        layout = layout_from_names(scalar(path, arrays, "source_layout", str), list(arrays["source_joint_names"]))
        gender = scalar(path, arrays, "gender", str)
        if gender not in GENDERS:
            raise FileFormatError(path, "gender", f"expected one of {', '.join(GENDERS)}, got {gender!r}")
        person = scalar(path, arrays, "person_id", int) if "person_id" in arrays else 0
        provenance = {
            key: scalar(path, arrays, key, str) if key in arrays else "" for key in ("fit_config", "code_version")
        }
        try:
            return cls(
                poses=arrays["poses"],
                betas=arrays["betas"],
                trans=arrays["trans"],
                joints=arrays["joints"],
                observed=arrays["observed"],
                residual_m=arrays["residual_m"],
                source_layout=layout,
                gender=gender,
                fps=scalar(path, arrays, "mocap_framerate", float),
                person_id=person,
                config=provenance["fit_config"],
                code_version=provenance["code_version"],
            )
        except ShapeError as exc:
            raise FileFormatError(path, exc.name, f"expected {exc.expected}, got {exc.actual}") from None


def skeleton_poses(fits: Sequence[SmplFit]) -> Poses3D:
    """The posed SMPL skeletons of several fits of one take as one :class:`Poses3D` (layout ``smpl24``).

    Raises:
        ShapeError: no fit, or fits that differ in frame count or frame rate.
    """
    if not fits:
        raise ShapeError("fits", "at least one SMPL fit", "none")
    if len({(fit.num_frames, fit.fps) for fit in fits}) != 1:
        raise ShapeError("fits", "the same frames and frame rate", str([(f.num_frames, f.fps) for f in fits]))
    joints = np.stack([fit.joints for fit in fits], axis=1)  # (T, P, 24, 3)
    return Poses3D.from_points(joints, SMPL24, fits[0].fps, person_id=[fit.person_id for fit in fits])
