"""One colour per person id, the same in the camera tiles, the 3D view and the plots.

Ten well-separated hues (the Tableau-10 palette) cycle over the ids; detections that belong to no
one (id -1: unassociated, ghosts) are drawn grey.
"""

from __future__ import annotations

from PySide6 import QtGui

_PALETTE: tuple[tuple[int, int, int], ...] = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (188, 189, 34),
    (23, 190, 207),
    (127, 127, 127),
)
#: Colour of detections assigned to no person.
NOBODY_RGB = (170, 170, 170)


def person_rgb(person_id: int) -> tuple[int, int, int]:
    """(r, g, b) 0..255 of ``person_id``; grey for a negative id."""
    if person_id < 0:
        return NOBODY_RGB
    return _PALETTE[person_id % len(_PALETTE)]


def person_rgbf(person_id: int, alpha: float = 1.0) -> tuple[float, float, float, float]:
    """(r, g, b, a) 0..1 of ``person_id``, for OpenGL items."""
    r, g, b = person_rgb(person_id)
    return r / 255.0, g / 255.0, b / 255.0, alpha


def person_qcolor(person_id: int, alpha: int = 255) -> QtGui.QColor:
    """QColor of ``person_id``."""
    r, g, b = person_rgb(person_id)
    return QtGui.QColor(r, g, b, alpha)
