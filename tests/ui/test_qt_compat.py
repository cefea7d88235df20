"""The guard against PySide6 6.12.0's lost references (emit -> True, void calls -> None) keeps a long
session alive."""

from __future__ import annotations

import sys

import pytest
from PySide6 import QtCore

from ui.qt_compat import emit_leaks_true, guard_emit_refcount_bug, void_call_leaks_none

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


def test_many_painter_calls_do_not_exhaust_none():
    from PySide6 import QtGui

    guard_emit_refcount_bug()
    image = QtGui.QImage(8, 8, QtGui.QImage.Format.Format_RGB32)
    painter = QtGui.QPainter(image)
    pen = QtGui.QPen(QtGui.QColor(255, 0, 0), 2.0)
    for _ in range(100_000):  # more than None's references at start (tens of thousands)
        painter.setPen(pen)
    painter.end()
    assert sys.getrefcount(None) > 1000
    if void_call_leaks_none():
        assert guard_emit_refcount_bug()
