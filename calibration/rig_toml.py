"""Rig files: TOML in the anipose/aniposelib layout plus a ``[metadata]`` table.

Layout (one table per camera, in rig order)::

    [cam_0]
    name = "cam_01"
    size = [1920, 1080]                  # width, height in pixels
    matrix = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]
    distortions = [k1, k2, p1, p2, k3]   # 4, 5, 8 or 12 OpenCV coefficients
    rotation = [rx, ry, rz]              # camera_from_world, Rodrigues vector (radians)
    translation = [tx, ty, tz]           # camera_from_world, metres

    [metadata]
    schema_version = 1
    units = "m"
    world_frame = "z-up"
    ...                                  # board, per-camera errors, anything TOML can hold

Reading keeps the order of the tables in the file (aniposelib sorts table keys instead, so our
writer zero-pads the keys, ``cam_00 .. cam_11``, to make both orders agree). Reading also accepts a
3x3 ``rotation`` matrix, sizes written as floats (Pose2Sim) and ``fisheye = false``. Every problem
is reported as a one-line :class:`~calibration.errors.FileFormatError` naming the file and the
field; writing is atomic.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from calibration.camera import Camera
from calibration.conventions import SCHEMA_VERSION, WORLD_UNITS
from calibration.errors import FileFormatError, MissingFileError, ShapeError
from calibration.files import write_text_atomic
from calibration.rig import CameraRig
from calibration.rotations import is_rotation, matrix_to_rodrigues

log = logging.getLogger(__name__)

_CAMERA_KEYS = {"name", "size", "matrix", "distortions", "rotation", "translation", "fisheye"}


def _numbers(path: Path, field: str, value: Any, shape: tuple[int, ...] | None) -> np.ndarray:
    """A float64 array from a TOML value, or a FileFormatError naming ``field``."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise FileFormatError(path, field, f"expected numbers, got {value!r}") from None
    if shape is not None and array.shape != shape:
        want = "x".join(map(str, shape)) if len(shape) > 1 else f"{shape[0]} numbers"
        got = "x".join(map(str, array.shape)) if array.ndim > 1 else f"{array.size} numbers"
        raise FileFormatError(path, field, f"expected {want}, got {got}")
    if not np.all(np.isfinite(array)):
        raise FileFormatError(path, field, "contains NaN or infinity")
    return array


def _camera_from_table(path: Path, key: str, table: Mapping[str, Any]) -> Camera:
    where = f"[{key}]"
    for required in ("size", "matrix", "distortions", "rotation", "translation"):
        if required not in table:
            raise FileFormatError(path, f"{where}.{required}", "missing")
    unknown = sorted(set(table) - _CAMERA_KEYS)
    if unknown:
        log.warning("%s: %s: ignoring unknown fields %s", path, where, ", ".join(unknown))
    if table.get("fisheye", False):
        raise FileFormatError(path, f"{where}.fisheye", "the fisheye lens model is not supported")
    name = table.get("name", key)
    if not isinstance(name, str) or not name.strip():
        raise FileFormatError(path, f"{where}.name", f"expected a non-empty string, got {name!r}")
    size = _numbers(path, f"{where}.size", table["size"], (2,))
    if np.any(size != np.round(size)) or np.any(size <= 0):
        raise FileFormatError(path, f"{where}.size", f"expected two positive whole numbers, got {table['size']!r}")
    matrix = _numbers(path, f"{where}.matrix", table["matrix"], (3, 3))
    distortion = _numbers(path, f"{where}.distortions", table["distortions"], None).ravel()
    rotation = _numbers(path, f"{where}.rotation", table["rotation"], None)
    if rotation.shape == (3, 3):
        if not is_rotation(rotation):
            raise FileFormatError(path, f"{where}.rotation", "3x3 matrix is not a rotation (orthonormal, det +1)")
        rvec = matrix_to_rodrigues(rotation)
    elif rotation.shape == (3,):
        rvec = rotation
    else:
        raise FileFormatError(
            path,
            f"{where}.rotation",
            f"expected a Rodrigues vector (3 numbers) or a 3x3 matrix, got shape {rotation.shape}",
        )
    translation = _numbers(path, f"{where}.translation", table["translation"], (3,))
    try:
        return Camera(name, (int(size[0]), int(size[1])), matrix, distortion, rvec, translation)
    except ShapeError as exc:
        raise FileFormatError(path, f"{where}.{exc.name}", f"expected {exc.expected}, got {exc.actual}") from None


def rig_from_toml(text: str, path: str | Path = "<string>") -> CameraRig:
    """Parse rig TOML text; ``path`` is used in error messages only.

    Raises:
        FileFormatError: malformed TOML, no cameras, a missing or invalid field.
    """
    path = Path(path)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FileFormatError(path, "", f"not valid TOML ({exc})") from None
    metadata = document.get("metadata", {})
    if not isinstance(metadata, dict):
        raise FileFormatError(path, "metadata", "expected a table")
    version = metadata.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise FileFormatError(
            path,
            "metadata.schema_version",
            f"{version!r} is newer than this program reads ({SCHEMA_VERSION}); update it",
        )
    units = metadata.get("units", WORLD_UNITS)
    if units != WORLD_UNITS:
        raise FileFormatError(path, "metadata.units", f"translations must be in metres ('m'), got {units!r}")
    cameras = []
    for key, table in document.items():
        if key == "metadata":
            continue
        if not isinstance(table, dict):
            raise FileFormatError(path, key, "expected a camera table like [cam_0], got a plain value")
        cameras.append(_camera_from_table(path, key, table))
    if not cameras:
        raise FileFormatError(path, "", "no camera tables ([cam_0], [cam_1], ...) found")
    names = [c.name for c in cameras]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise FileFormatError(path, "name", f"camera names repeat: {', '.join(repeated)}")
    return CameraRig(tuple(cameras), metadata)


def load_rig(path: str | Path) -> CameraRig:
    """Read a rig file.

    Raises:
        MissingFileError: the file does not exist.
        FileFormatError: see :func:`rig_from_toml`.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such rig file; calibrate first (mocap calibrate) or check the path")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(path, "", f"cannot be read as UTF-8 text ({exc})") from None
    return rig_from_toml(text, path)


def _toml_safe(value: Any) -> Any:
    """Metadata values as TOML can hold them (numpy scalars/arrays to Python, no None)."""
    if isinstance(value, Mapping):
        return {str(k): _toml_safe(v) for k, v in value.items() if v is not None}
    if isinstance(value, np.ndarray):
        return _toml_safe(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_toml_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _inline(value: Any) -> str:
    """One-line TOML for the numbers and number lists of a camera table (floats exact via repr)."""
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return str(int(value))


def rig_to_toml(rig: CameraRig) -> str:
    """Serialise a rig to TOML text (see the module docstring for the layout).

    Camera tables are written one field per line with inline arrays, floats in shortest
    round-trip form, so reading the text back gives bit-identical cameras.
    """
    width = len(str(len(rig) - 1))
    lines: list[str] = []
    for i, cam in enumerate(rig.cameras):
        lines += [
            f"[cam_{i:0{width}d}]",
            tomli_w.dumps({"name": cam.name}).strip(),
            f"size = {_inline(list(cam.image_size))}",
            f"matrix = {_inline(cam.matrix.tolist())}",
            f"distortions = {_inline(cam.distortion.tolist())}",
            f"rotation = {_inline(cam.rvec.tolist())}",
            f"translation = {_inline(cam.translation.tolist())}",
            "",
        ]
    metadata: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "units": WORLD_UNITS, "world_frame": "z-up"}
    metadata.update(_toml_safe(dict(rig.metadata)))
    return "\n".join(lines) + tomli_w.dumps({"metadata": metadata})


def save_rig(rig: CameraRig, path: str | Path) -> Path:
    """Write ``rig`` to ``path`` atomically (nothing is left half-written on failure)."""
    return write_text_atomic(path, rig_to_toml(rig))
