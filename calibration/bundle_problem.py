"""The set of board views that enter bundle adjustment, and their board-pose indices.

Board keys are ``("x", frame)`` for a synchronized extrinsic frame (seen by two or more cameras,
or the floor frame) and ``("i:<camera>", frame)`` for a close-up from one camera's intrinsic input
(added with ``CalibrationOptions.joint_close_ups``; otherwise the close-ups enter through the lens
prior, :mod:`calibration.bundle_prior`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from calibration.board_detection import BoardDetection, MediaDetections
from calibration.boards import BoardSpec
from calibration.bundle_adjustment import BoardObservations
from calibration.extrinsics import ViewPose, estimate_view_pose, invert_pose
from calibration.intrinsics import IntrinsicsResult


class BundleProblem:
    """Collects the views that enter bundle adjustment and their board indices.

    Board keys are ``("x", frame)`` for a synchronized extrinsic frame and ``("i:<camera>", frame)``
    for a close-up of one camera's intrinsic input.
    """

    def __init__(
        self,
        names: list[str],
        board: BoardSpec,
        views: dict[str, dict[int, ViewPose]],
        extrinsic: dict[str, MediaDetections],
        floor_frame: int | None,
    ) -> None:
        self.names = names
        self.board = board
        self.board_index: dict[tuple[str, int], int] = {}
        self.rows: list[tuple[int, int, BoardDetection]] = []  # camera index, board index, detection
        self._close_up_poses: dict[tuple[str, int], NDArray[np.float64]] = {}
        self._extrinsic_sources = {name: extrinsic[name].path for name in names}
        seen_by: dict[int, int] = {}
        for name in names:
            for frame in views[name]:
                seen_by[frame] = seen_by.get(frame, 0) + 1
        for c, name in enumerate(names):
            for detection in extrinsic[name].detections:
                frame = detection.frame
                if frame not in views[name] or (seen_by.get(frame, 0) < 2 and frame != floor_frame):
                    continue
                key = ("x", frame)
                index = self.board_index.setdefault(key, len(self.board_index))
                self.rows.append((c, index, detection))

    def add_close_ups(
        self,
        found: dict[str, MediaDetections],
        intrinsics: dict[str, IntrinsicsResult],
        camera_from_reference: NDArray[np.float64],
    ) -> None:
        for c, name in enumerate(self.names):
            result = intrinsics[name]
            used = set(result.frames_used)
            same_source = found[name].path == self._extrinsic_sources[name]
            for detection in found[name].detections:
                if detection.frame not in used:
                    continue
                if same_source and ("x", detection.frame) in self.board_index:
                    continue  # intrinsics came from the extrinsic video: that view is already in
                pose = estimate_view_pose(detection, self.board, result.matrix, result.distortion)
                if pose is None:
                    continue
                key = (f"i:{name}", detection.frame)
                index = self.board_index.setdefault(key, len(self.board_index))
                self.rows.append((c, index, detection))
                self._close_up_poses[key] = invert_pose(camera_from_reference[c]) @ pose.camera_from_board

    def initial_boards(self, extrinsic_boards: dict[int, NDArray[np.float64]]) -> NDArray[np.float64]:
        out = np.zeros((len(self.board_index), 4, 4))
        for key, index in self.board_index.items():
            out[index] = extrinsic_boards[key[1]] if key[0] == "x" else self._close_up_poses[key]
        return out

    def observations(self) -> BoardObservations:
        points = self.board.object_points()
        cameras = np.concatenate([np.full(d.num_corners, c) for c, _, d in self.rows]).astype(np.int64)
        boards = np.concatenate([np.full(d.num_corners, b) for _, b, d in self.rows]).astype(np.int64)
        return BoardObservations(
            cameras,
            boards,
            np.concatenate([points[d.ids] for _, _, d in self.rows]),
            np.concatenate([d.corners_px for _, _, d in self.rows]),
        )
