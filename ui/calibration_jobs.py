"""The calibration wizard's work, run in jobs: a quick board scan per camera and the calibration. No Qt.

* :func:`resolve_sources`: camera name -> video or image folder (:mod:`calibration.calibrate_sources`),
  intrinsic inputs matched to the extrinsic cameras; :func:`take_sources`: a recorded take's
  videos (the board filmed with the recording panel).
* :func:`scan_iter`: searches every camera's extrinsic input for the board at most
  ``max_frames`` evenly spaced frames (:class:`calibration.board_detection.BoardDetector`) and
  reports, per camera, in how many frames the board was found, the image with the most corners
  and its corners (the detection overlay), and the coverage of the image by corners
  (:func:`calibration.report.coverage_grid`): what to fix before a long run.
* :func:`calibrate_job`: :func:`calibration.calibrate.calibrate_iter` with the wizard's choices, and the
  :class:`~ui.scene.Stage` of the result (frusta, per-camera errors) for the views.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calibration.boards import BoardSpec
from calibration.progress import CancelToken, Progress, check_cancelled
from ui.scene import Stage, stage_from_rig

#: Most frames searched per camera by a scan.
SCAN_FRAMES = 30


@dataclass(frozen=True, eq=False)
class CameraScan:
    """One camera's board scan.

    Attributes:
        name: camera name.
        path: its extrinsic input.
        image_size: (width, height) pixels.
        frames_scanned: frames searched.
        frames_found: frames where the board was found.
        corners: corners found over all those frames.
        coverage: share of the coverage grid's cells holding a corner, 0..1.
        coverage_grid: (rows, columns) corner counts.
        image: BGR frame with the most corners (None when the board was never found).
        image_frame: its index (-1 when none).
        image_corners: (N, 2) its corners, distorted pixels.
    """

    name: str
    path: Path
    image_size: tuple[int, int]
    frames_scanned: int
    frames_found: int
    corners: int
    coverage: float
    coverage_grid: NDArray[np.int64] = field(repr=False)
    image: NDArray[np.uint8] | None = field(default=None, repr=False)
    image_frame: int = -1
    image_corners: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 2)), repr=False)

    def summary(self) -> str:
        return (
            f"board in {self.frames_found}/{self.frames_scanned} frames, {self.corners} corners, "
            f"coverage {self.coverage * 100:.0f} %"
        )


@dataclass(frozen=True)
class Sources:
    """Resolved inputs: camera name -> extrinsic input; camera name -> intrinsic input (may be empty)."""

    extrinsic: dict[str, Path]
    intrinsic: dict[str, Path]


def resolve_sources(extrinsic: Sequence[str | Path], intrinsic: Sequence[str | Path] = ()) -> Sources:
    """Camera names for the chosen videos or folders (see :mod:`calibration.calibrate_sources`).

    Raises:
        MissingFileError: a path does not exist or holds no media.
        CalibrationError: two inputs name the same camera, or an intrinsic input matches no camera.
    """
    from calibration.calibrate_sources import camera_sources, match_sources

    found = camera_sources(extrinsic, "extrinsic")
    matched = match_sources(camera_sources(intrinsic, "intrinsic"), found) if intrinsic else {}
    return Sources(found, matched)


def take_sources(session_root: str | Path, take_name: str) -> Sources:
    """A recorded take's videos as the extrinsic inputs (the board filmed with the recording panel).

    Raises:
        MissingFileError, FileFormatError: no such session or take, or a video is missing.
    """
    from mocap.errors import MissingFileError
    from mocap.session.store import Session

    take = Session.open(session_root).take(take_name)
    videos = [take.video_path(name) for name in take.camera_names]
    missing = [str(v) for v in videos if not v.is_file()]
    if missing:
        raise MissingFileError(f"{take.root}: videos missing: {', '.join(missing)}")
    return resolve_sources(videos)


def scan_iter(
    board: BoardSpec, sources: Mapping[str, Path], *, max_frames: int = SCAN_FRAMES, cancel: CancelToken | None = None
) -> Generator[Progress, None, tuple[CameraScan, ...]]:
    """Scan every camera's input for the board (see the module docstring).

    Raises:
        MissingFileError, FileFormatError: an input cannot be read.
        CancelledError: cancelled.
    """
    from calibration.board_detection import BoardDetector
    from calibration.media import open_frames
    from calibration.report import coverage_grid

    detector = BoardDetector(board)
    scans = []
    for index, (name, path) in enumerate(sources.items()):
        stage = f"scanning for the board ({index + 1}/{len(sources)})"
        with open_frames(path) as source:
            total = source.info.num_frames
            step = max(1, -(-total // max_frames))
            expected = -(-total // step)
            pixels: list[NDArray[np.float64]] = []
            found = scanned = 0
            best: tuple[int, NDArray[np.uint8], NDArray[np.float64]] | None = None
            for frame, image in source.frames(step=step):
                check_cancelled(cancel)
                detection = detector.detect(image, frame, measure_sharpness=False)
                scanned += 1
                if detection is not None:
                    found += 1
                    pixels.append(np.asarray(detection.corners_px))
                    if best is None or detection.num_corners > len(best[2]):
                        best = (frame, image, np.asarray(detection.corners_px))
                yield Progress(stage, scanned, max(expected, scanned), name)
        corners = np.concatenate(pixels) if pixels else np.zeros((0, 2))
        grid = coverage_grid(corners, source.info.size)
        scans.append(
            CameraScan(
                name,
                Path(path),
                source.info.size,
                scanned,
                found,
                len(corners),
                float(np.mean(grid > 0)),
                grid,
                best[1] if best is not None else None,
                best[0] if best is not None else -1,
                best[2] if best is not None else np.zeros((0, 2)),
            )
        )
    return tuple(scans)


@dataclass(frozen=True, eq=False)
class CalibrationOutcome:
    """A finished calibration and what the views draw of it.

    Attributes:
        result: :class:`~calibration.calibrate.CalibrationResult` (rig with its report in the metadata).
        stage: the calibrated cameras' frusta with their reprojection errors.
    """

    result: Any = field(repr=False)
    stage: Stage = field(repr=False)


def calibrate_job(
    board: BoardSpec,
    sources: Sources,
    *,
    floor_frame: int | None = None,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, CalibrationOutcome]:
    """Calibrate the rig (:func:`calibration.calibrate.calibrate_iter`) and build its stage.

    Args:
        board: the board in every input.
        sources: resolved inputs.
        floor_frame: extrinsic frame in which the board lies on the floor (sets the world frame);
            None levels the world from the cameras.
        cancel: cancellation.

    Raises:
        CalibrationError, MissingFileError, FileFormatError: one line naming the camera or file.
        CancelledError: cancelled.
    """
    from calibration.calibrate import CalibrationOptions, calibrate_iter

    options = CalibrationOptions(floor_frame=floor_frame)
    result = yield from calibrate_iter(
        board, sources.extrinsic, sources.intrinsic or None, options=options, cancel=cancel
    )
    errors = [c.rms_px for c in result.report.cameras]
    stage = stage_from_rig(result.rig, None, "calibration result", errors_px=errors)
    return CalibrationOutcome(result, stage)


def save_calibration(session_root: str | Path, rig: Any) -> Path:
    """Make ``rig`` the calibration of the session at ``session_root``; returns the rig file.

    Raises:
        MissingFileError, FileFormatError: not a session.
    """
    from mocap.session.store import Session

    return Session.open(session_root).set_calibration(rig)
