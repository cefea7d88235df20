"""The session browser: the open session's name and calibration, its takes with their status;
buttons to create or open a session. Double-clicking a take asks for it to be reviewed."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from ui.controllers.session import SessionController, SessionSummary

_STATUS_COLOURS = {
    "complete": QtGui.QColor(90, 190, 90),
    "imported": QtGui.QColor(90, 160, 220),
    "recording": QtGui.QColor(230, 80, 80),
    "stopped": QtGui.QColor(230, 170, 60),
    "interrupted": QtGui.QColor(230, 120, 60),
}


class SessionBrowserView(QtWidgets.QWidget):
    """Bound to a :class:`~ui.controllers.session.SessionController`.

    The file dialogs are the only thing it does itself (picking a folder is the view's part);
    the chosen path goes to the controller.
    """

    COLUMNS = ("take", "status", "duration", "cameras", "results")

    def __init__(self, session: SessionController, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self.title = QtWidgets.QLabel("no session open")
        self.title.setWordWrap(True)
        self.calibration = QtWidgets.QLabel("")
        self.calibration.setWordWrap(True)
        self.new_button = QtWidgets.QPushButton("New session…")
        self.open_button = QtWidgets.QPushButton("Open session…")
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.refresh_button.setEnabled(False)
        self.refresh_button.setToolTip("open a session first")
        self.takes = QtWidgets.QTreeWidget()
        self.takes.setHeaderLabels(list(self.COLUMNS))
        self.takes.setRootIsDecorated(False)
        self.takes.setToolTip("double-click a take to review it")

        buttons = QtWidgets.QHBoxLayout()
        for button in (self.new_button, self.open_button, self.refresh_button):
            buttons.addWidget(button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.title)
        layout.addWidget(self.calibration)
        layout.addWidget(self.takes, 1)

        self.new_button.clicked.connect(self._ask_new)
        self.open_button.clicked.connect(self._ask_open)
        self.refresh_button.clicked.connect(session.refresh)
        self.takes.itemActivated.connect(lambda item, _col: session.select_take(item.text(0)))
        self.takes.currentItemChanged.connect(
            lambda item, _previous: session.set_current(item.text(0) if item is not None else "")
        )
        session.session_changed.connect(self.show_summary)

    def _ask_new(self) -> None:
        folder = QtWidgets.QFileDialog.getSaveFileName(self, "New session folder", "", "Session folder (*)")[0]
        if folder:
            self._session.create(folder)

    def _ask_open(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Open session folder")
        if folder:
            self._session.open(folder)

    def show_summary(self, summary: SessionSummary | None) -> None:
        """Redraw from ``summary`` (None: no session); the highlighted take stays highlighted."""
        self.takes.blockSignals(True)  # rebuilding the list is not the user changing the highlight
        try:
            self._fill(summary)
        finally:
            self.takes.blockSignals(False)

    def _fill(self, summary: SessionSummary | None) -> None:
        self.takes.clear()
        self.refresh_button.setEnabled(summary is not None)
        self.refresh_button.setToolTip("" if summary is not None else "open a session first")
        if summary is None:
            self.title.setText("no session open")
            self.calibration.setText("")
            return
        self.title.setText(f"<b>{summary.name}</b> — {summary.root}")
        self.calibration.setText(
            f"calibration: {summary.calibration.name}"
            if summary.calibration is not None
            else "calibration: none (run the calibration wizard)"
        )
        for take in summary.takes:
            item = QtWidgets.QTreeWidgetItem(
                [take.name, take.status, f"{take.duration_s:.1f} s", str(len(take.cameras)), take.results or "—"]
            )
            colour = _STATUS_COLOURS.get(take.status)
            if colour is not None:
                item.setForeground(1, colour)
            if take.stop_reason:
                item.setToolTip(1, take.stop_reason)
            item.setData(0, QtCore.Qt.ItemDataRole.UserRole, take.name)
            self.takes.addTopLevelItem(item)
        for column in range(len(self.COLUMNS)):
            self.takes.resizeColumnToContents(column)
        current = self._session.current_take
        for i in range(self.takes.topLevelItemCount()):
            if self.takes.topLevelItem(i).text(0) == current:
                self.takes.setCurrentItem(self.takes.topLevelItem(i))

    def take_names(self) -> list[str]:
        return [self.takes.topLevelItem(i).text(0) for i in range(self.takes.topLevelItemCount())]
