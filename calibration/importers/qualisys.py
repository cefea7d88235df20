"""Qualisys ``.qca.txt`` calibration files (the XML that QTM exports and Pose2Sim reads).

Conventions (verified against the Pose2Sim demo videos, see the shared data README):

* ``fx = focalLengthU / 64``, ``fy = focalLengthV / 64``; ``cx = centerPointU / 64 - fov_video.left``,
  ``cy = centerPointV / 64 - fov_video.top`` (Qualisys stores sensor sub-pixels, 64 per pixel);
  the image size is ``(right - left + 1, bottom - top + 1)`` of ``fov_video``.
* ``transform`` holds ``M`` (``r11 .. r33`` row-wise) and the camera centre in millimetres; a Qualisys
  camera looks down its -z axis, so ``camera_from_world`` is ``R = diag(1, -1, -1) M``,
  ``t = -R C`` with ``C`` in metres.
* OpenCV distortion ``(k1, k2, p1, p2, k3)`` = ``radialDistortion1, radialDistortion2,
  tangentalDistortion1, tangentalDistortion2, radialDistortion3``. Pose2Sim's own converter divides
  these by 64 as well; we do not (the undivided values match the videos).

Cameras are named after their ``serial`` attribute, in file order; inactive cameras are skipped.
The XML is parsed with :mod:`xml.etree.ElementTree` from the standard library (no entity expansion of
external resources).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from calibration.camera import Camera
from calibration.errors import FileFormatError, MissingFileError
from calibration.rig import CameraRig

SUBPIXELS = 64.0
_FLIP = np.diag([1.0, -1.0, -1.0])


def _number(path: Path, element: ET.Element, where: str, name: str) -> float:
    value = element.get(name)
    if value is None:
        raise FileFormatError(path, f"{where}.{name}", "missing")
    try:
        return float(value)
    except ValueError:
        raise FileFormatError(path, f"{where}.{name}", f"not a number: {value!r}") from None


def _child(path: Path, camera: ET.Element, where: str, tag: str) -> ET.Element:
    found = camera.find(tag)
    if found is None:
        raise FileFormatError(path, f"{where}.{tag}", "missing")
    return found


def load_qualisys(path: str | Path) -> CameraRig:
    """Read a Qualisys ``.qca.txt`` file (see the module docstring).

    Raises:
        MissingFileError: no such file.
        FileFormatError: not XML, no cameras, or a missing/non-numeric field (named).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such calibration file")
    try:
        root = ET.fromstring(path.read_bytes())
    except (ET.ParseError, OSError) as exc:
        raise FileFormatError(path, "", f"not a Qualisys XML calibration ({exc})") from None
    cameras = []
    for index, element in enumerate(root.iter("camera")):
        if element.get("active", "1") == "0":
            continue
        name = element.get("serial") or f"cam_{index + 1}"
        where = f"camera[{name}]"
        fov = _child(path, element, where, "fov_video")
        intrinsic = _child(path, element, where, "intrinsic")
        transform = _child(path, element, where, "transform")
        num = lambda el, w, n: _number(path, el, w, n)  # noqa: E731
        left, top = num(fov, f"{where}.fov_video", "left"), num(fov, f"{where}.fov_video", "top")
        right, bottom = num(fov, f"{where}.fov_video", "right"), num(fov, f"{where}.fov_video", "bottom")
        w = f"{where}.intrinsic"
        matrix = np.array(
            [
                [
                    num(intrinsic, w, "focalLengthU") / SUBPIXELS,
                    0.0,
                    num(intrinsic, w, "centerPointU") / SUBPIXELS - left,
                ],
                [
                    0.0,
                    num(intrinsic, w, "focalLengthV") / SUBPIXELS,
                    num(intrinsic, w, "centerPointV") / SUBPIXELS - top,
                ],
                [0.0, 0.0, 1.0],
            ]
        )
        distortion = np.array(
            [
                num(intrinsic, w, "radialDistortion1"),
                num(intrinsic, w, "radialDistortion2"),
                num(intrinsic, w, "tangentalDistortion1"),
                num(intrinsic, w, "tangentalDistortion2"),
                num(intrinsic, w, "radialDistortion3"),
            ]
        )
        t = f"{where}.transform"
        m = np.array([[num(transform, t, f"r{i}{j}") for j in (1, 2, 3)] for i in (1, 2, 3)])
        centre_m = np.array([num(transform, t, axis) for axis in ("x", "y", "z")]) / 1000.0
        rotation = _FLIP @ m
        size = (round(right - left + 1), round(bottom - top + 1))
        cameras.append(Camera.from_rotation_matrix(name, size, matrix, distortion, rotation, -rotation @ centre_m))
    if not cameras:
        raise FileFormatError(path, "cameras", "no active <camera> elements")
    return CameraRig(tuple(cameras), {"source": f"qualisys {path.name}", "units": "m"})
