"""A guard against reference-count bugs of PySide6 6.12.0 on Python < 3.12.

Measured here (PySide6-Essentials 6.12.0, CPython 3.11): every ``SignalInstance.emit()`` called
from Python returns ``True`` without owning a reference, so each emission takes one reference
from the ``True`` singleton; and void methods such as ``QPainter.setPen``, ``setFont`` and
``setRenderHint`` return ``None`` the same way (about one reference per call: the camera tiles
and pyqtgraph's 3D text labels make thousands of such calls a minute). When a singleton's count
reaches zero CPython aborts (``Fatal Python error: bool_dealloc`` / ``none_dealloc``) — the live
view died after a few minutes. 6.11.3 does not do this. The real fix is a PySide6 without the
bug: pyproject.toml excludes 6.12.0 (the GUI tests pass on 6.11.3). For an environment that
has 6.12.0 anyway, :func:`guard_emit_refcount_bug` detects each leak with a few probe calls and,
only when it is present, gives the singleton a reserve of 2**40 references, which no session can
use up. On CPython 3.12+ the singletons are immortal and
nothing is done.
"""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6 import QtCore

log = logging.getLogger(__name__)

_RESERVE = 1 << 40
_guarded = False


class _Probe(QtCore.QObject):
    ping = QtCore.Signal()


def emit_leaks_true() -> bool:
    """True when a Python-side ``emit()`` loses a reference to ``True`` (the 6.12.0 bug)."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    return sys.getrefcount(True) < before


def void_call_leaks_none() -> bool:
    """True when a void Qt method called from Python loses a reference to ``None`` (6.12.0)."""
    from PySide6 import QtGui

    image = QtGui.QImage(4, 4, QtGui.QImage.Format.Format_RGB32)
    painter = QtGui.QPainter(image)
    try:
        before = sys.getrefcount(None)
        for _ in range(8):
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        return sys.getrefcount(None) < before
    finally:
        painter.end()


def guard_emit_refcount_bug() -> bool:
    """Apply the guard of the module docstring if needed; returns whether it was applied."""
    global _guarded
    if _guarded:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython" or hasattr(sys, "gettotalrefcount"):
        return False  # immortal singletons, or an object layout we do not write into
    leaking: list[object] = []
    if emit_leaks_true():
        leaking += [True, False]
    if void_call_leaks_none():
        leaking.append(None)
    if not leaking:
        return False
    for singleton in leaking:
        # ob_refcnt is the first field of every object in a release build of CPython < 3.12
        ctypes.c_ssize_t.from_address(id(singleton)).value += _RESERVE
    _guarded = True
    log.warning(
        "PySide6 %s loses references to %s on Qt calls; guarded (use another PySide6 version)",
        getattr(__import__("PySide6"), "__version__", "?"),
        " and ".join(sorted({"True" if v is True or v is False else "None" for v in leaking})),
    )
    return True
