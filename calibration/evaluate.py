"""Judging a calibration by data it did not have to fit: triangulated board corners.

Any rig (ours, a reference made by another tool, aniposelib's) is scored on the same board
detections of synchronized frames, without re-optimising anything:

* every corner seen by two or more cameras in a frame is triangulated (linear DLT on undistorted
  points, :func:`calibration.floor.triangulate_points`) and reprojected into those cameras: the
  per-camera **reprojection error** (pixels);
* adjacent corners of the board (one square apart along x or y) must be ``square_length_m`` apart:
  the **square length error** (metres) measures the rig's metric accuracy and scale, which
  reprojection alone does not.

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
class BoardScore:
    """How well a rig explains synchronized board detections.

    Attributes:
        reprojection_px: camera name -> reprojection error norms (N_c,) of the triangulated corners
            it saw, pixels.
        square_error_m: signed distance errors (K,) of adjacent triangulated corners, metres.
        corners: number of triangulated corners.
    """

    reprojection_px: dict[str, NDArray[np.float64]] = field(repr=False)
    square_error_m: NDArray[np.float64] = field(repr=False)
    corners: int

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
    return BoardScore({n: np.array(e) for n, e in errors.items()}, np.array(square), len(located))
