"""Intrinsic calibration of one camera from board detections: frame selection, OpenCV calibration,
rejection of bad frames, per-frame and total RMS.

Steps (:func:`calibrate_intrinsics`):

1. **Usable frames**: at least ``min_corners`` corners spanning at least two rows and two columns of
   the board (a partial board along one line constrains nothing), and not blurred — sharpness
   (:func:`calibration.board_detection.board_sharpness`) at least ``blur_ratio`` times the camera's
   median.
2. **Selection** (:func:`select_frames`) for pose diversity and image coverage: farthest-point
   sampling in a feature space of where the board is in the image, how large it appears and how it is
   tilted (its normal from a rough pose with a guessed focal length), starting from the frame with the
   most corners; at most ``max_frames`` frames, since more frames of similar poses add time, not
   information.
3. **Calibration**: ``cv2.calibrateCameraExtended`` with OpenCV's 5-coefficient model (k1, k2, p1, p2,
   k3), started from ``cv2.initCameraMatrix2D`` (focal length from the homographies, principal point
   at the image centre), which avoids the wrong minima OpenCV's default start can reach when few
   views are near fronto-parallel.
   k3 is held at 0 when the corners cover less than half of the image (``k3_min_coverage``).
4. **Rejection**: frames whose RMS exceeds ``outlier_factor`` times the median frame RMS (and
   ``outlier_min_px``) are dropped and the calibration is redone, up to three times.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field

from calibration.board_detection import BoardDetection
from calibration.boards import BoardSpec
from calibration.errors import CalibrationError
from calibration.report import coverage_grid

log = logging.getLogger(__name__)


class IntrinsicsOptions(BaseModel):
    """How intrinsics are calibrated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_frames: int = Field(40, ge=3, description="Most frames used in the calibration after selection.")
    min_frames: int = Field(4, ge=3, description="Fewest usable frames; fewer is an error.")
    min_corners: int = Field(6, ge=4, description="Fewest corners for a frame to be usable.")
    blur_ratio: float = Field(
        0.5, ge=0, le=1, description="Frames sharper than this fraction of the median sharpness are kept."
    )
    fix_k3: bool | None = Field(
        None,
        description="Hold k3 at 0; None (auto) holds it when the corners cover under k3_min_coverage of the image.",
    )
    k3_min_coverage: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of the coverage grid's cells (calibration.report) the corners must reach for k3 to be free.",
    )
    zero_tangent: bool = Field(False, description="Hold p1, p2 at 0.")
    fix_aspect_ratio: bool = Field(False, description="Force fx = fy.")
    outlier_factor: float = Field(3.0, gt=1, description="Drop frames with RMS above this times the median.")
    outlier_min_px: float = Field(1.0, gt=0, description="...and above this many pixels.")


@dataclass(frozen=True, eq=False)
class IntrinsicsResult:
    """The intrinsics of one camera and how well they fit.

    Attributes:
        name: camera name.
        image_size: ``(width, height)``, pixels.
        matrix: ``K`` (3, 3), pixels.
        distortion: OpenCV coefficients (5,) ``k1, k2, p1, p2, k3``.
        rms_px: RMS reprojection error over every corner of the used frames, pixels.
        frame_rms_px: per used frame, its RMS, pixels (frame index -> px).
        frames_used: frame indices used in the final calibration, ascending.
        rejected: frame index -> why it was left out (``"partial"``, ``"blurred"``, ``"outlier"``,
            ``"not selected"``).
        corners_used: total corners in the final calibration.
        std_px: standard deviations of ``fx, fy, cx, cy`` from OpenCV's covariance estimate, pixels.
        std_intrinsics: standard deviations (9,) of ``fx, fy, cx, cy, k1, k2, p1, p2, k3`` from the
            same estimate (0 for a term held fixed, NaN when unknown); the prior of a joint bundle
            adjustment (:mod:`calibration.bundle_prior`).
        information: (9, 9) information of ``fx, fy, cx, cy, k1, k2, p1, p2, k3`` from the used
            corners with every board pose marginalised out (:func:`lens_information`), pixels² per
            unit²; NaN when unknown. Unlike the standard deviations it keeps the correlations (the
            principal point against the tangential terms and the board tilts), which a joint bundle
            adjustment's prior needs (:mod:`calibration.bundle_prior`).
    """

    name: str
    image_size: tuple[int, int]
    matrix: NDArray[np.float64] = field(repr=False)
    distortion: NDArray[np.float64] = field(repr=False)
    rms_px: float
    frame_rms_px: dict[int, float] = field(repr=False)
    frames_used: tuple[int, ...] = field(repr=False)
    rejected: dict[int, str] = field(repr=False)
    corners_used: int
    std_px: tuple[float, float, float, float] = (float("nan"),) * 4
    std_intrinsics: NDArray[np.float64] = field(default_factory=lambda: np.full(9, np.nan), repr=False)
    information: NDArray[np.float64] = field(default_factory=lambda: np.full((9, 9), np.nan), repr=False)


def _spans_two_dimensions(board: BoardSpec, ids: NDArray[np.int32]) -> bool:
    nx = board.corner_grid[0]
    return len(np.unique(ids % nx)) >= 2 and len(np.unique(ids // nx)) >= 2


def usable_frames(
    detections: Sequence[BoardDetection], board: BoardSpec, options: IntrinsicsOptions
) -> tuple[list[BoardDetection], dict[int, str]]:
    """Detections fit for calibration, and the reasons the others were left out."""
    rejected: dict[int, str] = {}
    kept: list[BoardDetection] = []
    for d in detections:
        if d.num_corners < options.min_corners or not _spans_two_dimensions(board, d.ids):
            rejected[d.frame] = "partial"
        else:
            kept.append(d)
    sharpness = np.array([d.sharpness for d in kept])
    finite = np.isfinite(sharpness)
    if np.any(finite) and options.blur_ratio > 0:
        threshold = options.blur_ratio * float(np.median(sharpness[finite]))
        blurred = [d for d, s in zip(kept, sharpness, strict=True) if np.isfinite(s) and s < threshold]
        for d in blurred:
            rejected[d.frame] = "blurred"
        kept = [d for d in kept if d.frame not in rejected]
    return kept, rejected


def _features(
    detections: Sequence[BoardDetection], board: BoardSpec, image_size: tuple[int, int]
) -> NDArray[np.float64]:
    """Per detection: image position (2), apparent size (1) and tilt (2), each roughly in [-1, 1]."""
    import cv2

    width, height = image_size
    guess = np.array([[max(width, height), 0, width / 2], [0, max(width, height), height / 2], [0, 0, 1]], float)
    object_points = board.object_points()
    rows = []
    for d in detections:
        centre = np.mean(d.corners_px, axis=0) / np.array([width, height]) * 2 - 1
        span = np.ptp(d.corners_px, axis=0)
        size = np.sqrt(span[0] * span[1] / (width * height)) * 2
        ok, rvec, _ = cv2.solvePnP(object_points[d.ids], d.corners_px, guess, None, flags=cv2.SOLVEPNP_IPPE)
        normal = cv2.Rodrigues(rvec)[0][:, 2] if ok else np.array([0.0, 0.0, 1.0])
        rows.append([centre[0], centre[1], size, 2 * normal[0], 2 * normal[1]])
    return np.array(rows, dtype=np.float64).reshape(len(detections), 5)


def select_frames(
    detections: Sequence[BoardDetection], board: BoardSpec, image_size: tuple[int, int], max_frames: int
) -> list[int]:
    """Indices into ``detections`` of at most ``max_frames`` diverse detections (farthest-point sampling).

    Starts from the detection with the most corners; each next pick maximises its distance, in the
    feature space of :func:`_features`, to the nearest pick, weighted by its share of the board's
    corners so that fuller views win ties.
    """
    n = len(detections)
    if n <= max_frames:
        return list(range(n))
    features = _features(detections, board, image_size)
    fullness = np.array([d.num_corners for d in detections], float) / board.num_corners
    first = int(np.argmax(fullness))
    chosen = [first]
    nearest = np.linalg.norm(features - features[first], axis=1)
    while len(chosen) < max_frames:
        score = nearest * (0.5 + 0.5 * fullness)
        score[chosen] = -1.0
        pick = int(np.argmax(score))
        chosen.append(pick)
        nearest = np.minimum(nearest, np.linalg.norm(features - features[pick], axis=1))
    return sorted(chosen)


def lens_information(
    objects: Sequence[NDArray[np.float32]],
    rvecs: Sequence[ArrayLike],
    tvecs: Sequence[ArrayLike],
    matrix: NDArray[np.float64],
    distortion: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Information (9, 9) of ``fx, fy, cx, cy, k1, k2, p1, p2, k3`` in a calibration's solution,
    pixels² per unit² (the Gauss-Newton ``J^T J`` of the corner residuals; divide by the noise variance
    for the Fisher information).

    Every view's board pose is marginalised out (the Schur complement of its 6 x 6 block), so the
    result is what the corners say about the lens alone, with its correlations — the quadratic
    approximation of the calibration's likelihood that a joint bundle adjustment can use as a prior
    in place of the close-ups themselves (:mod:`calibration.bundle_prior`). Held terms are treated as
    free here; whoever holds them takes the sub-block of the terms it refines.
    """
    import cv2

    out = np.zeros((9, 9))
    coefficients = np.zeros(5)
    flat = np.asarray(distortion, dtype=np.float64).ravel()[:5]
    coefficients[: len(flat)] = flat
    for obj, rvec, tvec in zip(objects, rvecs, tvecs, strict=True):
        _, jac = cv2.projectPoints(
            obj.reshape(-1, 3).astype(np.float64), np.asarray(rvec), np.asarray(tvec), matrix, coefficients
        )
        jac = np.asarray(jac, dtype=np.float64)  # (2N, 15): rvec, tvec, fx, fy, cx, cy, k1, k2, p1, p2, k3
        pose, lens = jac[:, :6], jac[:, 6:15]
        pose_block = pose.T @ pose
        cross = pose.T @ lens
        out += lens.T @ lens - cross.T @ np.linalg.lstsq(pose_block, cross, rcond=None)[0]
    return np.asarray(0.5 * (out + out.T))


def _flags(options: IntrinsicsOptions, fix_k3: bool) -> int:
    import cv2

    flags = 0
    if fix_k3:
        flags |= cv2.CALIB_FIX_K3
    if options.zero_tangent:
        flags |= cv2.CALIB_ZERO_TANGENT_DIST
    if options.fix_aspect_ratio:
        flags |= cv2.CALIB_FIX_ASPECT_RATIO
    return flags


def calibrate_intrinsics(
    name: str,
    detections: Sequence[BoardDetection],
    board: BoardSpec,
    image_size: tuple[int, int],
    options: IntrinsicsOptions | None = None,
    *,
    source: str = "",
) -> IntrinsicsResult:
    """Calibrate one camera's ``K`` and distortion from its board detections.

    Args:
        name: camera name (for messages and the result).
        detections: board detections in this camera's frames.
        board: the board.
        image_size: ``(width, height)`` of the frames.
        options: see :class:`IntrinsicsOptions`.
        source: the video or folder the detections came from (for messages).

    Raises:
        CalibrationError: fewer than ``min_frames`` usable frames, or OpenCV cannot calibrate.
    """
    import cv2

    options = options or IntrinsicsOptions()
    where = f" in {source}" if source else ""
    kept, rejected = usable_frames(detections, board, options)
    if len(kept) < options.min_frames:
        raise CalibrationError(
            f"{name}: the board is usable in {len(kept)} frame(s){where} (found in {len(detections)}), "
            f"need at least {options.min_frames}; film the whole board at more angles and distances"
        )
    selected = [kept[i] for i in select_frames(kept, board, image_size, options.max_frames)]
    chosen = {d.frame for d in selected}
    for d in kept:
        if d.frame not in chosen:
            rejected[d.frame] = "not selected"
    object_points = board.object_points().astype(np.float32)
    fix_k3 = options.fix_k3
    if fix_k3 is None:
        # k3 (r^6) acts only near the image border: without corners there it fits noise and
        # extrapolates wildly (k3 = -9 on a caliscope camera whose close-ups cover 35 % of the image)
        grid = coverage_grid(np.concatenate([d.corners_px for d in selected]), image_size)
        fix_k3 = float(np.mean(grid > 0)) < options.k3_min_coverage
    flags = _flags(options, fix_k3) | cv2.CALIB_USE_INTRINSIC_GUESS
    for _ in range(4):
        objects = [object_points[d.ids].reshape(-1, 1, 3) for d in selected]
        images = [d.corners_px.astype(np.float32).reshape(-1, 1, 2) for d in selected]
        try:
            # start from the focal length the homographies agree on with the principal point at the
            # image centre: OpenCV's own start (free principal point) can end in a wrong minimum when
            # few views are near fronto-parallel
            guess = cv2.initCameraMatrix2D(objects, images, tuple(image_size))
            rms, matrix, dist, rvecs, tvecs, std_intrinsics, _, per_view = cv2.calibrateCameraExtended(
                objects, images, tuple(image_size), guess, np.zeros(5), flags=flags
            )
        except cv2.error as exc:
            raise CalibrationError(
                f"{name}: OpenCV could not calibrate from {len(selected)} frames{where} "
                f"({str(exc).strip().splitlines()[-1]}); check the board spec (columns, rows, square length)"
            ) from None
        per_view = np.asarray(per_view, dtype=np.float64).ravel()
        limit = max(options.outlier_factor * float(np.median(per_view)), options.outlier_min_px)
        outliers = per_view > limit
        if not np.any(outliers) or len(selected) - int(outliers.sum()) < options.min_frames:
            break
        for d, bad in zip(selected, outliers, strict=True):
            if bad:
                rejected[d.frame] = "outlier"
        log.info("%s: dropping %d outlier frame(s) above %.2f px", name, int(outliers.sum()), limit)
        selected = [d for d, bad in zip(selected, outliers, strict=True) if not bad]
    k: NDArray[np.float64] = np.asarray(matrix, dtype=np.float64)
    if not np.all(np.isfinite(k)) or k[0, 0] <= 0 or k[1, 1] <= 0:
        raise CalibrationError(f"{name}: calibration{where} diverged; check the board spec and film more varied views")
    std = np.asarray(std_intrinsics, dtype=np.float64).ravel()
    distortion = np.zeros(5)
    flat = np.asarray(dist, dtype=np.float64).ravel()
    distortion[: min(5, len(flat))] = flat[:5]
    result = IntrinsicsResult(
        name=name,
        image_size=(int(image_size[0]), int(image_size[1])),
        matrix=k,
        distortion=distortion,
        rms_px=float(rms),
        frame_rms_px={d.frame: float(e) for d, e in zip(selected, per_view, strict=True)},
        frames_used=tuple(sorted(d.frame for d in selected)),
        rejected=dict(sorted(rejected.items())),
        corners_used=int(sum(d.num_corners for d in selected)),
        std_px=(float(std[0]), float(std[1]), float(std[2]), float(std[3])) if std.size >= 4 else (float("nan"),) * 4,
        std_intrinsics=std[:9].copy() if std.size >= 9 else np.full(9, np.nan),
        information=lens_information(objects, rvecs, tvecs, k, distortion),
    )
    log.info(
        "%s: intrinsics from %d frames, RMS %.3f px, f = (%.1f, %.1f)",
        name,
        len(selected),
        result.rms_px,
        k[0, 0],
        k[1, 1],
    )
    return result
