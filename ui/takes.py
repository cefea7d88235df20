"""A take as the review mode holds it, and the loaders that build one. No Qt; run in jobs.

:class:`TakeData` gathers what review draws: the rig, the 2D detections with the person each
detection slot was given to, the 3D poses, each person's centre per frame (for trails and plots)
and where the camera images come from (:mod:`ui.media`). Loaders:

* :func:`load_results_folder`: a folder with ``rig.toml``, ``keypoints2d.npz`` and/or
  ``poses3d.npz`` (what ``mocap demo`` and the headless commands write);
* :func:`load_session_take`: a take of a session (its videos, timestamps and ``derived/`` results);
* :func:`synthetic_take`: a take of the synthetic studio, reconstructed by the association stage
  (the demo session's take), with images drawn by the studio's renderer.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from calibration.progress import CancelToken, Progress, check_cancelled
from calibration.rig import CameraRig
from calibration.rig_toml import load_rig
from mocap.detections2d import Detections2D
from mocap.errors import MismatchError, MissingFileError
from mocap.poses3d import Poses3D
from mocap.skeleton.layouts import KeypointLayout
from ui.media import FrameImages, RenderedImages, VideoImages
from ui.scene import Stage, body_centres, centre_joints, stage_from_rig

log = logging.getLogger(__name__)

#: File names of results inside a results folder or a take's ``derived/`` tree.
POSES_FILE = "poses3d.npz"
DETECTIONS_FILE = "keypoints2d.npz"
ASSIGNMENT_FILE = "slot_person.npy"


@dataclass(frozen=True, eq=False)
class TakeData:
    """Everything review shows of one take.

    Attributes:
        title: what the take is called in the window.
        layout: keypoint layout of detections and poses.
        fps: frames per second.
        num_frames: frames (T) of the take.
        stage: cameras and skeleton for the views.
        rig: the cameras, or None when the take has no calibration.
        detections: (T, V, S, J) 2D keypoints in rig order, or None.
        slot_person: (T, V, S) person id per detection slot (-1: no one), or None.
        poses: 3D poses (T, P, J, 3), or None before processing.
        centres: (T, P, 3) each person's centre (metres, NaN where absent); (T, 0, 3) without poses.
        images: where camera images come from, or None (tiles draw a plain background).
        folder: where the take lives (exports go to ``folder / "exports"``), or None.
    """

    title: str
    layout: KeypointLayout
    fps: float
    num_frames: int
    stage: Stage
    rig: CameraRig | None = field(default=None, repr=False)
    detections: Detections2D | None = field(default=None, repr=False)
    slot_person: NDArray[np.int64] | None = field(default=None, repr=False)
    poses: Poses3D | None = field(default=None, repr=False)
    centres: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0, 3)), repr=False)
    images: FrameImages | None = field(default=None, repr=False)
    folder: Path | None = None

    @property
    def person_ids(self) -> tuple[int, ...]:
        """Ids of the real (non-padded) people of the poses."""
        if self.poses is None:
            return ()
        return tuple(int(i) for i in self.poses.person_id if i >= 0)


def make_take_data(
    title: str,
    rig: CameraRig | None,
    detections: Detections2D | None,
    poses: Poses3D | None,
    *,
    slot_person: NDArray[np.int64] | None = None,
    images: FrameImages | None = None,
    folder: Path | None = None,
) -> TakeData:
    """Check that the parts agree and assemble a :class:`TakeData`.

    Raises:
        MismatchError: frame counts, layouts or cameras disagree (both sides named).
        MissingFileError: neither detections nor poses were given.
    """
    if detections is None and poses is None:
        raise MissingFileError(f"{title}: no 2D detections and no 3D poses to show; process the take first")
    layout = poses.layout if poses is not None else detections.layout  # type: ignore[union-attr]
    fps = poses.fps if poses is not None else detections.fps  # type: ignore[union-attr]
    num_frames = poses.num_frames if poses is not None else detections.num_frames  # type: ignore[union-attr]
    if detections is not None:
        if detections.num_frames != num_frames:
            raise MismatchError(
                f"{title}: the 2D detections hold {detections.num_frames} frames, the 3D poses {num_frames}"
            )
        if detections.layout.joint_names != layout.joint_names:
            raise MismatchError(f"{title}: 2D layout {detections.layout.name} differs from 3D layout {layout.name}")
        if rig is not None:
            missing = [n for n in rig.names if n not in detections.camera_names]
            if missing:
                raise MismatchError(f"{title}: the 2D detections lack cameras {', '.join(missing)} of the rig")
            detections = detections.subset_views(rig.names)
    if slot_person is not None and detections is not None and slot_person.shape != detections.score.shape[:3]:
        raise MismatchError(
            f"{title}: person assignment has shape {slot_person.shape}, detections {detections.score.shape[:3]}"
        )
    centres = (
        body_centres(poses.xyz, centre_joints(layout)) if poses is not None else np.zeros((num_frames, 0, 3))
    )  # (T, P, 3)
    stage = stage_from_rig(rig, layout, title, num_frames=num_frames, fps=fps)
    return TakeData(title, layout, fps, num_frames, stage, rig, detections, slot_person, poses, centres, images, folder)


def _optional(path: Path) -> Path | None:
    return path if path.is_file() else None


def load_results_folder(folder: str | Path) -> TakeData:
    """A folder of results: ``rig.toml`` (optional), ``keypoints2d.npz`` and/or ``poses3d.npz``,
    ``slot_person.npy`` (optional, (T, V, S) int).

    Raises:
        MissingFileError: the folder does not exist or holds neither result file.
        FileFormatError, MismatchError: a file is malformed or the files disagree.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError(f"{folder}: no such folder; choose a folder with poses3d.npz or keypoints2d.npz")
    rig_path = _optional(folder / "rig.toml")
    rig = load_rig(rig_path) if rig_path is not None else None
    detections_path = _optional(folder / DETECTIONS_FILE)
    poses_path = _optional(folder / POSES_FILE)
    if detections_path is None and poses_path is None:
        raise MissingFileError(f"{folder}: holds neither {POSES_FILE} nor {DETECTIONS_FILE}")
    detections = Detections2D.load(detections_path) if detections_path is not None else None
    poses = Poses3D.load(poses_path) if poses_path is not None else None
    assignment = _optional(folder / ASSIGNMENT_FILE)
    slot_person = np.load(assignment, allow_pickle=False).astype(np.int64) if assignment is not None else None
    return make_take_data(folder.name, rig, detections, poses, slot_person=slot_person, folder=folder)


def newest_file(root: Path, name: str) -> Path | None:
    """The most recently written file called ``name`` under ``root`` (recursively), or None."""
    if not root.is_dir():
        return None
    found = sorted(root.rglob(name), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def load_session_take(session_root: str | Path, take_name: str) -> TakeData:
    """A take of a session: its rig, its newest ``derived/`` results and its videos.

    Raises:
        MissingFileError: no such session or take, or no results yet (process it first).
        NoCalibrationError: the session has no rig.
        FileFormatError, MismatchError: malformed or disagreeing files.
    """
    from mocap.session.store import Session

    session = Session.open(session_root)
    take = session.take(take_name)
    rig = session.load_rig().subset([n for n in session.load_rig().names if n in take.camera_names])
    detections_path = newest_file(take.derived_dir, DETECTIONS_FILE)
    poses_path = newest_file(take.derived_dir, POSES_FILE)
    if detections_path is None and poses_path is None:
        raise MissingFileError(f"{take.root}: the take has no results yet; process it first")
    detections = Detections2D.load(detections_path) if detections_path is not None else None
    poses = Poses3D.load(poses_path) if poses_path is not None else None
    assignment = newest_file(take.derived_dir, ASSIGNMENT_FILE)
    slot_person = np.load(assignment, allow_pickle=False).astype(np.int64) if assignment is not None else None
    frame_map = take.frame_map()  # (S, V_take)
    columns = [take.camera_names.index(n) for n in rig.names]
    videos = tuple(take.video_path(n) for n in rig.names)
    images = VideoImages(videos, frame_map[:, columns])
    return make_take_data(
        f"{session.info.name} / {take.name}",
        rig,
        detections,
        poses,
        slot_person=slot_person,
        images=images,
        folder=take.root,
    )


def synthetic_take(
    config: object, title: str = "demo take", cancel: CancelToken | None = None
) -> Generator[Progress, None, TakeData]:
    """Generate a synthetic take, reconstruct its people with the association stage and render
    its images on demand (progress generator).

    Args:
        config: a :class:`~mocap.synthetic.studio.StudioConfig`.
        title: name shown in the window.
        cancel: cancellation token.
    """
    from mocap.association.associate import associate_take_iter
    from mocap.synthetic.render import SceneRenderer
    from mocap.synthetic.studio import StudioConfig, generate_take

    if not isinstance(config, StudioConfig):
        raise TypeError(f"config must be a StudioConfig, got {type(config).__name__}")
    yield Progress("generating the synthetic take", 0, 1)
    take = generate_take(config)
    check_cancelled(cancel)
    yield Progress("generating the synthetic take", 1, 1)
    result = yield from associate_take_iter(take.rig, take.detections, cancel=cancel)
    renderer = SceneRenderer.from_take_parts(take.rig, take.motion_source, take.placements)
    images = RenderedImages(renderer, take.rig.names, config.fps, take.time_offsets_frames)
    return make_take_data(title, take.rig, take.detections, result.poses, slot_person=result.slot_person, images=images)


def check_same_cameras(a: tuple[str, ...], b: tuple[str, ...], what: str) -> None:
    """Raise :class:`MismatchError` when camera lists differ."""
    if tuple(a) != tuple(b):
        raise MismatchError(f"{what}: cameras {', '.join(a)} differ from {', '.join(b)}")
