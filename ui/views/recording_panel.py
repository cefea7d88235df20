"""The recording panel: the source, Record/Stop, and the status line (elapsed time, frame sets,
free disk space). Bound to a :class:`~ui.controllers.recording.RecordingController`."""

from __future__ import annotations

from PySide6 import QtWidgets

from ui.controllers.recording import RecordingController
from ui.recording import SYNTHETIC

_SOURCE_NAMES = {SYNTHETIC: "synthetic studio (rendered, 4 cameras)"}


class RecordingPanel(QtWidgets.QGroupBox):
    """Draws the controller's state and forwards clicks."""

    def __init__(self, controller: RecordingController, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Recording", parent)
        self._controller = controller
        self.source = QtWidgets.QComboBox()
        self.source.setToolTip("cameras found as /dev/video* are listed; else the synthetic studio records")
        self.record_button = QtWidgets.QPushButton("● Record")
        self.record_button.setCheckable(True)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.source, 1)
        row.addWidget(self.record_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self.record_button.clicked.connect(lambda _checked: controller.toggle())
        self.source.currentIndexChanged.connect(self._source_picked)
        controller.available_changed.connect(self.show_available)
        controller.sources_changed.connect(self.show_sources)
        controller.running_changed.connect(self.show_running)
        controller.status_changed.connect(self.status.setText)
        self.show_sources(controller.sources)
        self.show_available(controller.available, "open or create a session first")

    def show_sources(self, sources: list[str]) -> None:
        self.source.blockSignals(True)
        self.source.clear()
        for spec in sources:
            self.source.addItem(_SOURCE_NAMES.get(spec, spec), spec)
        self.source.setCurrentIndex(max(0, self.source.findData(self._controller.source)))
        self.source.blockSignals(False)

    def _source_picked(self, index: int) -> None:
        if index >= 0:
            self._controller.set_source(str(self.source.itemData(index)))

    def show_available(self, ok: bool, why: str) -> None:
        running = self._controller.running
        self.record_button.setEnabled(ok or running)
        self.record_button.setToolTip("end the take" if running else why)

    def show_running(self, running: bool) -> None:
        self.record_button.setChecked(running)
        self.record_button.setText("■ Stop" if running else "● Record")
        self.record_button.setEnabled(running or self._controller.available)
        self.source.setEnabled(not running)
