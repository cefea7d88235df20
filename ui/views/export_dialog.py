"""The export dialog: format, person, frame range, units, up axis and the output file.

Collects the choices into an :class:`~ui.controllers.export.ExportRequest` and hands it to the
:class:`~ui.controllers.export.ExportController`; shows what the controller answers.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets

from ui.controllers.export import ExportController, ExportRequest

_DEFAULT = "format default"


class ExportDialog(QtWidgets.QDialog):
    """Non-modal dialog bound to an export controller."""

    def __init__(self, export: ExportController, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self._export = export
        self.format_box = QtWidgets.QComboBox()
        self.description = QtWidgets.QLabel()
        self.description.setWordWrap(True)
        self.person_box = QtWidgets.QComboBox()
        self.first_frame = QtWidgets.QSpinBox()
        self.last_frame = QtWidgets.QSpinBox()
        self.units_box = QtWidgets.QComboBox()
        self.units_box.addItems([_DEFAULT, "m", "cm", "mm"])
        self.up_box = QtWidgets.QComboBox()
        self.up_box.addItems([_DEFAULT, "z", "y"])
        self.path_edit = QtWidgets.QLineEdit()
        browse = QtWidgets.QPushButton("…")
        browse.setToolTip("choose the output file")
        self.open_after = QtWidgets.QCheckBox("open the output folder afterwards")
        self.open_after.setChecked(export.open_folder_after)
        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        self.export_button = QtWidgets.QPushButton("Export")
        self.export_button.setDefault(True)
        close = QtWidgets.QPushButton("Close")

        path_row = QtWidgets.QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        frames = QtWidgets.QHBoxLayout()
        frames.addWidget(self.first_frame)
        frames.addWidget(QtWidgets.QLabel("to"))
        frames.addWidget(self.last_frame)
        form = QtWidgets.QFormLayout()
        form.addRow("format", self.format_box)
        form.addRow("", self.description)
        form.addRow("person", self.person_box)
        form.addRow("frames", frames)
        form.addRow("units", self.units_box)
        form.addRow("up axis", self.up_box)
        form.addRow("file", path_row)
        form.addRow("", self.open_after)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(close)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

        self.format_box.currentIndexChanged.connect(self._format_changed)
        browse.clicked.connect(self._browse)
        self.export_button.clicked.connect(self.submit)
        close.clicked.connect(self.close)
        self.open_after.toggled.connect(lambda on: setattr(export, "open_folder_after", on))
        export.available_changed.connect(self._set_available)
        export.busy_changed.connect(self._set_busy)
        export.exported.connect(self._exported)
        export.error.connect(self._failed)
        self.refresh()

    def refresh(self) -> None:
        """Fill the choices from the controller's take and formats."""
        formats = self._export.formats()
        self.format_box.blockSignals(True)
        self.format_box.clear()
        for info in formats:
            self.format_box.addItem(info.name.upper(), info.name)
        self.format_box.blockSignals(False)
        take = self._export.take
        self.person_box.clear()
        self.person_box.addItem("every person", -1)
        for person in take.person_ids if take is not None else ():
            self.person_box.addItem(f"person {person}", person)
        last = max(0, (take.num_frames if take is not None else 1) - 1)
        for box in (self.first_frame, self.last_frame):
            box.setRange(0, last)
        self.first_frame.setValue(0)
        self.last_frame.setValue(last)
        self._format_changed()
        self._set_available(*self._export.available)

    def select_format(self, name: str) -> None:
        index = self.format_box.findData(name)
        if index >= 0:
            self.format_box.setCurrentIndex(index)

    def _format_changed(self, _index: int = 0) -> None:
        name = self.format_box.currentData()
        info = next((f for f in self._export.formats() if f.name == name), None)
        if info is None:
            return
        self.description.setText(f"{info.description}; default {info.default_units}, {info.default_up}-up")
        self.path_edit.setText(str(self._export.default_path(info.name)))

    def _browse(self) -> None:
        path = QtWidgets.QFileDialog.getSaveFileName(self, "Export to", self.path_edit.text())[0]
        if path:
            self.path_edit.setText(path)

    def request(self) -> ExportRequest:
        """The request the widgets describe."""
        person = self.person_box.currentData()
        return ExportRequest(
            format=str(self.format_box.currentData()),
            path=Path(self.path_edit.text()).expanduser(),
            person_ids=() if person is None or person < 0 else (int(person),),
            first_frame=self.first_frame.value(),
            last_frame=self.last_frame.value(),
            units=None if self.units_box.currentText() == _DEFAULT else self.units_box.currentText(),
            up=None if self.up_box.currentText() == _DEFAULT else self.up_box.currentText(),
        )

    def submit(self) -> None:
        if not self.path_edit.text().strip():
            self.status.setText("give an output file")
            return
        self._export.export(self.request())

    def _set_available(self, ok: bool, why: str) -> None:
        self.export_button.setEnabled(ok)
        self.export_button.setToolTip(why)
        if not ok:
            self.status.setText(why)

    def _set_busy(self, busy: bool) -> None:
        self.export_button.setEnabled(not busy and self._export.available[0])
        if busy:
            self.status.setText("exporting…")

    def _exported(self, paths: list[Path]) -> None:
        self.status.setText("wrote " + ", ".join(str(p) for p in paths))

    def _failed(self, message: str) -> None:
        self.status.setText(f"<span style='color:#e55'>export failed: {message}</span>")
