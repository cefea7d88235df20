"""Which source the camera grid and the 3D view show: the live studio, a reviewed take or a
calibration result.

Sources present their :class:`~ui.scene.Stage` and :class:`~ui.scene.SceneFrame` here under
their name; only the active source's data reach the views (the others' are kept, so switching
back shows their last state at once). Views subscribe to ``stage_changed`` and
``frame_changed`` and nothing else.
"""

from __future__ import annotations

from PySide6 import QtCore

from ui.scene import SceneFrame, Stage

LIVE = "live"
REVIEW = "review"
CALIBRATION = "calibration"


class DisplayController(QtCore.QObject):
    """Routes the active source's stage and frames to the views.

    Signals:
        source_changed(str): another source became active.
        stage_changed(Stage): the active source's stage (also sent on activation).
        frame_changed(SceneFrame): the active source's newest frame.
    """

    source_changed = QtCore.Signal(str)
    stage_changed = QtCore.Signal(object)
    frame_changed = QtCore.Signal(object)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._active = ""
        self._stages: dict[str, Stage] = {}
        self._frames: dict[str, SceneFrame] = {}
        self.frames_presented = 0

    @property
    def active(self) -> str:
        return self._active

    def stage(self, source: str | None = None) -> Stage | None:
        return self._stages.get(source or self._active)

    def frame(self, source: str | None = None) -> SceneFrame | None:
        return self._frames.get(source or self._active)

    def activate(self, source: str) -> None:
        """Make ``source`` the one shown; re-sends its stage and last frame."""
        if source == self._active:
            return
        self._active = source
        self.source_changed.emit(source)
        stage = self._stages.get(source)
        if stage is not None:
            self.stage_changed.emit(stage)
        frame = self._frames.get(source)
        if frame is not None:
            self.frame_changed.emit(frame)

    def present_stage(self, source: str, stage: Stage) -> None:
        self._stages[source] = stage
        self._frames.pop(source, None)
        if source == self._active:
            self.stage_changed.emit(stage)

    def present_frame(self, source: str, frame: SceneFrame) -> None:
        self._frames[source] = frame
        if source == self._active:
            self.frames_presented += 1
            self.frame_changed.emit(frame)
