"""What the views draw: the stage (cameras, skeleton edges) and one frame (images, 2D overlays,
3D people), as frozen values built off the GUI thread. No Qt.

A *source* (the live feed, a reviewed take, a calibration result) turns its data into a
:class:`Stage` once, when it changes, and into a :class:`SceneFrame` per displayed frame; the
views only draw those. Building a stage (frusta through the exact lens model) runs in a job;
building a frame is indexing into arrays that are already in memory.

Frames follow :mod:`calibration.conventions`: 3D points in the world frame (Z up, metres),
2D keypoints in distorted pixels of their camera, NaN where missing.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calibration.rig import CameraRig
from mocap.skeleton.layouts import KeypointLayout

#: Depth of the drawn camera frusta, metres (less for cameras closer together, see :func:`frustum_depth`).
FRUSTUM_DEPTH_M = 0.45


@dataclass(frozen=True, eq=False)
class CameraInfo:
    """One camera as the views show it.

    Attributes:
        name: camera name.
        image_size: (width, height) pixels.
        center_world: (3,) camera centre, metres.
        frustum_world: (8, 2, 3) line segments of the frustum (4 edges from the centre, 4 of the
            image rectangle at :func:`frustum_depth`), metres.
        error_px: reprojection error of its calibration, NaN when unknown.
    """

    name: str
    image_size: tuple[int, int]
    center_world: NDArray[np.float64] = field(repr=False)
    frustum_world: NDArray[np.float64] = field(repr=False)
    error_px: float = float("nan")


@dataclass(frozen=True, eq=False)
class Stage:
    """What stays the same from frame to frame.

    Attributes:
        cameras: in rig (view) order; empty when no rig is known.
        edges: skeleton edges to draw, (a, b) joint index pairs.
        joint_names: names of axis J.
        centre_joints: joints whose mean is a person's centre (trail point, label anchor).
        title: what is shown (``"live: synthetic studio"``, ``"take_001"``).
        num_frames: frames of a recorded source, 0 for a live one.
        fps: frames per second.
    """

    cameras: tuple[CameraInfo, ...]
    edges: tuple[tuple[int, int], ...]
    joint_names: tuple[str, ...]
    centre_joints: tuple[int, ...]
    title: str
    num_frames: int = 0
    fps: float = 30.0

    @property
    def camera_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras)


@dataclass(frozen=True, eq=False)
class TileFrame:
    """One camera's picture of a frame.

    Attributes:
        image: BGR uint8 (H, W, 3), or None (the view draws a plain background).
        xy: (S, J, 2) keypoints in pixels, NaN where missing; None when there are none.
        score: (S, J) keypoint scores (0 where missing).
        person: (S,) person id per detection slot, -1 when the slot is no one's.
        status: one line drawn on the tile (fps, drops, recording state).
    """

    image: NDArray[np.uint8] | None = field(default=None, repr=False)
    xy: NDArray[np.float32] | None = field(default=None, repr=False)
    score: NDArray[np.float32] | None = field(default=None, repr=False)
    person: NDArray[np.int64] | None = field(default=None, repr=False)
    status: str = ""


@dataclass(frozen=True, eq=False)
class SceneFrame:
    """Everything drawn for one frame.

    Attributes:
        index: frame number (recorded) or frame-set number (live).
        time_s: time of the frame in its source, seconds.
        tiles: one per camera of the stage (may be empty: no 2D data).
        person_ids: (P,) ids of the people shown.
        poses: (P, J, 3) their joints, metres, world frame; NaN where missing.
        trails: per person (N, 3) past root positions, oldest first (may hold NaN); empty tuple
            when trails are off.
    """

    index: int
    time_s: float
    tiles: tuple[TileFrame, ...] = ()
    person_ids: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    poses: NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0, 3), np.float32), repr=False)
    trails: tuple[NDArray[np.float64], ...] = field(default=(), repr=False)


def frustum_segments(rig: CameraRig, depth_m: float = FRUSTUM_DEPTH_M) -> NDArray[np.float64]:
    """Frustum line segments of every camera.

    The image corners are undistorted exactly (so a strong lens draws its true field of view),
    turned into camera rays and placed at ``depth_m`` in front of the camera.

    Args:
        rig: the cameras.
        depth_m: distance of the drawn image rectangle from the centre, metres.

    Returns:
        (V, 8, 2, 3) segments in world coordinates, metres.
    """
    out = np.zeros((len(rig), 8, 2, 3))
    for v, camera in enumerate(rig.cameras):
        width, height = camera.image_size
        corners_px = np.array([[0.0, 0.0], [width - 1.0, 0.0], [width - 1.0, height - 1.0], [0.0, height - 1.0]])
        normalized = camera.undistort_points(corners_px, normalized=True)  # (4, 2)
        if not np.all(np.isfinite(normalized)):  # a lens model that does not invert at the corners
            normalized = camera.pixels_to_normalized(corners_px)
        corners_camera = np.concatenate([normalized, np.ones((4, 1))], axis=1) * depth_m  # (4, 3)
        corners_world = (corners_camera - camera.translation) @ camera.rotation  # R.T (p - t)
        centre = camera.center_world
        for k in range(4):
            out[v, k] = (centre, corners_world[k])
            out[v, 4 + k] = (corners_world[k], corners_world[(k + 1) % 4])
    return out


def frustum_depth(rig: CameraRig) -> float:
    """:data:`FRUSTUM_DEPTH_M`, or 40 % of the median distance between neighbouring cameras when
    that is less (a desk rig of cameras 0.4 m apart would otherwise draw overlapping frusta)."""
    centres = rig.centers_world  # (V, 3)
    if len(centres) < 2:
        return FRUSTUM_DEPTH_M
    distances = np.linalg.norm(centres[:, None] - centres[None], axis=-1) + np.diag(np.full(len(centres), np.inf))
    return float(min(FRUSTUM_DEPTH_M, 0.4 * np.median(distances.min(axis=1))))


def stage_from_rig(
    rig: CameraRig | None,
    layout: KeypointLayout | None,
    title: str,
    *,
    num_frames: int = 0,
    fps: float = 30.0,
    errors_px: Sequence[float] | None = None,
) -> Stage:
    """A :class:`Stage` for ``rig`` (None: no cameras) and ``layout`` (None: no skeleton).

    ``errors_px`` gives per-camera reprojection errors; by default they come from the rig's
    metadata (``reprojection_error_px`` per camera name) when present.
    """
    cameras: tuple[CameraInfo, ...] = ()
    if rig is not None:
        frusta = frustum_segments(rig, frustum_depth(rig))
        errors = list(errors_px) if errors_px is not None else rig_errors(rig)
        cameras = tuple(
            CameraInfo(c.name, tuple(c.image_size), c.center_world, frusta[v], float(errors[v]))  # type: ignore[arg-type]
            for v, c in enumerate(rig.cameras)
        )
    if layout is None:
        return Stage(cameras, (), (), (), title, num_frames, fps)
    return Stage(cameras, layout.edges, layout.joint_names, centre_joints(layout), title, num_frames, fps)


def rig_errors(rig: CameraRig) -> list[float]:
    """Per-camera reprojection errors (px) from the rig metadata, NaN where absent.

    Reads the calibration report (``metadata["calibration"]``, :mod:`calibration.report`: each
    camera's RMS), else a plain ``metadata["reprojection_error_px"]`` table (camera name -> px).
    """
    from calibration.report import report_from_metadata

    try:
        report = report_from_metadata(rig.metadata)
    except (KeyError, TypeError, ValueError):
        report = None
    by_name: dict[str, float] = {}
    if report is not None:
        by_name = {c.name: c.rms_px for c in report.cameras}
    else:
        table = rig.metadata.get("reprojection_error_px", {})
        if hasattr(table, "get"):
            for name in rig.names:
                try:
                    by_name[name] = float(table[name])
                except (KeyError, TypeError, ValueError):
                    continue
    return [float(by_name.get(name, float("nan"))) for name in rig.names]


def centre_joints(layout: KeypointLayout) -> tuple[int, ...]:
    """Joints that define a person's centre: the pelvis (or mid-hip), else both hips, else the root."""
    names = layout.joint_names
    for name in ("pelvis", "mid_hip"):
        if name in names:
            return (names.index(name),)
    if "left_hip" in names and "right_hip" in names:
        return (names.index("left_hip"), names.index("right_hip"))
    return (layout.root,)


def body_centres(poses: NDArray[np.floating], joints: Sequence[int]) -> NDArray[np.float64]:
    """Each person's centre: the mean of ``joints``, else (when those are missing) of all joints.

    Args:
        poses: (..., J, 3) metres.
        joints: indices into J (see :func:`centre_joints`).

    Returns:
        (..., 3) metres; NaN where a person has no joint at all.
    """
    poses = np.asarray(poses, dtype=np.float64)
    if poses.shape[-2] == 0:
        return np.full(poses.shape[:-2] + (3,), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN, on purpose
        every = np.nanmean(poses, axis=-2)
        chosen = np.nanmean(poses[..., list(joints), :], axis=-2) if joints else every
    return np.where(np.isfinite(chosen), chosen, every)
