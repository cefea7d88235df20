"""Rigs from other tools' calibration files: one reader per format, all returning a :class:`CameraRig`.

Formats (``FORMATS``): ``anipose`` (anipose/aniposelib and Pose2Sim TOML; also written by
:func:`calibration.rig_toml.save_rig`), ``qualisys`` (Qualisys ``.qca.txt`` XML), ``panoptic``
(CMU Panoptic ``calibration_*.json``), ``easymocap`` (EasyMocap ``intri.yml`` + ``extri.yml``) and
``caliscope`` (caliscope ``camera_array.toml``, named explicitly: its suffix is ``.toml`` too).
Every reader raises :class:`~calibration.errors.MissingFileError` or
:class:`~calibration.errors.FileFormatError` with one line naming the file and the field.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from calibration.errors import FileFormatError, MissingFileError
from calibration.rig import CameraRig

FORMATS = ("anipose", "qualisys", "panoptic", "easymocap", "caliscope")


def _reader(fmt: str) -> Callable[[Path], CameraRig]:
    if fmt == "anipose":
        from calibration.rig_toml import load_rig

        return load_rig
    if fmt == "qualisys":
        from calibration.importers.qualisys import load_qualisys

        return load_qualisys
    if fmt == "panoptic":
        from calibration.importers.panoptic import load_panoptic

        return load_panoptic
    if fmt == "easymocap":
        from calibration.importers.easymocap import load_easymocap

        return load_easymocap
    if fmt == "caliscope":
        from calibration.importers.caliscope import load_caliscope

        return load_caliscope
    raise ValueError(f"unknown calibration format {fmt!r}; use one of {', '.join(FORMATS)}")


def guess_format(path: str | Path) -> str:
    """The format a file name suggests (``.toml`` anipose, ``.qca.txt``/``.xml`` qualisys, ``.json``
    panoptic, ``.yml``/``.yaml`` or a folder easymocap).

    Raises:
        FileFormatError: the name suggests none of them.
    """
    path = Path(path)
    name = path.name.lower()
    if path.is_dir() or name.endswith((".yml", ".yaml")):
        return "easymocap"
    if name.endswith(".toml"):
        return "anipose"
    if name.endswith((".qca.txt", ".qca", ".xml")):
        return "qualisys"
    if name.endswith(".json"):
        return "panoptic"
    raise FileFormatError(
        path, "", f"cannot tell the calibration format from the name; give one of {', '.join(FORMATS)}"
    )


def import_rig(path: str | Path, fmt: str | None = None) -> CameraRig:
    """Read a calibration file of ``fmt`` (guessed from the name when None) as a rig.

    Raises:
        MissingFileError: no such file.
        FileFormatError: malformed content, or an unknown format.
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"{path}: no such calibration file")
    fmt = fmt or guess_format(path)
    if fmt not in FORMATS:
        raise FileFormatError(path, "", f"unknown calibration format {fmt!r}; use one of {', '.join(FORMATS)}")
    return _reader(fmt)(path)
