"""Errors of the people side of the studio; re-exports the shared hierarchy.

Every error derives from :class:`MocapError` and a matching builtin; see
:mod:`calibration.errors` for the rules (one line, what is wrong and what to do).
"""

from __future__ import annotations

from calibration.errors import (
    CalibrationError,
    CancelledError,
    FileFormatError,
    MissingFileError,
    MocapError,
    ShapeError,
)
from calibration.files import OutputPathError


class LayoutError(MocapError, KeyError):
    """An unknown keypoint layout or joint name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class MismatchError(MocapError, ValueError):
    """Two inputs that must agree do not (camera names of detections vs rig, frame counts, ...)."""


class ExportError(MocapError, ValueError):
    """Data cannot be exported in the requested form (e.g. an all-NaN person)."""


__all__ = [
    "CalibrationError",
    "CancelledError",
    "ExportError",
    "FileFormatError",
    "LayoutError",
    "MismatchError",
    "MissingFileError",
    "MocapError",
    "OutputPathError",
    "ShapeError",
]
