"""Initial extrinsics from synchronized board views: per-view board poses, the camera graph, and a
spanning tree of relative poses.

1. **Board poses per view** (:func:`board_poses`): for every camera and frame where the board is
   seen, ``camera_from_board`` by ``cv2.solvePnPGeneric`` (IPPE, the planar solver, which returns
   both poses a planar target allows) refined by Levenberg-Marquardt. A view whose two IPPE
   solutions fit almost equally well (ratio of errors under ``ambiguity_ratio``) has a flip
   ambiguity — typical of small, distant, fronto-parallel boards — and is left out of the
   initialisation (it still enters bundle adjustment).
2. **Camera graph** (:func:`camera_graph`): cameras are nodes; two cameras are linked by every frame
   in which both have an unambiguous pose. The graph must connect every camera, otherwise
   :func:`check_connected` raises :class:`~calibration.errors.CalibrationError` naming the cameras
   that cannot be reached.
3. **Relative poses** (:func:`initial_extrinsics`): for each linked pair, every shared frame gives a
   ``cam_j_from_cam_i`` estimate; the rotation is the medoid of those estimates refined by the
   chordal mean of the ones within 5° of it, the translation the median of theirs. A maximum
   spanning tree over the number of agreeing frames (Prim's algorithm), rooted at the camera with the
   most links, chains them into poses ``camera_from_reference``.
4. **Board poses** in the reference frame (:func:`initial_board_poses`): per frame, the chordal mean
   over the cameras that see it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calibration.board_detection import BoardDetection
from calibration.boards import BoardSpec
from calibration.errors import CalibrationError
from calibration.rotations import matrix_to_rodrigues, rodrigues_to_matrix

log = logging.getLogger(__name__)

Pose = NDArray[np.float64]  # (4, 4) homogeneous transform


@dataclass(frozen=True, eq=False)
class ViewPose:
    """The board's pose in one camera at one frame.

    Attributes:
        camera_from_board: (4, 4) transform, metres.
        rms_px: reprojection RMS of the pose, pixels.
        ambiguous: the planar flip ambiguity could not be resolved (see the module docstring).
        num_corners: corners behind the estimate.
    """

    camera_from_board: Pose = field(repr=False)
    rms_px: float
    ambiguous: bool
    num_corners: int


def make_pose(rotation: NDArray[np.float64], translation: NDArray[np.float64]) -> Pose:
    """A (4, 4) transform from a rotation (3, 3) and a translation (3,)."""
    out = np.eye(4)
    out[:3, :3] = rotation
    out[:3, 3] = translation
    return out


def invert_pose(pose: Pose) -> Pose:
    """Inverse of a rigid (4, 4) transform."""
    rotation = pose[:3, :3].T
    return make_pose(rotation, -rotation @ pose[:3, 3])


def project_rotation(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """The rotation nearest (Frobenius) to a 3x3 matrix: the chordal mean when ``matrix`` is a mean."""
    u, _, vt = np.linalg.svd(matrix)
    d = np.sign(np.linalg.det(u @ vt))
    return np.asarray(u @ np.diag([1.0, 1.0, d]) @ vt)


def rotation_angle_deg(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Angle of ``a^T b`` in degrees, batched over leading axes of ``(..., 3, 3)``."""
    relative = np.swapaxes(a, -1, -2) @ b
    cos = (np.trace(relative, axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.asarray(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def robust_mean_pose(poses: Sequence[Pose], inlier_deg: float = 5.0) -> tuple[Pose, int]:
    """Robust average of rigid transforms: rotation medoid then chordal mean of its inliers,
    translation median of the inliers. Returns the pose and the number of inliers."""
    stack = np.asarray(poses, dtype=np.float64)
    rotations = stack[:, :3, :3]
    if len(stack) <= 2:
        inliers = np.ones(len(stack), dtype=bool)
    else:
        angles = rotation_angle_deg(rotations[:, None], rotations[None, :])
        medoid = int(np.argmin(np.sum(angles, axis=1)))
        inliers = angles[medoid] <= inlier_deg
    rotation = project_rotation(np.mean(rotations[inliers], axis=0))
    translation = np.median(stack[inliers, :3, 3], axis=0)
    return make_pose(rotation, translation), int(inliers.sum())


def estimate_view_pose(
    detection: BoardDetection,
    board: BoardSpec,
    matrix: NDArray[np.float64],
    distortion: NDArray[np.float64],
    ambiguity_ratio: float = 1.5,
) -> ViewPose | None:
    """``camera_from_board`` of one detection (None when OpenCV finds no pose)."""
    import cv2

    object_points = board.object_points()[detection.ids]
    image_points = detection.corners_px
    try:
        count, rvecs, tvecs, errors = cv2.solvePnPGeneric(
            object_points, image_points, matrix, distortion, flags=cv2.SOLVEPNP_IPPE
        )
    except cv2.error:
        return None
    if count == 0:
        return None
    errors = np.asarray(errors, dtype=np.float64).ravel()
    order = np.argsort(errors)
    best = int(order[0])
    ambiguous = bool(count > 1 and errors[order[1]] < ambiguity_ratio * max(errors[best], 1e-9))
    rvec, tvec = cv2.solvePnPRefineLM(
        object_points, image_points, matrix, distortion, rvecs[best].copy(), tvecs[best].copy()
    )
    rotation = rodrigues_to_matrix(np.asarray(rvec, dtype=np.float64).ravel())
    translation = np.asarray(tvec, dtype=np.float64).ravel()
    if translation[2] <= 0:
        return None
    projected, _ = cv2.projectPoints(object_points, rvec, tvec, matrix, distortion)
    rms = float(np.sqrt(np.mean(np.sum((projected.reshape(-1, 2) - image_points) ** 2, axis=1))))
    return ViewPose(make_pose(rotation, translation), rms, ambiguous, detection.num_corners)


def board_poses(
    detections: Mapping[str, Sequence[BoardDetection]],
    board: BoardSpec,
    intrinsics: Mapping[str, tuple[NDArray[np.float64], NDArray[np.float64]]],
) -> dict[str, dict[int, ViewPose]]:
    """Per camera, per frame, the board pose (frames without a pose are left out).

    Args:
        detections: camera name -> detections in its synchronized video.
        board: the board.
        intrinsics: camera name -> (K (3, 3), distortion).
    """
    out: dict[str, dict[int, ViewPose]] = {}
    for name, views in detections.items():
        matrix, distortion = intrinsics[name]
        poses: dict[int, ViewPose] = {}
        for detection in views:
            pose = estimate_view_pose(detection, board, matrix, distortion)
            if pose is not None:
                poses[detection.frame] = pose
        out[name] = poses
    return out


def camera_graph(poses: Mapping[str, Mapping[int, ViewPose]], names: Sequence[str]) -> NDArray[np.int64]:
    """Shared unambiguous frames between every pair of cameras, ``(V, V)`` int (diagonal: own frames)."""
    frames = [{f for f, p in poses.get(n, {}).items() if not p.ambiguous} for n in names]
    n = len(names)
    out = np.zeros((n, n), dtype=np.int64)
    for i in range(n):
        for j in range(n):
            out[i, j] = len(frames[i] & frames[j])
    return out


def connected_components(links: NDArray[np.int64], min_shared: int = 1) -> list[list[int]]:
    """Groups of camera indices linked (directly or through others) by ``>= min_shared`` frames,
    largest first."""
    n = len(links)
    seen = [False] * n
    groups: list[list[int]] = []
    for start in range(n):
        if seen[start]:
            continue
        stack, group = [start], []
        seen[start] = True
        while stack:
            i = stack.pop()
            group.append(i)
            for j in range(n):
                if j != i and not seen[j] and links[i, j] >= min_shared:
                    seen[j] = True
                    stack.append(j)
        groups.append(sorted(group))
    return sorted(groups, key=lambda g: (-len(g), g[0]))


def check_connected(links: NDArray[np.int64], names: Sequence[str], min_shared: int = 1) -> None:
    """Raise when the camera graph does not connect every camera.

    Raises:
        CalibrationError: naming the cameras that never see the board, or those that share no
            frame with the largest connected group, and what to record.
    """
    blind = [names[i] for i in range(len(names)) if links[i, i] == 0]
    if blind:
        raise CalibrationError(
            f"camera(s) {', '.join(blind)} never see the whole-enough board in the extrinsic videos; "
            "check those videos show the board (and the board spec), or film it where they look"
        )
    groups = connected_components(links, min_shared)
    if len(groups) > 1:
        main = ", ".join(names[i] for i in groups[0])
        others = ", ".join(names[i] for g in groups[1:] for i in g)
        raise CalibrationError(
            f"camera(s) {others} share no board view with {main}; film the board where their views "
            "overlap so that every camera is linked to the others"
        )


def _pair_poses(poses: Mapping[str, Mapping[int, ViewPose]], source: str, target: str) -> list[Pose]:
    """``target_from_source`` estimates from every frame both see unambiguously."""
    out = []
    for frame, ps in poses[source].items():
        pt = poses[target].get(frame)
        if pt is None or ps.ambiguous or pt.ambiguous:
            continue
        out.append(pt.camera_from_board @ invert_pose(ps.camera_from_board))
    return out


def initial_extrinsics(
    poses: Mapping[str, Mapping[int, ViewPose]], names: Sequence[str]
) -> tuple[NDArray[np.float64], int]:
    """``camera_from_reference`` (V, 4, 4) for every camera, and the reference camera's index.

    Raises:
        CalibrationError: the camera graph is not connected (see :func:`check_connected`).
    """
    links = camera_graph(poses, names)
    check_connected(links, names)
    n = len(names)
    off_diagonal = links - np.diag(np.diag(links))
    root = int(np.argmax(np.sum(off_diagonal > 0, axis=1) * 10_000 + np.sum(off_diagonal, axis=1)))
    relative: dict[tuple[int, int], tuple[Pose, int]] = {}
    for i in range(n):
        for j in range(n):
            if i != j and off_diagonal[i, j] > 0:
                estimates = _pair_poses(poses, names[i], names[j])
                if estimates:
                    relative[(i, j)] = robust_mean_pose(estimates)
    result = np.zeros((n, 4, 4))
    result[root] = np.eye(4)
    placed = {root}
    while len(placed) < n:
        best: tuple[int, int, int] | None = None
        for (i, j), (_, support) in relative.items():
            if i in placed and j not in placed and (best is None or support > best[2]):
                best = (i, j, support)
        if best is None:  # cannot happen after check_connected, kept as a guard for callers
            missing = ", ".join(names[k] for k in range(n) if k not in placed)
            raise CalibrationError(f"camera(s) {missing} cannot be placed: no board frame links them to the others")
        i, j, _ = best
        result[j] = relative[(i, j)][0] @ result[i]  # j_from_ref = j_from_i @ i_from_ref
        placed.add(j)
    return result, root


def initial_board_poses(
    poses: Mapping[str, Mapping[int, ViewPose]], names: Sequence[str], camera_from_reference: NDArray[np.float64]
) -> dict[int, Pose]:
    """Per frame seen by any camera, ``reference_from_board``: robust mean over the cameras that see it.

    Unambiguous views are preferred; a frame seen only ambiguously uses those views.
    """
    by_frame: dict[int, list[tuple[Pose, bool]]] = {}
    for index, name in enumerate(names):
        reference_from_camera = invert_pose(camera_from_reference[index])
        for frame, view in poses.get(name, {}).items():
            by_frame.setdefault(frame, []).append((reference_from_camera @ view.camera_from_board, view.ambiguous))
    out: dict[int, Pose] = {}
    for frame, candidates in sorted(by_frame.items()):
        clear = [p for p, ambiguous in candidates if not ambiguous]
        out[frame] = robust_mean_pose(clear or [p for p, _ in candidates])[0]
    return out


def pose_to_vector(pose: Pose) -> NDArray[np.float64]:
    """(6,) = Rodrigues rotation (3) then translation (3)."""
    return np.concatenate([matrix_to_rodrigues(pose[:3, :3]), pose[:3, 3]])


def vector_to_pose(vector: NDArray[np.float64]) -> Pose:
    """Inverse of :func:`pose_to_vector`."""
    return make_pose(rodrigues_to_matrix(vector[:3]), vector[3:6])
