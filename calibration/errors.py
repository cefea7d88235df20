"""The error hierarchy of the studio.

Every error the library raises on purpose derives from :class:`MocapError` and from the builtin
that matches its meaning (``ValueError``, ``FileNotFoundError``, ...), so callers may catch either.
The message is one line that says what is wrong and, where possible, what to do; the CLI prints it
as is and the GUI shows it in a dialog.

This module lives in ``calibration`` (the lowest layer) so that both ``calibration`` and ``mocap``
raise the same types; ``mocap.errors`` re-exports it and adds the people-side errors.
"""

from __future__ import annotations

from pathlib import Path


class MocapError(Exception):
    """Base class of every error raised on purpose by the studio."""


class ShapeError(MocapError, ValueError):
    """An array has the wrong shape, dtype or contents.

    Args:
        name: the argument or field that is wrong, e.g. ``"xy"``.
        expected: what was expected, e.g. ``"(T, V, P, J, 2)"``.
        actual: what was given, e.g. ``"(10, 4, 17, 2)"``.
    """

    def __init__(self, name: str, expected: str, actual: str) -> None:
        self.name = name
        self.expected = expected
        self.actual = actual
        super().__init__(f"{name}: expected {expected}, got {actual}")


class FileFormatError(MocapError, ValueError):
    """A file could not be read because its content is malformed or a field is missing or wrong.

    Args:
        path: the file.
        field: the field inside the file (``"[cam_0].matrix"``), or ``""`` for the whole file.
        problem: what is wrong with it.
    """

    def __init__(self, path: str | Path, field: str, problem: str) -> None:
        self.path = Path(path)
        self.field = field
        self.problem = problem
        where = f"{self.path}: {field}" if field else f"{self.path}"
        super().__init__(f"{where}: {problem}")


class MissingFileError(MocapError, FileNotFoundError):
    """A file or folder the user named does not exist (message says which and what to do)."""


class CalibrationError(MocapError, RuntimeError):
    """Calibration could not produce a rig (e.g. a camera never sees the board)."""


class CancelledError(MocapError):
    """A long operation was cancelled by its caller."""
