"""CMU Panoptic Studio calibration JSON (``calibration_<sequence>.json``).

Each entry of ``cameras`` has ``name``, ``type`` (``vga``, ``hd``, ``kinect-color``), ``resolution``
``[width, height]``, ``K`` (3x3), ``distCoef`` (OpenCV k1, k2, p1, p2, k3), ``R`` (3x3 world to
camera) and ``t`` (3x1, **centimetres**). Panoptic's world is Y-down; the rig keeps its axes (a
rig file states poses, it does not re-orient worlds) and converts lengths to metres.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from calibration.camera import Camera
from calibration.errors import FileFormatError, MocapError
from calibration.rig import CameraRig


def _array(path: Path, where: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    try:
        out = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise FileFormatError(path, where, f"expected numbers of shape {shape}") from None
    if out.size != int(np.prod(shape)):
        raise FileFormatError(path, where, f"expected {int(np.prod(shape))} numbers, got {out.size}")
    return out.reshape(shape)


def load_panoptic(path: str | Path, types: Sequence[str] | None = None) -> CameraRig:
    """Read a Panoptic calibration JSON (see the module docstring).

    Args:
        path: the JSON file.
        types: keep only cameras of these types (e.g. ``("hd",)``); None keeps every camera.

    Raises:
        FileFormatError: not JSON, no ``cameras`` list, or a bad entry (named).
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise FileFormatError(path, "", f"not a Panoptic calibration JSON ({exc})") from None
    entries = document.get("cameras") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise FileFormatError(path, "cameras", "expected a non-empty list of cameras")
    cameras = []
    for index, entry in enumerate(entries):
        where = f"cameras[{index}]"
        if not isinstance(entry, dict):
            raise FileFormatError(path, where, "expected an object")
        if types is not None and entry.get("type") not in types:
            continue
        try:
            name = str(entry["name"])
            size = _array(path, f"{where}.resolution", entry["resolution"], (2,))
            matrix = _array(path, f"{where}.K", entry["K"], (3, 3))
            distortion = np.ravel(np.asarray(entry.get("distCoef", []), dtype=np.float64))
            rotation = _array(path, f"{where}.R", entry["R"], (3, 3))
            translation = _array(path, f"{where}.t", entry["t"], (3,)) / 100.0  # centimetres -> metres
        except KeyError as exc:
            raise FileFormatError(path, f"{where}.{exc.args[0]}", "missing") from None
        except (TypeError, ValueError) as exc:
            raise FileFormatError(path, where, f"bad value ({exc})") from None
        try:
            cameras.append(
                Camera.from_rotation_matrix(
                    name, (int(size[0]), int(size[1])), matrix, distortion, rotation, translation
                )
            )
        except MocapError as exc:
            raise FileFormatError(path, f"{where} ({name})", str(exc)) from None
    if not cameras:
        raise FileFormatError(path, "cameras", f"no camera of type {', '.join(types or [])}")
    return CameraRig(tuple(cameras), {"source": f"panoptic {path.name}", "units": "m"})
