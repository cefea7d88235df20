"""The guard against PySide6 6.12.0's lost reference on every emit keeps a long session alive."""

from __future__ import annotations

import sys

import pytest
from PySide6 import QtCore

from ui.qt_compat import emit_leaks_true, guard_emit_refcount_bug

pytestmark = pytest.mark.gui


class Emitter(QtCore.QObject):
    value = QtCore.Signal(int)


def test_many_emissions_do_not_exhaust_true():
    guard_emit_refcount_bug()  # applied when the installed PySide6 has the bug
    emitter = Emitter()
    seen = []
    emitter.value.connect(seen.append)
    for i in range(50_000):  # far more than the few thousand references True starts with
        emitter.value.emit(i)
    assert len(seen) == 50_000
    assert sys.getrefcount(True) > 1000
    if emit_leaks_true():
        assert guard_emit_refcount_bug()  # the bug is there: the guard must be on
