"""PlaybackController + TimelineView: commands change the state, the view follows; shortcuts."""

from __future__ import annotations

import pytest
from PySide6 import QtCore, QtWidgets

from ui.controllers.playback import PlaybackController
from ui.views.timeline import TimelineView, install_shortcuts

pytestmark = pytest.mark.gui


@pytest.fixture
def timeline(qtbot):
    playback = PlaybackController()
    window = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(window)
    view = TimelineView(playback)
    layout.addWidget(view)
    install_shortcuts(window, playback)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return playback, view, window


def test_empty_timeline_is_disabled_with_a_reason(timeline):
    _playback, view, _ = timeline
    assert not view.play_button.isEnabled()
    assert "no recorded take" in view.toolTip()
    assert view.readout.text() == "no take"


def test_range_step_seek_and_view_follow(timeline):
    playback, view, _ = timeline
    playback.set_range(100, 25.0)
    assert view.play_button.isEnabled()
    assert view.slider.maximum() == 99
    playback.step(5)
    assert playback.frame == 5 and view.slider.value() == 5
    assert view.readout.text().startswith("frame 6 / 100")
    playback.seek(1000)
    assert playback.frame == 99
    playback.step(-200)
    assert playback.frame == 0
    view.slider.setValue(42)  # scrubbing forwards to the controller
    assert playback.frame == 42
    view.end_button.click()
    assert playback.frame == 99
    view.home_button.click()
    assert playback.frame == 0


def test_keyboard_shortcuts(qtbot, timeline):
    playback, _view, window = timeline
    playback.set_range(50, 30.0)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)  # shortcuts fire in the active window
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right)
    assert playback.frame == 1
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right, QtCore.Qt.KeyboardModifier.ShiftModifier)
    assert playback.frame == 11
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Left)
    assert playback.frame == 10
    qtbot.keyClick(window, QtCore.Qt.Key.Key_End)
    assert playback.frame == 49
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Home)
    assert playback.frame == 0
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert playback.playing
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert not playback.playing


def test_play_advances_in_real_time_and_stops_at_the_end(qtbot, timeline):
    playback, view, _ = timeline
    playback.set_range(12, 100.0)  # 0.12 s of take
    frames = []
    playback.frame_changed.connect(frames.append)
    view.play_button.click()
    assert playback.playing
    qtbot.waitUntil(lambda: not playback.playing, timeout=5000)
    assert playback.frame == 11
    assert frames == sorted(frames) and frames[-1] == 11  # forward only, frames may be skipped
    view.play_button.click()  # at the end, play starts again from the first frame
    assert playback.playing and playback.frame < 11
    playback.pause()
