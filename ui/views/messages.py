"""Messages in the window: a banner with the newest error and a log of every message.

Errors of jobs (and of live sources) arrive here as the one-line messages of the error
hierarchy. The same line arriving twice within a second (a job's error seen by the runner and by
its controller) is shown once.
"""

from __future__ import annotations

import time

from PySide6 import QtCore, QtWidgets


class MessageBanner(QtWidgets.QFrame):
    """The newest error, on a red band with a dismiss button; hidden when there is none."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet("MessageBanner { background: #7a2323; } QLabel { color: white; }")
        self.text = QtWidgets.QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        dismiss = QtWidgets.QToolButton()
        dismiss.setText("✕")
        dismiss.setToolTip("dismiss")
        dismiss.setAutoRaise(True)
        dismiss.clicked.connect(self.hide)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(8, 4, 4, 4)
        row.addWidget(self.text, 1)
        row.addWidget(dismiss)
        self.hide()

    def show_message(self, text: str) -> None:
        self.text.setText(text)
        self.show()


class MessageLog(QtWidgets.QListWidget):
    """Every message with its time; errors also go to the banner."""

    def __init__(self, banner: MessageBanner, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._banner = banner
        self._last: tuple[str, float] = ("", 0.0)
        self.setWordWrap(True)

    def error(self, text: str) -> None:
        """Log an error and show it in the banner."""
        if self._add(text, "error"):
            self._banner.show_message(text)

    def info(self, text: str) -> None:
        self._add(text, "info")

    def messages(self) -> list[str]:
        return [self.item(i).data(QtCore.Qt.ItemDataRole.UserRole) for i in range(self.count())]

    def _add(self, text: str, kind: str) -> bool:
        now = time.monotonic()
        if text == self._last[0] and now - self._last[1] < 1.0:
            return False
        self._last = (text, now)
        item = QtWidgets.QListWidgetItem(f"{time.strftime('%H:%M:%S')}  {kind}: {text}")
        item.setData(QtCore.Qt.ItemDataRole.UserRole, text)
        self.addItem(item)
        self.scrollToBottom()
        return True
