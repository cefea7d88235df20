"""Judging a calibration by data it did not have to fit: triangulated board corners.

Any rig (ours, a reference made by another tool, aniposelib's) is scored on the same board
detections of synchronized frames, without re-optimising anything:

* every corner seen by two or more cameras in a frame is triangulated (linear DLT on undistorted
  points, :func:`calibration.floor.triangulate_points`) and reprojected into those cameras: the
  per-camera **reprojection error** (pixels);
* adjacent corners of the board (one square apart along x or y) must be ``square_length_m`` apart:
  the **square length error** (metres) measures the rig's metric accuracy and scale, which
  reprojection alone does not;
* the **board geometry** of every frame with ``min_corners`` or more triangulated corners is compared
  with the true board (:class:`BoardGeometry`): the distance between every pair of corners (not only
  neighbours: long distances show a scale or focal error that adjacent ones hide in the noise), the
  RMS distance of the corners from the true board rigidly fitted to them (Kabsch; shape error
  without any scale freedom), the scale of the best similarity fit, and the flatness (RMS distance
  from the corners' own best plane). The board's printed size is known exactly, so these do not
  depend on any calibration, and a rig that fits its own observations by distorting the scene
  (over-fitted lenses, a wrong focal length traded against a wrong camera distance) shows here.

This is the measure the caliscope reference quotes for its own calibration (its triangulated
corners reproject with a median of 0.9-1.5 px per camera).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calibration.board_detection import MediaDetections
from calibration.boards import BoardSpec
from calibration.floor import triangulate_points
from calibration.rig import CameraRig


@dataclass(frozen=True, eq=False)
class BoardGeometry:
    """Triangulated boards against the true board, one entry per frame with enough corners.

    Attributes:
        frames: the frames scored (F,).
        pair_error_m: signed errors (P,) of the distances between every pair of corners of a frame
            (triangulated minus true), all frames together, metres.
        rigid_rms_m: per frame (F,), RMS distance of the triangulated corners from the true board
            rigidly fitted to them, metres.
        scale: per frame (F,), the scale of the best similarity fit of the true board (1 = exact).
        shape_rms_m: per frame (F,), RMS distance of the corners from that similarity fit, metres:
            the shape error once the scale error is taken out.
        flatness_rms_m: per frame (F,), RMS distance of the corners from their best-fitting plane, metres.
    """

    frames: NDArray[np.int64] = field(repr=False)
    pair_error_m: NDArray[np.float64] = field(repr=False)
    rigid_rms_m: NDArray[np.float64] = field(repr=False)
    scale: NDArray[np.float64] = field(repr=False)
    shape_rms_m: NDArray[np.float64] = field(repr=False)
    flatness_rms_m: NDArray[np.float64] = field(repr=False)

    def summary(self) -> dict[str, float]:
        """Headline figures: median |pair error|, RMS pair error, median rigid-fit RMS, median
        similarity-fit RMS, mean scale error and median flatness, in millimetres except ``scale_error_pct``."""
        return {
            "pair_median_mm": 1000 * float(np.median(np.abs(self.pair_error_m))),
            "pair_rms_mm": 1000 * float(np.sqrt(np.mean(self.pair_error_m**2))),
            "rigid_median_mm": 1000 * float(np.median(self.rigid_rms_m)),
            "shape_median_mm": 1000 * float(np.median(self.shape_rms_m)),
            "scale_error_pct": 100 * float(np.mean(self.scale) - 1.0),
            "flatness_median_mm": 1000 * float(np.median(self.flatness_rms_m)),
        }


def board_geometry(
    located: dict[tuple[int, int], NDArray[np.float64]], board: BoardSpec, min_corners: int = 6
) -> BoardGeometry | None:
    """Compare triangulated corners with the true board, frame by frame.

    Args:
        located: ``(frame, corner id) -> point`` (3,), metres, any frame.
        board: the board (its object points are exact).
        min_corners: frames with fewer triangulated corners are skipped.

    Returns:
        The per-frame comparison, or None when no frame has ``min_corners`` corners.
    """
    object_points = board.object_points()
    by_frame: dict[int, dict[int, NDArray[np.float64]]] = {}
    for (frame, corner), point in located.items():
        by_frame.setdefault(frame, {})[corner] = point
    frames: list[int] = []
    pairs: list[NDArray[np.float64]] = []
    rigid: list[float] = []
    scales: list[float] = []
    shapes: list[float] = []
    flatness: list[float] = []
    for frame, corners in sorted(by_frame.items()):
        if len(corners) < min_corners:
            continue
        ids = np.array(sorted(corners))
        seen = np.array([corners[i] for i in ids])  # (N, 3) triangulated
        true = object_points[ids]  # (N, 3) board frame, z = 0
        upper = np.triu_indices(len(ids), k=1)
        d_seen = np.linalg.norm(seen[:, None] - seen[None], axis=-1)[upper]
        d_true = np.linalg.norm(true[:, None] - true[None], axis=-1)[upper]
        pairs.append(d_seen - d_true)
        a, b = true - true.mean(axis=0), seen - seen.mean(axis=0)
        u, s, vt = np.linalg.svd(b.T @ a)
        d = np.sign(np.linalg.det(u @ vt))
        rotation = u @ np.diag([1.0, 1.0, d]) @ vt  # seen ~ rotation @ true (Kabsch)
        rigid.append(float(np.sqrt(np.mean(np.sum((b - a @ rotation.T) ** 2, axis=1)))))
        # Umeyama's scale with the same rotation: trace(S D) / |a|^2
        scale = float((s[0] + s[1] + d * s[2]) / np.sum(a * a))
        scales.append(scale)
        shapes.append(float(np.sqrt(np.mean(np.sum((b - scale * a @ rotation.T) ** 2, axis=1)))))
        normal = np.linalg.svd(b, full_matrices=False)[2][2]
        flatness.append(float(np.sqrt(np.mean((b @ normal) ** 2))))
        frames.append(frame)
    if not frames:
        return None
    return BoardGeometry(
        np.array(frames, dtype=np.int64),
        np.concatenate(pairs),
        np.array(rigid),
        np.array(scales),
        np.array(shapes),
        np.array(flatness),
    )


@dataclass(frozen=True, eq=False)
class BoardScore:
    """How well a rig explains synchronized board detections.

    Attributes:
        reprojection_px: camera name -> reprojection error norms (N_c,) of the triangulated corners
            it saw, pixels.
        square_error_m: signed distance errors (K,) of adjacent triangulated corners, metres.
        corners: number of triangulated corners.
        geometry: the triangulated boards against the true board (None when no frame has enough corners).
    """

    reprojection_px: dict[str, NDArray[np.float64]] = field(repr=False)
    square_error_m: NDArray[np.float64] = field(repr=False)
    corners: int
    geometry: BoardGeometry | None = None

    def median_px(self) -> dict[str, float]:
        """Per camera, the median reprojection error (NaN for a camera without corners)."""
        return {n: float(np.median(e)) if e.size else float("nan") for n, e in self.reprojection_px.items()}


def score_rig(rig: CameraRig, detections: Mapping[str, MediaDetections], board: BoardSpec) -> BoardScore:
    """Score ``rig`` on synchronized ``detections`` (camera name -> its detections; frame ``f`` of
    every camera is the same moment). Cameras of ``detections`` missing from the rig are ignored."""
    names = [n for n in detections if n in rig.names]
    by_frame: dict[int, dict[str, dict[int, NDArray[np.float64]]]] = {}
    for name in names:
        for d in detections[name].detections:
            by_frame.setdefault(d.frame, {})[name] = dict(zip(d.ids.tolist(), d.corners_px, strict=True))
    keys: list[tuple[int, int]] = []
    pixels: list[dict[str, NDArray[np.float64]]] = []
    for frame, seen in sorted(by_frame.items()):
        if len(seen) < 2:
            continue
        for corner in sorted({c for corners in seen.values() for c in corners}):
            views = {n: corners[corner] for n, corners in seen.items() if corner in corners}
            if len(views) >= 2:
                keys.append((frame, corner))
                pixels.append(views)
    points = triangulate_points(rig, pixels) if pixels else np.zeros((0, 3))
    errors: dict[str, list[float]] = {n: [] for n in names}
    for point, views in zip(points, pixels, strict=True):
        if not np.all(np.isfinite(point)):
            continue
        for name, pixel in views.items():
            projected = rig[name].project(point[None])[0]
            errors[name].append(float(np.linalg.norm(projected - pixel)))
    located = {key: p for key, p in zip(keys, points, strict=True) if np.all(np.isfinite(p))}
    nx = board.corner_grid[0]
    square: list[float] = []
    for (frame, corner), point in located.items():
        for neighbour in ((corner + 1) if (corner + 1) % nx else -1, corner + nx):
            other = located.get((frame, neighbour))
            if neighbour >= 0 and other is not None:
                square.append(float(np.linalg.norm(other - point)) - board.square_length_m)
    return BoardScore(
        {n: np.array(e) for n, e in errors.items()},
        np.array(square),
        len(located),
        board_geometry(located, board),
    )
