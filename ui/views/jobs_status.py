"""The status-bar part that shows the running long job: its stage, a progress bar and Cancel.

A job appears here once it reports progress (short jobs such as reading one frame's images never
do); when several report, the newest is shown.
"""

from __future__ import annotations

from PySide6 import QtWidgets

from calibration.progress import Progress
from ui.jobs import JobRequest, JobRunner


class JobStatusView(QtWidgets.QWidget):
    """Bound to a :class:`~ui.jobs.JobRunner`."""

    def __init__(self, jobs: JobRunner, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._shown: JobRequest | None = None
        self.label = QtWidgets.QLabel()
        self.bar = QtWidgets.QProgressBar()
        self.bar.setMaximumWidth(220)
        self.bar.setTextVisible(True)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip("cancel the running job")
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label)
        row.addWidget(self.bar)
        row.addWidget(self.cancel_button)
        for widget in (self.label, self.bar, self.cancel_button):
            # hidden widgets keep their room: a status bar that grows when a job starts would
            # resize the views above it (and the 3D view repaints in full on a resize)
            policy = widget.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            widget.setSizePolicy(policy)
        self.cancel_button.clicked.connect(self._cancel)
        jobs.progress.connect(self._progress)
        for signal in (jobs.finished, jobs.failed, jobs.cancelled):
            signal.connect(self._ended)
        self._set_visible(False)

    def _set_visible(self, visible: bool) -> None:
        for widget in (self.label, self.bar, self.cancel_button):
            widget.setVisible(visible)

    def _progress(self, request: JobRequest, report: Progress) -> None:
        self._shown = request
        detail = f" — {report.message}" if report.message else ""
        self.label.setText(f"{request.label}: {report.stage}{detail}")
        if report.total:
            self.bar.setRange(0, report.total)
            self.bar.setValue(min(report.done, report.total))
        else:
            self.bar.setRange(0, 0)  # busy indicator
        self._set_visible(True)

    def _ended(self, request: JobRequest, *_args: object) -> None:
        if self._shown is not None and request.id == self._shown.id:
            self._shown = None
            self._set_visible(False)

    def _cancel(self) -> None:
        if self._shown is not None:
            self._shown.cancel.cancel()
            self.label.setText(f"{self._shown.label}: cancelling…")
