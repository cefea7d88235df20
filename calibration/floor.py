"""The world frame: from a board lying on the floor, from known 3D points, or levelled from the cameras.

Calibration solves the rig in the frame of a reference camera; this module finds
``world_from_reference`` so that the world is Z up, in metres, with the floor at ``z = 0``
(:mod:`calibration.conventions`):

* **Board on the floor** (:func:`world_from_floor_board`): origin at the board's origin corner
  (:mod:`calibration.boards`), X along the board's x axis (its columns), Z up. A board lying face up
  has its z axis (which points into the print) pointing down, so ``world_from_board`` is the
  half-turn about x: ``diag(1, -1, -1)``; Y then runs against the board's rows.
* **Known points** (:func:`world_from_points`): three or more points with known world coordinates,
  located in the reference frame (e.g. triangulated from clicks, :func:`triangulate_points`);
  the rigid (optionally similarity) transform of least squares (Umeyama 1991).
* **Levelled** (:func:`world_from_cameras`): no floor information; Z is the mean "up" of the cameras'
  images (cameras are usually mounted upright), the origin is below the centroid of the cameras at
  ``assumed_height_m`` under their mean height, X points from there towards the reference camera.

:func:`check_cameras_above_floor` then verifies every camera is above the floor: a board seen from
below, stuck to the ceiling or mirrored by a wrong pose would put cameras under it.

Layering note: ``calibration`` must not import ``mocap``, so the small linear triangulation used to
locate clicked points lives here rather than reusing ``mocap.triangulation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from calibration.arrays import as_float64
from calibration.errors import CalibrationError, FileFormatError, MissingFileError
from calibration.extrinsics import invert_pose, make_pose, project_rotation
from calibration.rig import CameraRig

#: ``world_from_board`` of a board lying face up on the floor (half-turn about the board's x axis).
FLOOR_FROM_BOARD = np.diag([1.0, -1.0, -1.0, 1.0])


def world_from_floor_board(reference_from_board: NDArray[np.float64]) -> NDArray[np.float64]:
    """``world_from_reference`` (4, 4) for a board lying face up on the floor.

    Args:
        reference_from_board: (4, 4) pose of that board in the reference frame.
    """
    pose = as_float64("reference_from_board", reference_from_board, (4, 4))
    return np.asarray(FLOOR_FROM_BOARD @ invert_pose(pose))


def world_from_points(
    points_reference: NDArray[np.float64], points_world: NDArray[np.float64], *, allow_scale: bool = False
) -> tuple[NDArray[np.float64], float, float]:
    """Least-squares ``world ~ s R reference + t`` from corresponding points (Umeyama 1991).

    Args:
        points_reference: (N, 3) points in the reference frame, metres; N >= 3, not collinear.
        points_world: (N, 3) the same points in the world frame, metres.
        allow_scale: also solve a scale ``s`` (otherwise ``s = 1``: the board already fixed it).

    Returns:
        ``world_from_reference`` as (4, 4) rigid transform (its rotation and translation), the scale
        ``s``, and the RMS distance of the fitted points, metres.

    Raises:
        CalibrationError: fewer than 3 points or collinear points.
    """
    src = as_float64("points_reference", points_reference, ("N", 3))
    dst = as_float64("points_world", points_world, (len(src), 3))
    finite = np.all(np.isfinite(src), axis=1) & np.all(np.isfinite(dst), axis=1)
    src, dst = src[finite], dst[finite]
    if len(src) < 3:
        raise CalibrationError(f"need at least 3 located points to set the world frame, got {len(src)}")
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - src_mean, dst - dst_mean
    singular = np.linalg.svd(a, compute_uv=False)
    if singular[1] < 1e-6 * max(singular[0], 1e-12):
        raise CalibrationError("the known points are collinear; give points that span a plane or a volume")
    u, s, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ d @ vt
    scale = float(np.trace(np.diag(s) @ d) / np.mean(np.sum(a * a, axis=1))) if allow_scale else 1.0
    translation = dst_mean - scale * rotation @ src_mean
    fitted = scale * src @ rotation.T + translation
    rms = float(np.sqrt(np.mean(np.sum((fitted - dst) ** 2, axis=1))))
    return make_pose(rotation, translation), scale, rms


def world_from_cameras(
    camera_from_reference: NDArray[np.float64], reference_index: int = 0, assumed_height_m: float = 2.0
) -> NDArray[np.float64]:
    """``world_from_reference`` levelled from the cameras' own "up" directions (see the module docstring)."""
    poses = as_float64("camera_from_reference", camera_from_reference, ("V", 4, 4))
    # image "up" is the camera's -y axis; in the reference frame that is -R^T e_y (row 1 of R)
    ups = -poses[:, 1, :3]
    up = np.mean(ups, axis=0)
    up /= np.linalg.norm(up)
    centres = np.array([-p[:3, :3].T @ p[:3, 3] for p in poses])
    origin = centres.mean(axis=0) - assumed_height_m * up
    towards = centres[reference_index] - origin
    x_axis = towards - np.dot(towards, up) * up
    if np.linalg.norm(x_axis) < 1e-9:
        x_axis = np.cross(up, [1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.cross(up, [0.0, 1.0, 0.0])
    x_axis /= np.linalg.norm(x_axis)
    y_axis = np.cross(up, x_axis)
    reference_from_world = make_pose(np.column_stack([x_axis, y_axis, up]), origin)
    return invert_pose(reference_from_world)


def apply_world_frame(
    camera_from_reference: NDArray[np.float64], world_from_reference: NDArray[np.float64], scale: float = 1.0
) -> NDArray[np.float64]:
    """``camera_from_world`` (V, 4, 4) for poses (V, 4, 4) given ``world ~ scale R ref + t``.

    With a scale, reference-frame lengths are multiplied by it (camera translations scale).
    """
    poses = as_float64("camera_from_reference", camera_from_reference, ("V", 4, 4)).copy()
    poses[:, :3, 3] *= scale
    world = as_float64("world_from_reference", world_from_reference, (4, 4)).copy()
    world[:3, :3] = project_rotation(world[:3, :3])
    return np.asarray(poses @ invert_pose(world))


def check_cameras_above_floor(rig: CameraRig, *, source: str = "the floor board") -> None:
    """Raise unless every camera centre is above the floor (world ``z > 0``).

    Raises:
        CalibrationError: naming the cameras at or below the floor and what to check.
    """
    below = [c.name for c in rig.cameras if c.center_world[2] <= 0.0]
    if not below:
        return
    if len(below) == len(rig):
        raise CalibrationError(
            f"every camera ends up below the floor set by {source}: the board was not lying face up on the "
            "floor (on a wall or the ceiling, or printed side down); use a frame where it lies flat, face up"
        )
    raise CalibrationError(
        f"camera(s) {', '.join(below)} end up below the floor set by {source} while others are above: "
        "the floor frame or those cameras' poses are wrong; pick another floor frame and check their views"
    )


def triangulate_points(rig: CameraRig, pixels: Sequence[dict[str, NDArray[np.float64]]]) -> NDArray[np.float64]:
    """Locate points from their pixels in two or more cameras (linear DLT on undistorted points).

    Args:
        rig: calibrated cameras (in any frame; points come out in it).
        pixels: per point, camera name -> distorted pixel (2,).

    Returns:
        (N, 3) points; NaN where fewer than two cameras see a point.
    """
    out = np.full((len(pixels), 3), np.nan)
    for index, seen in enumerate(pixels):
        rows = []
        for name, pixel in seen.items():
            camera = rig[name]
            normalized = camera.undistort_points(np.asarray(pixel, dtype=np.float64), normalized=True)
            if not np.all(np.isfinite(normalized)):
                continue
            projection = np.hstack([camera.rotation, camera.translation[:, None]])
            rows.append(normalized[0] * projection[2] - projection[0])
            rows.append(normalized[1] * projection[2] - projection[1])
        if len(rows) >= 4:
            _, _, vt = np.linalg.svd(np.array(rows))
            homogeneous = vt[-1]
            if abs(homogeneous[3]) > 1e-12:
                out[index] = homogeneous[:3] / homogeneous[3]
    return out


def load_known_points(path: str | Path) -> tuple[NDArray[np.float64], list[dict[str, NDArray[np.float64]]]]:
    """Read known world points and where they appear in the extrinsic images.

    Format (TOML)::

        [[points]]
        world = [0.0, 0.0, 0.0]          # metres, world frame (Z up)
        pixels = { cam_1 = [512.3, 300.1], cam_2 = [88.0, 411.5] }   # distorted pixels, >= 2 cameras

    Returns:
        world points (N, 3) and, per point, camera name -> pixel (2,).

    Raises:
        MissingFileError: no such file.
        FileFormatError: malformed TOML or a bad entry (naming it).
    """
    import tomllib

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such known-points file")
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FileFormatError(path, "", f"not valid TOML ({exc})") from None
    entries = document.get("points")
    if not isinstance(entries, list) or not entries:
        raise FileFormatError(path, "points", "expected [[points]] tables with world and pixels")
    world = np.zeros((len(entries), 3))
    pixels: list[dict[str, NDArray[np.float64]]] = []
    for i, entry in enumerate(entries):
        where = f"points[{i}]"
        try:
            world[i] = np.asarray(entry["world"], dtype=np.float64).reshape(3)
            seen = {str(k): np.asarray(v, dtype=np.float64).reshape(2) for k, v in dict(entry["pixels"]).items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise FileFormatError(
                path, where, f"expected world = [x, y, z] and pixels = {{camera = [u, v]}} ({exc})"
            ) from None
        if len(seen) < 2:
            raise FileFormatError(path, f"{where}.pixels", "a point must be seen by at least two cameras")
        pixels.append(seen)
    return world, pixels
