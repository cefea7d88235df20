"""EasyMocap calibration: ``intri.yml`` and ``extri.yml`` (OpenCV FileStorage YAML).

``intri.yml`` lists ``names`` and per camera ``K_<name>`` (3x3) and ``dist_<name>`` (OpenCV
coefficients), optionally ``H_<name>``/``W_<name>`` (image size). ``extri.yml`` holds ``Rot_<name>``
(3x3 world to camera; or ``R_<name>``, a Rodrigues vector) and ``T_<name>`` (3x1, metres). The
files are read with ``cv2.FileStorage``, which parses OpenCV's YAML without executing anything.
EasyMocap files often lack the image size: give it with ``image_size`` then (the same for every camera).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from calibration.camera import Camera
from calibration.errors import FileFormatError, MissingFileError, MocapError
from calibration.rig import CameraRig
from calibration.rotations import rodrigues_to_matrix


def _open(path: Path) -> Any:
    import cv2

    try:
        storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    except cv2.error as exc:
        raise FileFormatError(path, "", f"not an OpenCV YAML file ({str(exc).strip().splitlines()[-1]})") from None
    if not storage.isOpened():
        raise FileFormatError(path, "", "cannot be opened as OpenCV YAML")
    return storage


def _matrix(storage: Any, path: Path, key: str, size: int | None) -> np.ndarray | None:
    node = storage.getNode(key)
    if node.empty():
        return None
    value = node.mat() if node.isMap() else np.array([node.real()])
    if value is None:
        raise FileFormatError(path, key, "expected an opencv-matrix")
    value = np.asarray(value, dtype=np.float64).ravel()
    if size is not None and value.size != size:
        raise FileFormatError(path, key, f"expected {size} numbers, got {value.size}")
    return value


def load_easymocap(path: str | Path, image_size: tuple[int, int] | None = None) -> CameraRig:
    """Read EasyMocap ``intri.yml`` and ``extri.yml`` (see the module docstring).

    Args:
        path: the folder holding both files, or one of them (the other beside it).
        image_size: ``(width, height)`` for cameras whose size the file does not give.

    Raises:
        MissingFileError: one of the two files is absent.
        FileFormatError: a missing or malformed entry (named), or no image size.
    """
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    intri_path, extri_path = folder / "intri.yml", folder / "extri.yml"
    for needed in (intri_path, extri_path):
        if not needed.is_file():
            raise MissingFileError(f"{needed}: missing; EasyMocap calibrations are intri.yml plus extri.yml")
    intri, extri = _open(intri_path), _open(extri_path)
    names_node = intri.getNode("names")
    if names_node.empty() or not names_node.isSeq():
        raise FileFormatError(intri_path, "names", "expected a list of camera names")
    names = [names_node.at(i).string() or str(int(names_node.at(i).real())) for i in range(names_node.size())]
    cameras = []
    for name in names:
        matrix = _matrix(intri, intri_path, f"K_{name}", 9)
        if matrix is None:
            raise FileFormatError(intri_path, f"K_{name}", "missing")
        distortion = _matrix(intri, intri_path, f"dist_{name}", None)
        rot = _matrix(extri, extri_path, f"Rot_{name}", 9)
        rvec = _matrix(extri, extri_path, f"R_{name}", 3)
        translation = _matrix(extri, extri_path, f"T_{name}", 3)
        if translation is None:
            raise FileFormatError(extri_path, f"T_{name}", "missing")
        if rot is not None:
            rotation = rot.reshape(3, 3)
        elif rvec is not None:
            rotation = rodrigues_to_matrix(rvec)
        else:
            raise FileFormatError(extri_path, f"Rot_{name}", "missing (and no R_ Rodrigues vector)")
        height = _matrix(intri, intri_path, f"H_{name}", 1)
        width = _matrix(intri, intri_path, f"W_{name}", 1)
        if height is not None and width is not None:
            size = (int(width[0]), int(height[0]))
        elif image_size is not None:
            size = (int(image_size[0]), int(image_size[1]))
        else:
            raise FileFormatError(
                intri_path, f"H_{name}", "no image size in the file; give it (e.g. --image-size 1920x1080)"
            )
        try:
            cameras.append(
                Camera.from_rotation_matrix(
                    name,
                    size,
                    matrix.reshape(3, 3),
                    np.zeros(0) if distortion is None else distortion,
                    rotation,
                    translation,
                )
            )
        except MocapError as exc:
            raise FileFormatError(intri_path, name, str(exc)) from None
    intri.release()
    extri.release()
    if not cameras:
        raise FileFormatError(intri_path, "names", "lists no cameras")
    return CameraRig(tuple(cameras), {"source": f"easymocap {folder.name}", "units": "m"})
