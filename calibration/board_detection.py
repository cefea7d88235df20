"""Finding a calibration board in images and videos: corner ids and sub-pixel corner positions.

ChArUco boards use OpenCV's current aruco API (``cv2.aruco.CharucoDetector``): markers are found on
a copy of the image scaled so that its long side is at most ``marker_max_side`` pixels (marker
detection costs grow with the pixel count, and markers stay well above OpenCV's minimum size), then
the board's chessboard corners are interpolated and refined to sub-pixel accuracy on the full
image. Inverted prints (white markers on black) are inverted before detection. Checkerboards are found on a
copy at most ``checker_max_side`` pixels long, first with OpenCV's classic detector (fast, and quick
to reject frames without a board), then with the sector-based ``cv2.findChessboardCornersSB``; the
corners are refined with ``cv2.cornerSubPix`` on the full image. A ChArUco board seen from behind (a
clear sheet turned around: its markers appear mirrored, as in one of the caliscope intrinsic videos)
is found in the mirrored image (see ``BoardDetector(from_behind=...)``).

Checkerboard orientation: a checkerboard's corner grid reads the same after a 180° turn, so OpenCV
may return its corners in either order. When ``columns + rows`` is odd the two readings differ in
the colour of the first square (black on a normal print), which we sample to fix the order; when it
is even we keep the reading whose x axis points right in the image (cameras upright and on the
same side of the board agree then). Prefer ChArUco boards for extrinsics, which have no ambiguity.

Corner ids and the board frame are those of :mod:`calibration.boards`. Corner pixels follow
:mod:`calibration.conventions` (pixel centres at integers).
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calibration.arrays import frozen
from calibration.boards import BoardSpec
from calibration.errors import FileFormatError
from calibration.media import open_frames
from calibration.progress import CancelToken, Progress, check_cancelled

log = logging.getLogger(__name__)

#: Fewest corners for a detection to be kept (a homography needs 4; 6 guards against collinear sets).
MIN_CORNERS = 6


@dataclass(frozen=True, eq=False)
class BoardDetection:
    """The corners of one board seen in one image.

    Attributes:
        frame: index of the frame in its video or image folder.
        ids: corner ids ``(N,)`` int32, increasing (see :mod:`calibration.boards`).
        corners_px: corner positions ``(N, 2)`` float64, distorted pixels.
        sharpness: focus measure of the board region (larger is sharper; comparable between frames
            of one camera, see :func:`board_sharpness`); NaN when not measured.
    """

    frame: int
    ids: NDArray[np.int32] = field(repr=False)
    corners_px: NDArray[np.float64] = field(repr=False)
    sharpness: float = float("nan")

    def __post_init__(self) -> None:
        sizes: dict[str, int] = {}
        object.__setattr__(self, "ids", frozen("ids", self.ids, ("N",), np.int32, sizes))
        object.__setattr__(self, "corners_px", frozen("corners_px", self.corners_px, ("N", 2), np.float64, sizes))

    @property
    def num_corners(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, eq=False)
class MediaDetections:
    """Every board detection in one video or image folder (one camera).

    Attributes:
        path: the video or folder.
        image_size: ``(width, height)`` of its frames, pixels.
        frames_scanned: how many frames were searched for the board.
        detections: the frames where the board was found, in frame order.
    """

    path: Path
    image_size: tuple[int, int]
    frames_scanned: int
    detections: tuple[BoardDetection, ...]

    def by_frame(self) -> dict[int, BoardDetection]:
        """Detections keyed by frame index."""
        return {d.frame: d for d in self.detections}


def _gray(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    import cv2

    if image.ndim == 3:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    return image


def board_sharpness(gray: NDArray[np.uint8], corners_px: NDArray[np.float64]) -> float:
    """Focus measure of the board region: steepest edge slope over the print's contrast, 1/pixels.

    A step edge of contrast ``C`` blurred by a Gaussian of ``sigma`` pixels has a largest slope of
    ``C / (sigma sqrt(2 pi))``, so the 99th percentile of the gradient magnitude over the board's
    bounding box divided by the spread of its intensities (5th to 95th percentile) is about
    ``0.4 / sigma``: it falls with defocus and motion blur and does not depend on how large the board
    appears. Frames of one camera are compared by it; NaN when the region is too small or flat.
    """
    import cv2

    h, w = gray.shape[:2]
    x0, y0 = np.floor(np.min(corners_px, axis=0)).astype(int)
    x1, y1 = np.ceil(np.max(corners_px, axis=0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1 + 1, w), min(y1 + 1, h)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return float("nan")
    patch = gray[y0:y1, x0:x1].astype(np.float32)
    low, high = np.percentile(patch, [5, 95])
    if high - low < 10:
        return float("nan")
    gx = cv2.Sobel(patch, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(patch, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    slope = float(np.percentile(np.hypot(gx, gy), 99))
    return slope / float(high - low)


def _square_px(corners_px: NDArray[np.float64], num_corners: int) -> float:
    """Rough side of one square in pixels from the spread of the detected corners."""
    span = np.ptp(corners_px, axis=0)
    return float(np.sqrt(max(span[0] * span[1], 1.0) / max(num_corners, 1)))


class BoardDetector:
    """Detects one board kind in images. Not thread-safe (OpenCV detector objects hold state).

    Args:
        board: the board to find.
        marker_max_side: long side, in pixels, of the copy of the image in which ChArUco markers
            are searched; 0 searches the full image.
        checker_max_side: the same for checkerboards (corners are then refined on the full image).
        min_corners: fewest corners for a detection to be reported.
        from_behind: also find a ChArUco board seen from behind (printed on a clear sheet, or held
            in a glazed frame and turned around), whose markers appear mirrored: when the image
            shows too few corners, its horizontal mirror is searched and the corners found there
            are mapped back (``x -> width - 1 - x``). The ids still name the physical corners, so
            the geometry is unchanged (the board's z axis then points towards the camera).
    """

    def __init__(
        self,
        board: BoardSpec,
        *,
        marker_max_side: int = 1280,
        checker_max_side: int = 1000,
        min_corners: int = MIN_CORNERS,
        from_behind: bool = True,
    ) -> None:
        import cv2

        self.board = board
        self.from_behind = bool(from_behind) and board.type == "charuco"
        self.marker_max_side = int(marker_max_side)
        self.checker_max_side = int(checker_max_side)
        self.min_corners = max(4, int(min_corners))
        self._object_points = board.object_points()
        if board.type == "charuco":
            params = cv2.aruco.DetectorParameters()
            params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_NONE  # corners refined by the charuco step
            self._marker_detector = cv2.aruco.ArucoDetector(board.cv_dictionary(), params)
            self._cv_board = board.cv_board()
            charuco_params = cv2.aruco.CharucoParameters()
            charuco_params.tryRefineMarkers = True
            charuco_params.minMarkers = 2
            self._charuco = cv2.aruco.CharucoDetector(self._cv_board, charuco_params, params)

    # ------------------------------------------------------------------ one image

    def detect(
        self, image: NDArray[np.uint8], frame: int = 0, *, measure_sharpness: bool = True
    ) -> BoardDetection | None:
        """Find the board in a BGR or grayscale uint8 image; None when too few corners are found."""
        gray = _gray(image)
        if self.board.inverted:
            gray = 255 - gray
        found = self._detect_charuco(gray) if self.board.type == "charuco" else self._detect_checkerboard(gray)
        if self.from_behind and (found is None or len(found[0]) < self.min_corners):
            mirrored = self._detect_charuco(np.ascontiguousarray(gray[:, ::-1]))
            if mirrored is not None and (found is None or len(mirrored[0]) > len(found[0])):
                # pixel centres at integers: column x of the mirror is column (width - 1 - x) here
                corners = mirrored[1].copy()
                corners[:, 0] = gray.shape[1] - 1 - corners[:, 0]
                found = (mirrored[0], corners)
        if found is None:
            return None
        ids, corners = found
        if len(ids) < self.min_corners:
            return None
        order = np.argsort(ids)
        ids, corners = ids[order], corners[order]
        sharp = board_sharpness(gray, corners) if measure_sharpness else float("nan")
        return BoardDetection(frame, ids, corners, sharp)

    def _detect_charuco(self, gray: NDArray[np.uint8]) -> tuple[NDArray[np.int32], NDArray[np.float64]] | None:
        import cv2

        h, w = gray.shape[:2]
        scale = 1.0
        if self.marker_max_side and max(h, w) > self.marker_max_side:
            scale = self.marker_max_side / max(h, w)
        if scale < 1.0:
            small = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
            marker_corners, marker_ids, _ = self._marker_detector.detectMarkers(small)
            if marker_ids is None or len(marker_ids) == 0:
                return None
            # scale about pixel centres: p_full + 0.5 = (p_small + 0.5) / scale
            marker_corners = tuple(
                ((np.asarray(c, dtype=np.float32) + 0.5) / scale - 0.5).astype(np.float32) for c in marker_corners
            )
            corners, ids, _, _ = self._charuco.detectBoard(gray, markerCorners=marker_corners, markerIds=marker_ids)
        else:
            corners, ids, _, _ = self._charuco.detectBoard(gray)
        if ids is None or len(ids) == 0:
            return None
        return np.asarray(ids, dtype=np.int32).ravel(), np.asarray(corners, dtype=np.float64).reshape(-1, 2)

    def _detect_checkerboard(self, gray: NDArray[np.uint8]) -> tuple[NDArray[np.int32], NDArray[np.float64]] | None:
        import cv2

        h, w = gray.shape[:2]
        scale = 1.0
        if self.checker_max_side and max(h, w) > self.checker_max_side:
            scale = self.checker_max_side / max(h, w)
        small = (
            cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else gray
        )
        pattern = self.board.corner_grid
        # the classic detector is fast and rejects frames without a board quickly; the sector-based
        # one finds boards the classic one misses (strong perspective, uneven light)
        flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_FAST_CHECK
        ok, corners = cv2.findChessboardCorners(small, pattern, flags=flags)
        if not ok:
            flags = cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_EXHAUSTIVE | cv2.CALIB_CB_ACCURACY
            ok, corners = cv2.findChessboardCornersSB(small, pattern, flags=flags)
        if not ok or corners is None:
            return None
        corners = np.asarray(corners, dtype=np.float64).reshape(-1, 2)
        corners = (corners + 0.5) / scale - 0.5
        half = int(np.clip(_square_px(corners, len(corners)) / 4, 2, 12))
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 40, 1e-3)
        refined = cv2.cornerSubPix(gray, corners.astype(np.float32).reshape(-1, 1, 2), (half, half), (-1, -1), criteria)
        corners = np.asarray(refined, dtype=np.float64).reshape(-1, 2)
        if self._reversed(gray, corners):
            corners = corners[::-1].copy()
        return np.arange(len(corners), dtype=np.int32), corners

    def _reversed(self, gray: NDArray[np.uint8], corners: NDArray[np.float64]) -> bool:
        """True when the checkerboard reading is the 180° turn of the board frame's order."""
        import cv2

        board = self.board
        if (board.columns + board.rows) % 2 == 0:
            x_axis = corners[1] - corners[0]
            return bool(x_axis[0] < 0)
        homography, _ = cv2.findHomography(self._object_points[:, :2], corners)
        if homography is None:
            return bool((corners[1] - corners[0])[0] < 0)
        s = board.square_length_m
        # the centre of every square that lands inside the image; in this reading square (i, j) is
        # black when i + j is even, and a 180° turn swaps the colours (columns + rows is odd)
        cols, rows = np.meshgrid(np.arange(board.columns), np.arange(board.rows))
        probes = np.stack([(cols.ravel() + 0.5) * s, (rows.ravel() + 0.5) * s, np.ones(cols.size)], axis=1)
        mapped = probes @ homography.T
        pixels = np.round(mapped[:, :2] / mapped[:, 2:3]).astype(int)
        h, w = gray.shape[:2]
        inside = (pixels[:, 0] >= 2) & (pixels[:, 0] < w - 2) & (pixels[:, 1] >= 2) & (pixels[:, 1] < h - 2)
        black = ((cols.ravel() + rows.ravel()) % 2 == 0) & inside
        white = ((cols.ravel() + rows.ravel()) % 2 == 1) & inside
        if not black.any() or not white.any():
            return bool((corners[1] - corners[0])[0] < 0)

        def mean_level(selected: NDArray[np.bool_]) -> float:
            return float(np.mean([np.mean(gray[y - 2 : y + 3, x - 2 : x + 3]) for x, y in pixels[selected]]))

        # on a normal (or already inverted-back) print the first square is black
        return mean_level(black) > mean_level(white)


def detect_in_media(
    path: str | Path,
    board: BoardSpec,
    *,
    step: int | None = None,
    max_frames: int = 400,
    detector: BoardDetector | None = None,
    cancel: CancelToken | None = None,
    stage: str = "detecting the board",
) -> Generator[Progress, None, MediaDetections]:
    """Search a video or image folder for the board, frame by frame.

    Frames are decoded sequentially (:meth:`calibration.media.FrameSource.frames`) every ``step``
    frames; without a step, one chosen so that at most ``max_frames`` frames are searched.

    Yields:
        :class:`Progress` per searched frame (stage ``stage``, message the file name).

    Returns:
        the detections.

    Raises:
        MissingFileError, FileFormatError: the media cannot be opened (from :mod:`calibration.media`).
        CancelledError: ``cancel`` was set.
    """
    path = Path(path)
    detector = detector or BoardDetector(board)
    found: list[BoardDetection] = []
    scanned = 0
    with open_frames(path) as source:
        total = source.info.num_frames
        if step is None:
            step = max(1, -(-total // max(1, max_frames)))
        expected = -(-total // step)
        size = source.info.size
        for index, image in source.frames(step=step):
            check_cancelled(cancel)
            if (image.shape[1], image.shape[0]) != size:
                raise FileFormatError(
                    path, f"frame {index}", f"size {image.shape[1]}x{image.shape[0]} differs from {size[0]}x{size[1]}"
                )
            detection = detector.detect(image, index)
            scanned += 1
            if detection is not None:
                found.append(detection)
            yield Progress(stage, scanned, max(expected, scanned), path.name)
    log.info("%s: board found in %d of %d frames searched", path, len(found), scanned)
    return MediaDetections(path, size, scanned, tuple(found))


def draw_detection(image: NDArray[np.uint8], detection: BoardDetection) -> NDArray[np.uint8]:
    """A copy of ``image`` (BGR) with the detected corners and their ids drawn, for debugging views."""
    import cv2

    out: Any = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    for corner_id, (x, y) in zip(detection.ids, detection.corners_px, strict=True):
        cv2.circle(out, (round(float(x)), round(float(y))), 3, (0, 0, 255), -1)
        cv2.putText(out, str(int(corner_id)), (int(x) + 4, int(y) - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 0), 1)
    return np.asarray(out, dtype=np.uint8)
