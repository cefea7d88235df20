"""The processing panel: Process (disabled with the reason as tooltip), a progress bar, Cancel and
the last result. Bound to a :class:`~ui.controllers.processing.ProcessingController`."""

from __future__ import annotations

from PySide6 import QtWidgets

from ui.controllers.processing import ProcessingController
from ui.processing import ProcessedTake


class ProcessingPanel(QtWidgets.QGroupBox):
    """Draws the controller's state and forwards clicks."""

    def __init__(self, controller: ProcessingController, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Processing", parent)
        self._controller = controller
        self.process_button = QtWidgets.QPushButton("Process take")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.bar = QtWidgets.QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.stage = QtWidgets.QLabel("")
        self.stage.setWordWrap(True)
        self.people = QtWidgets.QSpinBox(minimum=0, maximum=64, value=controller.people or 0)
        self.people.setSpecialValueText("people: auto")
        self.people.setPrefix("people: ")
        self.people.setToolTip("people in the take (auto: the synthetic studio's count, else one)")
        self.people.valueChanged.connect(self._people_changed)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.people)
        row.addWidget(self.process_button)
        row.addWidget(self.cancel_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.bar)
        layout.addWidget(self.stage)
        self.process_button.clicked.connect(controller.process)
        self.cancel_button.clicked.connect(controller.cancel)
        controller.available_changed.connect(self.show_available)
        controller.running_changed.connect(self.show_running)
        controller.progress_changed.connect(self.show_progress)
        controller.processed.connect(self.show_result)
        controller.error.connect(lambda message: self.stage.setText(f"failed: {message}"))
        self.show_available(controller.available, controller.why_not)

    def _people_changed(self, value: int) -> None:
        self._controller.people = value or None

    def show_available(self, ok: bool, why: str) -> None:
        self.process_button.setEnabled(ok)
        self.process_button.setToolTip(why)

    def show_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)
        if running:
            self.bar.setValue(0)
            self.stage.setText("starting…")

    def show_progress(self, text: str, fraction: float) -> None:
        self.stage.setText(text)
        if fraction < 0:
            self.bar.setRange(0, 0)  # busy indicator
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(fraction * 1000))

    def show_result(self, result: ProcessedTake) -> None:
        self.bar.setRange(0, 1000)
        self.bar.setValue(1000)
        self.stage.setText(result.summary())
