"""Reading a Qualisys calibration (``.qca.txt`` XML), as Pose2Sim's demo take ships it.

Conventions (verified against the Pose2Sim demo videos, see ``shared/data/README.md``):

* intrinsics are stored in 1/64 pixel units of the sensor: ``fx = focalLengthU / 64``,
  ``cx = centerPointU / 64 - fov_video.left`` (same for v with ``top``); the image is
  ``fov_video`` (``right - left + 1`` by ``bottom - top + 1``);
* ``transform`` r11..r33 (row-wise) is the camera's orientation ``M`` in the world (Z up) and
  x, y, z its centre in millimetres; a Qualisys camera looks down its -z axis, so the OpenCV
  ``camera_from_world`` rotation is ``R = diag(1, -1, -1) @ M`` and ``t = -R @ C``;
* distortion (OpenCV k1, k2, p1, p2, k3) = radialDistortion1, radialDistortion2,
  tangentalDistortion1, tangentalDistortion2, radialDistortion3.

This reader lives here because the real demo needs it; it belongs with the calibration importers
(``mocap import-calibration``) once those exist.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np

from calibration.camera import Camera
from calibration.rig import CameraRig
from mocap.errors import FileFormatError, MissingFileError

_DIAG = np.diag([1.0, -1.0, -1.0])


def _number(path: Path, element: ElementTree.Element, name: str) -> float:
    value = element.get(name)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FileFormatError(path, f"{element.tag}.{name}", f"expected a number, got {value!r}") from None


def load_qualisys_rig(path: str | Path) -> CameraRig:
    """A rig from a Qualisys ``.qca.txt`` file; cameras named by their ``serial``, in file order.

    Raises:
        MissingFileError: no such file.
        FileFormatError: not Qualisys calibration XML, or a missing/malformed field (named).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such calibration file")
    try:
        root = ElementTree.parse(path).getroot()
    except (ElementTree.ParseError, OSError) as exc:
        raise FileFormatError(path, "", f"not readable XML ({exc})") from None
    elements = root.findall("./cameras/camera")
    if root.tag != "calibration" or not elements:
        raise FileFormatError(path, "cameras", "no <calibration><cameras><camera> elements; not a Qualisys file")
    cameras = []
    for number, element in enumerate(elements, start=1):
        name = element.get("serial") or f"cam{number:02d}"
        fov, transform, intrinsic = (element.find(tag) for tag in ("fov_video", "transform", "intrinsic"))
        if fov is None or transform is None or intrinsic is None:
            raise FileFormatError(path, f"camera {name}", "needs fov_video, transform and intrinsic elements")
        left, top = _number(path, fov, "left"), _number(path, fov, "top")
        size = (int(_number(path, fov, "right") - left + 1), int(_number(path, fov, "bottom") - top + 1))
        keys = ("focalLengthU", "focalLengthV", "centerPointU", "centerPointV")
        fx, fy, cu, cv = (_number(path, intrinsic, key) / 64.0 for key in keys)
        matrix = np.array([[fx, 0.0, cu - left], [0.0, fy, cv - top], [0.0, 0.0, 1.0]])
        distortion = [
            _number(path, intrinsic, key)
            for key in (
                "radialDistortion1",
                "radialDistortion2",
                "tangentalDistortion1",
                "tangentalDistortion2",
                "radialDistortion3",
            )
        ]
        orientation = np.array([[_number(path, transform, f"r{i}{j}") for j in (1, 2, 3)] for i in (1, 2, 3)])
        centre_m = np.array([_number(path, transform, axis) for axis in ("x", "y", "z")]) / 1000.0
        rotation = _DIAG @ orientation
        cameras.append(Camera.from_rotation_matrix(name, size, matrix, distortion, rotation, -rotation @ centre_m))
    return CameraRig(tuple(cameras), {"source": f"Qualisys {path.name}", "units": "m"})
