"""caliscope ``camera_array.toml``: ``[cameras.<id>]`` tables with ``size``, ``matrix``, ``distortions``
(k1, k2, p1, p2, k3), ``rotation`` (3x3 world to camera, or a Rodrigues vector) and ``translation``
(metres). Cameras are named ``cam_<id>`` (the names of caliscope's videos), in file order; tables
with ``ignore = true`` are skipped."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np

from calibration.camera import Camera
from calibration.errors import FileFormatError, MocapError
from calibration.rig import CameraRig
from calibration.rotations import rodrigues_to_matrix


def load_caliscope(path: str | Path) -> CameraRig:
    """Read a caliscope ``camera_array.toml`` (see the module docstring).

    Raises:
        FileFormatError: not TOML, no ``[cameras]`` table, or a bad entry (named).
    """
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise FileFormatError(path, "", f"not valid TOML ({exc})") from None
    tables = document.get("cameras")
    if not isinstance(tables, dict) or not tables:
        raise FileFormatError(path, "cameras", "expected [cameras.<id>] tables")
    cameras = []
    for key, table in tables.items():
        where = f"cameras.{key}"
        if not isinstance(table, dict) or table.get("ignore", False):
            continue
        try:
            size = (int(table["size"][0]), int(table["size"][1]))
            rotation = np.asarray(table["rotation"], dtype=np.float64)
            if rotation.shape == (3,):
                rotation = rodrigues_to_matrix(rotation)
            cameras.append(
                Camera.from_rotation_matrix(
                    f"cam_{key}",
                    size,
                    np.asarray(table["matrix"], dtype=np.float64),
                    np.asarray(table.get("distortions", []), dtype=np.float64),
                    rotation,
                    np.asarray(table["translation"], dtype=np.float64),
                )
            )
        except KeyError as exc:
            raise FileFormatError(path, f"{where}.{exc.args[0]}", "missing") from None
        except (TypeError, ValueError, IndexError, MocapError) as exc:
            raise FileFormatError(path, where, f"bad value ({exc})") from None
    if not cameras:
        raise FileFormatError(path, "cameras", "no usable camera")
    return CameraRig(tuple(cameras), {"source": f"caliscope {path.name}", "units": "m"})
