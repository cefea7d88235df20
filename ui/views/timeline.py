"""The timeline: play/pause, step, home/end buttons, a scrub slider and the frame/time readout.

Only forwards clicks to the :class:`~ui.controllers.playback.PlaybackController` and redraws
from its signals. Keyboard shortcuts (space, arrows, Home/End) are installed on the window by
:func:`install_shortcuts` so they work whichever widget has the focus.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from ui.controllers.playback import PlaybackController


class TimelineView(QtWidgets.QWidget):
    """Transport controls bound to a playback controller."""

    def __init__(self, playback: PlaybackController, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._playback = playback
        style = self.style()
        pixmap = QtWidgets.QStyle.StandardPixmap
        self.home_button = self._button(style.standardIcon(pixmap.SP_MediaSkipBackward), "first frame (Home)")
        self.back_button = self._button(style.standardIcon(pixmap.SP_MediaSeekBackward), "previous frame (Left)")
        self.play_button = self._button(style.standardIcon(pixmap.SP_MediaPlay), "play / pause (Space)")
        self.forward_button = self._button(style.standardIcon(pixmap.SP_MediaSeekForward), "next frame (Right)")
        self.end_button = self._button(style.standardIcon(pixmap.SP_MediaSkipForward), "last frame (End)")
        self._play_icon = style.standardIcon(pixmap.SP_MediaPlay)
        self._pause_icon = style.standardIcon(pixmap.SP_MediaPause)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setToolTip("scrub through the take")
        self.readout = QtWidgets.QLabel()
        self.readout.setMinimumWidth(190)
        self.readout.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)

        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        for button in (self.home_button, self.back_button, self.play_button, self.forward_button, self.end_button):
            row.addWidget(button)
        row.addWidget(self.slider, 1)
        row.addWidget(self.readout)

        self.home_button.clicked.connect(playback.home)
        self.back_button.clicked.connect(lambda: playback.step(-1))
        self.play_button.clicked.connect(playback.toggle)
        self.forward_button.clicked.connect(lambda: playback.step(1))
        self.end_button.clicked.connect(playback.end)
        self.slider.valueChanged.connect(self._slider_moved)
        playback.frame_changed.connect(self._on_frame)
        playback.state_changed.connect(self._on_state)
        self._on_state()

    def _button(self, icon: QtGui.QIcon, tip: str) -> QtWidgets.QToolButton:
        button = QtWidgets.QToolButton(self)
        button.setIcon(icon)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        return button

    def _slider_moved(self, value: int) -> None:
        if value != self._playback.frame:
            self._playback.seek(value)

    def _on_state(self) -> None:
        playback = self._playback
        usable = playback.num_frames > 1
        for widget in (self.home_button, self.back_button, self.play_button, self.forward_button, self.end_button):
            widget.setEnabled(usable)
        self.slider.setEnabled(usable)
        if not usable:
            self.setToolTip("no recorded take is loaded: pick a take in the session browser")
        else:
            self.setToolTip("")
        self.play_button.setIcon(self._pause_icon if playback.playing else self._play_icon)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, playback.num_frames - 1))
        self.slider.setValue(playback.frame)
        self.slider.blockSignals(False)
        self._on_frame(playback.frame)

    def _on_frame(self, frame: int) -> None:
        playback = self._playback
        if self.slider.value() != frame:
            self.slider.blockSignals(True)
            self.slider.setValue(frame)
            self.slider.blockSignals(False)
        if playback.num_frames:
            self.readout.setText(
                f"frame {frame + 1} / {playback.num_frames}   {frame / playback.fps:6.2f} s @ {playback.fps:g} fps"
            )
        else:
            self.readout.setText("no take")


def install_shortcuts(window: QtWidgets.QWidget, playback: PlaybackController) -> list[QtGui.QShortcut]:
    """Space, Left/Right (Shift: 10 frames), Home and End on ``window``, for ``playback``."""
    key = QtCore.Qt.Key
    bindings = [
        (QtGui.QKeySequence(key.Key_Space), playback.toggle),
        (QtGui.QKeySequence(key.Key_Left), lambda: playback.step(-1)),
        (QtGui.QKeySequence(key.Key_Right), lambda: playback.step(1)),
        (QtGui.QKeySequence("Shift+Left"), lambda: playback.step(-10)),
        (QtGui.QKeySequence("Shift+Right"), lambda: playback.step(10)),
        (QtGui.QKeySequence(key.Key_Home), playback.home),
        (QtGui.QKeySequence(key.Key_End), playback.end),
    ]
    shortcuts = []
    for sequence, slot in bindings:
        shortcut = QtGui.QShortcut(sequence, window)
        shortcut.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        shortcut.activated.connect(slot)
        shortcuts.append(shortcut)
    return shortcuts
