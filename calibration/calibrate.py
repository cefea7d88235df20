"""The calibration pipeline: board videos in, a calibrated rig with its quality report out.

:func:`calibrate_iter` is a progress generator (:mod:`calibration.progress`) that the CLI drives with a
progress bar and the GUI's calibration wizard from a worker thread; :func:`calibrate` drains it.

Stages:

1. **Intrinsic detection**: the board in each camera's intrinsic video or image folder, at most
   ``intrinsic_max_scan`` frames searched per input (:mod:`calibration.board_detection`).
2. **Intrinsics** per camera (:mod:`calibration.intrinsics`); a camera without an intrinsic input is
   calibrated from its extrinsic detections.
3. **Extrinsic detection**: the board in every ``extrinsic_step``-th frame of the synchronized
   extrinsic videos (frame ``f`` of every video is the same moment).
4. **Initial extrinsics** from frames seen by two or more cameras, over a camera graph that must
   connect every camera (:mod:`calibration.extrinsics`).
5. **Bundle adjustment** of camera and board poses, by default with the lenses too
   (``bundle.refine_intrinsics``), each pulled towards its intrinsic calibration by a Gaussian prior
   of that calibration's uncertainty (``bundle.prior_weight``, :mod:`calibration.bundle_prior`), so
   that lenses the synchronized views barely constrain do not drift; with ``joint_close_ups`` the
   intrinsic close-ups join the adjustment as well (:mod:`calibration.bundle_adjustment`).
6. **World frame** from a board on the floor (``floor_frame``), known points, or levelled from the
   cameras; cameras must end up above the floor (:mod:`calibration.floor`).
7. **Report** into the rig's metadata (:mod:`calibration.report`).

Bad input raises a one-line :class:`~calibration.errors.MocapError` naming the camera or file; no file
is written here (the caller saves the rig, atomically).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from calibration.board_detection import BoardDetector, MediaDetections, detect_in_media
from calibration.boards import BoardSpec, board_to_dict
from calibration.bundle_adjustment import BundleOptions, BundleResult, bundle_adjust
from calibration.bundle_covariance import solved_rotation_uncertainty
from calibration.bundle_prior import prior_information, prior_weights
from calibration.bundle_problem import BundleProblem
from calibration.calibrate_hints import board_not_found_hint
from calibration.camera import Camera
from calibration.errors import CalibrationError, FileFormatError
from calibration.extrinsics import (
    board_poses,
    initial_board_poses,
    initial_extrinsics,
)
from calibration.floor import (
    apply_world_frame,
    check_cameras_above_floor,
    triangulate_points,
    world_from_cameras,
    world_from_floor_board,
    world_from_points,
)
from calibration.intrinsics import IntrinsicsOptions, IntrinsicsResult, calibrate_intrinsics
from calibration.progress import CancelToken, Progress, check_cancelled, drain
from calibration.report import CalibrationReport, camera_report, nearest_cameras
from calibration.rig import CameraRig

log = logging.getLogger(__name__)


class CalibrationOptions(BaseModel):
    """Everything that tunes :func:`calibrate_iter` (defaults suit 720p-4K videos)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    intrinsics: IntrinsicsOptions = Field(default_factory=IntrinsicsOptions, description="Intrinsic calibration.")
    bundle: BundleOptions = Field(
        default_factory=lambda: BundleOptions(refine_intrinsics=True),
        description="Bundle adjustment; by default lens and poses are adjusted jointly, the lenses held near their "
        "intrinsic calibration by its uncertainty (more accurate on the synthetic and caliscope rigs than intrinsics "
        "from close-ups alone).",
    )
    intrinsic_max_scan: int = Field(400, ge=1, description="Most frames searched per intrinsic input.")
    extrinsic_step: int = Field(1, ge=1, description="Search every N-th frame of the extrinsic videos.")
    marker_max_side: int = Field(1280, ge=0, description="Long side of the image ChArUco markers are searched in.")
    joint_close_ups: bool = Field(
        False,
        description="With bundle.refine_intrinsics, also put every intrinsic close-up (a board pose each) into the "
        "bundle adjustment. Off by default: the close-ups enter through the prior on the lenses (bundle.prior_weight) "
        "instead, which reconstructs held-out caliscope boards better (its close-ups come from another session) and "
        "is 2-3x faster, with the same synthetic accuracy.",
    )
    floor_frame: int | None = Field(
        None, ge=0, description="Extrinsic frame in which the board lies face up on the floor (sets the world)."
    )


@dataclass(frozen=True)
class KnownPoints:
    """World points (N, 3) in metres and, per point, camera name -> distorted pixel in the extrinsic images."""

    world: NDArray[np.float64] = field(repr=False)
    pixels: tuple[dict[str, NDArray[np.float64]], ...] = field(repr=False)


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    """What :func:`calibrate_iter` returns.

    Attributes:
        rig: the calibrated cameras (world frame Z up, metres) with the report in its metadata.
        report: the quality report.
        intrinsics: per camera, its intrinsic calibration.
        extrinsic_detections: per camera, the board detections in its extrinsic input.
        bundle: the bundle adjustment (poses in the reference camera's frame).
    """

    rig: CameraRig
    report: CalibrationReport
    intrinsics: dict[str, IntrinsicsResult] = field(repr=False)
    extrinsic_detections: dict[str, MediaDetections] = field(repr=False)
    bundle: BundleResult = field(repr=False)


def _require_board(name: str, found: MediaDetections, board: BoardSpec) -> None:
    if not found.detections:
        hint = board_not_found_hint(found.path, board)
        raise CalibrationError(
            f"{name}: the board was never found in {found.path} ({found.frames_scanned} frames searched); {hint}"
        )


def calibrate_iter(
    board: BoardSpec,
    extrinsic: Mapping[str, str | Path],
    intrinsic: Mapping[str, str | Path] | None = None,
    *,
    options: CalibrationOptions | None = None,
    known_points: KnownPoints | None = None,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, CalibrationResult]:
    """Calibrate a rig from board videos (see the module docstring), yielding progress.

    Args:
        board: the board in every video.
        extrinsic: camera name -> synchronized video or image folder, in rig order.
        intrinsic: camera name -> video or image folder for intrinsics (cameras left out use their
            extrinsic input).
        options: see :class:`CalibrationOptions`.
        known_points: sets the world frame from points with known coordinates (overrides
            ``options.floor_frame``).
        cancel: set it to stop between frames.

    Raises:
        MissingFileError, FileFormatError: an input cannot be read.
        CalibrationError: a camera never sees the board, cameras do not connect, a bad floor, ...
        CancelledError: cancelled.
    """
    options = options or CalibrationOptions()
    intrinsic = dict(intrinsic or {})
    started = time.perf_counter()
    names = list(extrinsic)
    if not names:
        raise CalibrationError("no extrinsic videos given; give one synchronized video or image folder per camera")
    unknown = [n for n in intrinsic if n not in extrinsic]
    if unknown:
        raise CalibrationError(
            f"intrinsic inputs for camera(s) {', '.join(unknown)} have no extrinsic input; cameras: {', '.join(names)}"
        )
    detector = BoardDetector(board, marker_max_side=options.marker_max_side)

    # 1 and 3: detection (extrinsic first: a camera that never sees the board fails fast)
    extrinsic_found: dict[str, MediaDetections] = {}
    for index, name in enumerate(names):
        found = yield from detect_in_media(
            extrinsic[name],
            board,
            step=options.extrinsic_step,
            max_frames=10**9,
            detector=detector,
            cancel=cancel,
            stage=f"extrinsic board detection ({index + 1}/{len(names)})",
        )
        _require_board(name, found, board)
        extrinsic_found[name] = found
    intrinsic_found: dict[str, MediaDetections] = {}
    for index, name in enumerate(names):
        if name not in intrinsic:
            continue
        found = yield from detect_in_media(
            intrinsic[name],
            board,
            max_frames=options.intrinsic_max_scan,
            detector=detector,
            cancel=cancel,
            stage=f"intrinsic board detection ({index + 1}/{len(names)})",
        )
        _require_board(name, found, board)
        intrinsic_found[name] = found
    result = yield from calibrate_detections_iter(
        board, extrinsic_found, intrinsic_found, options=options, known_points=known_points, cancel=cancel
    )
    report = replace(result.report, seconds=time.perf_counter() - started)
    rig = result.rig.with_metadata({**result.rig.metadata, "calibration": report.to_metadata()})
    return replace(result, rig=rig, report=report)


def calibrate_detections_iter(
    board: BoardSpec,
    extrinsic: Mapping[str, MediaDetections],
    intrinsic: Mapping[str, MediaDetections] | None = None,
    *,
    options: CalibrationOptions | None = None,
    known_points: KnownPoints | None = None,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, CalibrationResult]:
    """Stages 2 and 4-7 of :func:`calibrate_iter` on board detections already made.

    Args:
        board: the board.
        extrinsic: camera name -> its detections in the synchronized input (frame ``f`` of every
            camera is the same moment), in rig order.
        intrinsic: camera name -> its detections in a separate intrinsic input (cameras left out are
            calibrated from their extrinsic detections).
        options, known_points, cancel: as for :func:`calibrate_iter`.

    Raises:
        CalibrationError: a camera never sees the board, cameras do not connect, a bad floor, ...
        FileFormatError: an intrinsic input's image size differs from the extrinsic one's.
        CancelledError: cancelled.
    """
    options = options or CalibrationOptions()
    started = time.perf_counter()
    names = list(extrinsic)
    if not names:
        raise CalibrationError("no extrinsic inputs given; give one synchronized video or image folder per camera")
    intrinsic = dict(intrinsic or {})
    extrinsic_found = dict(extrinsic)
    for name in names:
        _require_board(name, extrinsic_found[name], board)
    intrinsics: dict[str, IntrinsicsResult] = {}
    intrinsic_found: dict[str, MediaDetections] = {}
    for index, name in enumerate(names):
        check_cancelled(cancel)
        found = intrinsic.get(name, extrinsic_found[name])
        _require_board(name, found, board)
        if found.image_size != extrinsic_found[name].image_size:
            raise FileFormatError(
                found.path,
                "",
                f"frames are {found.image_size[0]}x{found.image_size[1]} but the extrinsic input "
                f"of {name} is {extrinsic_found[name].image_size[0]}x{extrinsic_found[name].image_size[1]}; "
                "use the same camera resolution for both",
            )
        intrinsic_found[name] = found
        intrinsics[name] = calibrate_intrinsics(
            name, found.detections, board, found.image_size, options.intrinsics, source=str(found.path)
        )
        yield Progress("intrinsic calibration", index + 1, len(names), name)

    # 4: initial extrinsics
    check_cancelled(cancel)
    yield Progress("initial extrinsics", 0, 1)
    lens = {n: (intrinsics[n].matrix, intrinsics[n].distortion) for n in names}
    views = board_poses({n: extrinsic_found[n].detections for n in names}, board, lens)
    camera_from_reference, root = initial_extrinsics(views, names)
    board_in_reference = initial_board_poses(views, names, camera_from_reference)
    yield Progress("initial extrinsics", 1, 1)

    # 5: bundle adjustment
    check_cancelled(cancel)
    yield Progress("bundle adjustment", 0, 1)
    problem = BundleProblem(names, board, views, extrinsic_found, options.floor_frame)
    joint = options.bundle.refine_intrinsics
    if joint and options.joint_close_ups:
        problem.add_close_ups(intrinsic_found, intrinsics, camera_from_reference)
    reference_from_board = problem.initial_boards(board_in_reference)
    observations = problem.observations()
    matrices = np.array([lens[n][0] for n in names])
    distortions = np.array([lens[n][1] for n in names])
    if joint:
        # poses first with the lenses held, then lenses and poses together from there: the joint
        # problem started from single-view poses can wander off when the board is small and views few
        held = bundle_adjust(
            observations,
            matrices,
            distortions,
            camera_from_reference,
            reference_from_board,
            fixed_camera=root,
            options=options.bundle.model_copy(update={"refine_intrinsics": False}),
        )
        camera_from_reference, reference_from_board = held.camera_from_reference, held.reference_from_board
        yield Progress("bundle adjustment", 1, 2)
    # the lenses are pulled towards their own calibrations by their uncertainty (calibration.bundle_prior)
    std = np.array([intrinsics[n].std_intrinsics for n in names])
    noise = np.array([intrinsics[n].rms_px / np.sqrt(2.0) for n in names])
    if options.bundle.prior_correlations:
        information = np.array([intrinsics[n].information for n in names])
        prior = prior_information(information, std, noise, options.bundle.prior_weight)
    else:
        prior = prior_weights(std, noise, options.bundle.prior_weight)
    result = bundle_adjust(
        observations,
        matrices,
        distortions,
        camera_from_reference,
        reference_from_board,
        fixed_camera=root,
        options=options.bundle,
        intrinsic_prior=prior,
    )
    yield Progress("bundle adjustment", 2 if joint else 1, 2 if joint else 1)
    rotation_std = solved_rotation_uncertainty(observations, result, prior).rotation_rms_deg

    # 6: world frame
    check_cancelled(cancel)
    rig_reference = _rig(names, intrinsic_found, result, result.camera_from_reference)
    scale = 1.0
    if known_points is not None:
        located = triangulate_points(rig_reference, list(known_points.pixels))
        world_from_reference, scale, fit_rms = world_from_points(located, known_points.world)
        world_frame = f"{len(known_points.world)} known points (fit RMS {fit_rms * 1000:.1f} mm)"
    elif options.floor_frame is not None:
        board_index = problem.board_index.get(("x", options.floor_frame))
        if board_index is None:
            raise CalibrationError(
                f"floor frame {options.floor_frame}: no camera sees the whole-enough board in that frame of the "
                "extrinsic videos; pick a frame where the board lies on the floor in view"
            )
        world_from_reference = world_from_floor_board(result.reference_from_board[board_index])
        world_frame = f"board on the floor at extrinsic frame {options.floor_frame}"
    else:
        world_from_reference = world_from_cameras(result.camera_from_reference, root)
        world_frame = f"levelled from the cameras' up directions (origin 2 m below them, x towards {names[root]})"
    camera_from_world = apply_world_frame(result.camera_from_reference, world_from_reference, scale)
    rig = _rig(names, intrinsic_found, result, camera_from_world)
    if known_points is not None or options.floor_frame is not None:
        check_cameras_above_floor(rig, source=world_frame)

    # 7: report
    report = _report(
        rig, names, board, problem, result, intrinsics, intrinsic_found, world_frame, started, rotation_std
    )
    metadata: dict[str, Any] = {
        "board": board_to_dict(board),
        "calibration": report.to_metadata(),
        "reference_camera": names[root],
    }
    rig = rig.with_metadata(metadata)
    log.info("calibration done in %.1f s\n%s", report.seconds, report.format_table())
    return CalibrationResult(rig, report, intrinsics, extrinsic_found, result)


def calibrate(
    board: BoardSpec,
    extrinsic: Mapping[str, str | Path],
    intrinsic: Mapping[str, str | Path] | None = None,
    *,
    options: CalibrationOptions | None = None,
    known_points: KnownPoints | None = None,
    cancel: CancelToken | None = None,
) -> CalibrationResult:
    """:func:`calibrate_iter` run to the end without progress display."""
    return drain(calibrate_iter(board, extrinsic, intrinsic, options=options, known_points=known_points, cancel=cancel))


def _rig(
    names: list[str], found: dict[str, MediaDetections], result: BundleResult, camera_from_world: NDArray[np.float64]
) -> CameraRig:
    cameras = []
    for c, name in enumerate(names):
        cameras.append(
            Camera.from_rotation_matrix(
                name,
                found[name].image_size,
                result.matrices[c],
                result.distortions[c],
                camera_from_world[c][:3, :3],
                camera_from_world[c][:3, 3],
            )
        )
    return CameraRig(tuple(cameras))


def _report(
    rig: CameraRig,
    names: list[str],
    board: BoardSpec,
    problem: BundleProblem,
    result: BundleResult,
    intrinsics: dict[str, IntrinsicsResult],
    intrinsic_found: dict[str, MediaDetections],
    world_frame: str,
    started: float,
    rotation_std_deg: NDArray[np.float64],
) -> CalibrationReport:
    observations = problem.observations()
    norms = np.linalg.norm(result.residuals_px, axis=1)
    nearest = nearest_cameras(rig)
    reports = []
    for c, name in enumerate(names):
        mine = observations.camera == c
        used = set(intrinsics[name].frames_used)
        close_ups = [d.corners_px for d in intrinsic_found[name].detections if d.frame in used]
        coverage = np.concatenate([observations.pixels[mine], *close_ups]) if close_ups else observations.pixels[mine]
        reports.append(
            camera_report(
                name,
                norms[mine],
                result.inliers[mine],
                len(np.unique(observations.board[mine])),
                coverage,
                rig[name].image_size,
                intrinsics[name].rms_px,
                len(intrinsics[name].frames_used),
                nearest[c],
                float(rotation_std_deg[c]),
            )
        )
    return CalibrationReport(
        cameras=tuple(reports),
        board=board.describe(),
        rms_px=result.rms_px,
        initial_rms_px=result.initial_rms_px,
        world_frame=world_frame,
        seconds=time.perf_counter() - started,
    )
