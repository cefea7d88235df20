"""A guard against a reference-count bug of PySide6 6.12.0 on Python < 3.12.

Measured here (PySide6-Essentials 6.12.0, CPython 3.11): every ``SignalInstance.emit()`` called
from Python returns ``True`` without owning a reference, so each emission takes one reference
from the ``True`` singleton. After a few thousand emissions (ours and pyqtgraph's: a plot emits
on every range change) CPython aborts with ``Fatal Python error: bool_dealloc``. 6.11.3 does
not do this. The real fix is a PySide6 without the bug (the project should exclude 6.12.0);
until then :func:`guard_emit_refcount_bug` detects the bug with one probe emission and, only
when it is present, gives ``True`` and ``False`` a reserve of 2**40 references, which no session
can use up. On CPython 3.12+ the singletons are immortal and nothing is done.
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


def guard_emit_refcount_bug() -> bool:
    """Apply the guard of the module docstring if needed; returns whether it was applied."""
    global _guarded
    if _guarded:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython" or hasattr(sys, "gettotalrefcount"):
        return False  # immortal singletons, or an object layout we do not write into
    if not emit_leaks_true():
        return False
    for singleton in (True, False):
        # ob_refcnt is the first field of every object in a release build of CPython < 3.12
        ctypes.c_ssize_t.from_address(id(singleton)).value += _RESERVE
    _guarded = True
    log.warning(
        "PySide6 %s loses a reference to True on every signal emission; guarded (use another PySide6 version)",
        getattr(__import__("PySide6"), "__version__", "?"),
    )
    return True
