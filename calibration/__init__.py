"""Cameras: camera models and projection, rig files, calibration targets, calibration, floor.

No Qt and no knowledge of people. See :mod:`calibration.conventions` for frames and units.
"""

from calibration.camera import Camera
from calibration.errors import (
    CalibrationError,
    CancelledError,
    FileFormatError,
    MissingFileError,
    MocapError,
    ShapeError,
)
from calibration.rig import CameraRig, UnknownCameraError
from calibration.rig_toml import load_rig, rig_from_toml, rig_to_toml, save_rig

__all__ = [
    "CalibrationError",
    "Camera",
    "CameraRig",
    "CancelledError",
    "FileFormatError",
    "MissingFileError",
    "MocapError",
    "ShapeError",
    "UnknownCameraError",
    "load_rig",
    "rig_from_toml",
    "rig_to_toml",
    "save_rig",
]
