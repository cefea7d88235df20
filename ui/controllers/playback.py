"""Playback state of a recorded source: current frame, range, play/pause, stepping, scrubbing.

Playing keeps real time: on every tick the frame is the one due ``(now - started) * fps`` frames
after the frame playing started from, so a slow paint skips frames instead of slowing the clock.
At the end it stops (or wraps around when ``loop`` is on).
"""

from __future__ import annotations

import time

from PySide6 import QtCore


class PlaybackController(QtCore.QObject):
    """Owns the frame index of the reviewed take.

    Signals:
        frame_changed(int): the current frame changed.
        state_changed(): range, rate or playing state changed.
    """

    frame_changed = QtCore.Signal(int)
    state_changed = QtCore.Signal()

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._frame = 0
        self._num_frames = 0
        self._fps = 30.0
        self._playing = False
        self.loop = False
        self._origin_frame = 0
        self._origin_time = 0.0
        self._timer = QtCore.QTimer(self)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    # ------------------------------------------------------------------ state

    @property
    def frame(self) -> int:
        return self._frame

    @property
    def num_frames(self) -> int:
        return self._num_frames

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def time_s(self) -> float:
        """Time of the current frame from the start of the take, seconds."""
        return self._frame / self._fps

    def set_range(self, num_frames: int, fps: float) -> None:
        """A new source: ``num_frames`` frames at ``fps``; goes to frame 0 and pauses."""
        self.pause()
        self._num_frames = max(0, int(num_frames))
        self._fps = float(fps) if fps > 0 else 30.0
        self._frame = 0
        self.state_changed.emit()
        self.frame_changed.emit(0)

    # ------------------------------------------------------------------ commands

    def play(self) -> None:
        if self._num_frames <= 1 or self._playing:
            return
        if self._frame >= self._num_frames - 1 and not self.loop:
            self._set_frame(0)
        self._playing = True
        self._origin_frame = self._frame
        self._origin_time = time.monotonic()
        self._timer.start(max(5, int(500 / self._fps)))  # twice per frame period: no frame is late by more than half
        self.state_changed.emit()

    def pause(self) -> None:
        if not self._playing:
            return
        self._playing = False
        self._timer.stop()
        self.state_changed.emit()

    def toggle(self) -> None:
        """Play when paused, pause when playing (the space bar)."""
        self.pause() if self._playing else self.play()

    def step(self, frames: int) -> None:
        """Pause and move by ``frames`` (clamped to the range)."""
        self.pause()
        self.seek(self._frame + frames)

    def seek(self, frame: int) -> None:
        """Go to ``frame`` (clamped); playing continues from there."""
        self._set_frame(frame)
        if self._playing:
            self._origin_frame = self._frame
            self._origin_time = time.monotonic()

    def home(self) -> None:
        self.seek(0)

    def end(self) -> None:
        self.seek(self._num_frames - 1)

    # ------------------------------------------------------------------ internals

    def _set_frame(self, frame: int) -> None:
        frame = min(max(0, int(frame)), max(0, self._num_frames - 1))
        if frame != self._frame:
            self._frame = frame
            self.frame_changed.emit(frame)

    def _tick(self) -> None:
        elapsed = time.monotonic() - self._origin_time
        due = self._origin_frame + int(elapsed * self._fps)
        if due >= self._num_frames:
            if self.loop:
                self._origin_frame, self._origin_time = 0, time.monotonic()
                due = 0
            else:
                self._set_frame(self._num_frames - 1)
                self.pause()
                return
        self._set_frame(due)
