"""The calibration wizard: 1 board, 2 videos and a board scan (overlay and coverage per camera),
3 floor, 4 run with progress and cancel, per-camera errors, save into the session.

Bound to a :class:`~ui.controllers.calibration.CalibrationController`; it draws the controller's
state and forwards choices and clicks (file dialogs are the view's own part). The calibrated
frusta appear in the main window's 3D view (the display's ``"calibration"`` source).
"""

from __future__ import annotations

import math

import numpy as np
from PySide6 import QtCore, QtWidgets

from calibration.boards import DICTIONARY_SIZES, BoardSpec
from ui.calibration_jobs import CalibrationOutcome, CameraScan, Sources
from ui.controllers.calibration import CORNER_COLOUR_ID, CalibrationController
from ui.scene import TileFrame
from ui.views.camera_grid import CameraTile

REPORT_COLUMNS = ("camera", "rms px", "median px", "frames", "corners", "coverage", "rotation ±", "nearest")


class CalibrationWizard(QtWidgets.QDialog):
    """The wizard window (see the module docstring)."""

    def __init__(self, controller: CalibrationController, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Calibration wizard")
        self.resize(900, 900)
        self._controller = controller
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self._board_box())
        layout.addWidget(self._inputs_box(), 1)
        layout.addWidget(self._floor_box())
        layout.addWidget(self._run_box())
        controller.board_changed.connect(self.show_board)
        controller.sources_changed.connect(self.show_sources)
        controller.scans_changed.connect(self.show_scans)
        controller.state_changed.connect(self.show_state)
        controller.running_changed.connect(lambda _running: self.show_state())
        controller.progress_changed.connect(self.show_progress)
        controller.result_changed.connect(self.show_result)
        controller.saved.connect(lambda path: self.result_label.setText(f"saved as the session's calibration: {path}"))
        controller.error.connect(self.show_error)
        if controller.board is not None:
            self.show_board(controller.board)
        self.show_state()

    # ------------------------------------------------------------------ building

    def _board_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("1 · Board")
        self.board_type = QtWidgets.QComboBox()
        self.board_type.addItems(["charuco", "checkerboard"])
        self.columns = QtWidgets.QSpinBox(minimum=2, maximum=100, value=5)
        self.rows = QtWidgets.QSpinBox(minimum=2, maximum=100, value=7)
        self.square_mm = QtWidgets.QDoubleSpinBox(minimum=1.0, maximum=5000.0, value=40.0, suffix=" mm")
        self.marker_mm = QtWidgets.QDoubleSpinBox(minimum=1.0, maximum=5000.0, value=30.0, suffix=" mm")
        self.dictionary = QtWidgets.QComboBox()
        self.dictionary.addItems(sorted(DICTIONARY_SIZES))
        self.dictionary.setCurrentText("DICT_4X4_50")
        self.inverted = QtWidgets.QCheckBox("printed inverted")
        self.apply_board = QtWidgets.QPushButton("Use this board")
        self.load_board = QtWidgets.QPushButton("Load board.toml…")
        self.board_label = QtWidgets.QLabel("no board chosen")
        grid = QtWidgets.QGridLayout(box)
        for column, (label, widget) in enumerate(
            (("type", self.board_type), ("squares x", self.columns), ("squares y", self.rows))
        ):
            grid.addWidget(QtWidgets.QLabel(label), 0, 2 * column)
            grid.addWidget(widget, 0, 2 * column + 1)
        for column, (label, widget) in enumerate(
            (("square", self.square_mm), ("marker", self.marker_mm), ("dictionary", self.dictionary))
        ):
            grid.addWidget(QtWidgets.QLabel(label), 1, 2 * column)
            grid.addWidget(widget, 1, 2 * column + 1)
        grid.addWidget(self.inverted, 2, 0, 1, 2)
        grid.addWidget(self.apply_board, 2, 2, 1, 2)
        grid.addWidget(self.load_board, 2, 4, 1, 2)
        grid.addWidget(self.board_label, 3, 0, 1, 6)
        self.apply_board.clicked.connect(self._board_from_fields)
        self.load_board.clicked.connect(self._ask_board)
        self.board_type.currentTextChanged.connect(
            lambda kind: (self.marker_mm.setEnabled(kind == "charuco"), self.dictionary.setEnabled(kind == "charuco"))
        )
        return box

    def _inputs_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("2 · Videos and board scan")
        self.extrinsic_button = QtWidgets.QPushButton("Extrinsic videos…")
        self.extrinsic_button.setToolTip("a folder with one synchronized video or image folder per camera")
        self.intrinsic_button = QtWidgets.QPushButton("Intrinsic videos (optional)…")
        self.intrinsic_button.setToolTip("close-ups of the board per camera; named after the cameras")
        self.take_button = QtWidgets.QPushButton("Highlighted take's videos")
        self.scan_button = QtWidgets.QPushButton("Scan for the board")
        self.sources_label = QtWidgets.QLabel("no videos chosen")
        self.sources_label.setWordWrap(True)
        self.tiles_area = QtWidgets.QWidget()
        self.tiles_area.setMinimumHeight(330)
        self.tiles_layout = QtWidgets.QGridLayout(self.tiles_area)
        self.tiles_layout.setContentsMargins(0, 0, 0, 0)
        self.tiles: list[CameraTile] = []
        row = QtWidgets.QHBoxLayout()
        for button in (self.extrinsic_button, self.intrinsic_button, self.take_button, self.scan_button):
            row.addWidget(button)
        column = QtWidgets.QVBoxLayout(box)
        column.addLayout(row)
        column.addWidget(self.sources_label)
        column.addWidget(self.tiles_area, 1)
        self._extrinsic: list[str] = []
        self.extrinsic_button.clicked.connect(self._ask_extrinsic)
        self.intrinsic_button.clicked.connect(self._ask_intrinsic)
        self.scan_button.clicked.connect(self._controller.scan)
        self.take_button.clicked.connect(self._use_take)
        return box

    def _floor_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("3 · Floor")
        self.level_from_cameras = QtWidgets.QRadioButton("level from the cameras (origin 2 m below them)")
        self.board_on_floor = QtWidgets.QRadioButton("the board lies on the floor in extrinsic frame")
        self.level_from_cameras.setChecked(True)
        self.floor_frame = QtWidgets.QSpinBox(minimum=0, maximum=1_000_000)
        self.floor_frame.setEnabled(False)
        row = QtWidgets.QHBoxLayout(box)
        row.addWidget(self.level_from_cameras)
        row.addWidget(self.board_on_floor)
        row.addWidget(self.floor_frame)
        row.addStretch(1)
        self.board_on_floor.toggled.connect(self.floor_frame.setEnabled)
        self.board_on_floor.toggled.connect(lambda _on: self._floor_changed())
        self.floor_frame.valueChanged.connect(lambda _v: self._floor_changed())
        return box

    def _run_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("4 · Calibrate")
        self.run_button = QtWidgets.QPushButton("Calibrate")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.save_button = QtWidgets.QPushButton("Save to session")
        self.bar = QtWidgets.QProgressBar()
        self.bar.setRange(0, 1000)
        self.stage_label = QtWidgets.QLabel("")
        self.report = QtWidgets.QTableWidget(0, len(REPORT_COLUMNS))
        self.report.setHorizontalHeaderLabels(list(REPORT_COLUMNS))
        self.report.verticalHeader().setVisible(False)
        self.report.setMaximumHeight(150)
        self.result_label = QtWidgets.QLabel("")
        self.result_label.setWordWrap(True)
        row = QtWidgets.QHBoxLayout()
        for widget in (self.run_button, self.cancel_button, self.save_button):
            row.addWidget(widget)
        row.addWidget(self.bar, 1)
        column = QtWidgets.QVBoxLayout(box)
        column.addLayout(row)
        column.addWidget(self.stage_label)
        column.addWidget(self.report)
        column.addWidget(self.result_label)
        self.run_button.clicked.connect(self._controller.run)
        self.cancel_button.clicked.connect(self._controller.cancel)
        self.save_button.clicked.connect(self._controller.save)
        return box

    # ------------------------------------------------------------------ forwarding

    def _board_from_fields(self) -> None:
        from pydantic import ValidationError

        kind = self.board_type.currentText()
        try:
            board = BoardSpec(
                type=kind,  # type: ignore[arg-type]
                columns=self.columns.value(),
                rows=self.rows.value(),
                square_length_m=self.square_mm.value() / 1000.0,
                marker_length_m=self.marker_mm.value() / 1000.0 if kind == "charuco" else None,
                dictionary=self.dictionary.currentText(),
                inverted=self.inverted.isChecked(),
            )
        except ValidationError as exc:
            self.board_label.setText(f"<span style='color:#e55'>{exc.errors()[0]['msg']}</span>")
            return
        self._controller.set_board(board)

    def _ask_board(self) -> None:
        path = QtWidgets.QFileDialog.getOpenFileName(self, "Board file", "", "Board TOML (*.toml)")[0]
        if path:
            self._controller.load_board(path)

    def _ask_extrinsic(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder of synchronized extrinsic videos")
        if folder:
            self._extrinsic = [folder]
            self._controller.set_inputs(self._extrinsic)

    def _ask_intrinsic(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder of intrinsic videos")
        if folder and self._extrinsic:
            self._controller.set_inputs(self._extrinsic, [folder])

    def _use_take(self) -> None:
        controller = self._controller
        if controller.session_root is not None and controller.current_take:
            controller.use_take(controller.session_root, controller.current_take)

    def _floor_changed(self) -> None:
        self._controller.set_floor_frame(self.floor_frame.value() if self.board_on_floor.isChecked() else None)

    # ------------------------------------------------------------------ drawing

    def show_board(self, board: BoardSpec | None) -> None:
        if board is None:
            self.board_label.setText("no board chosen")
            return
        self.board_label.setText(f"board: {board.describe()}")
        self.board_type.setCurrentText(board.type)
        self.columns.setValue(board.columns)
        self.rows.setValue(board.rows)
        self.square_mm.setValue(board.square_length_m * 1000)
        if board.marker_length_m is not None:
            self.marker_mm.setValue(board.marker_length_m * 1000)
        self.dictionary.setCurrentText(board.dictionary)
        self.inverted.setChecked(board.inverted)

    def show_sources(self, sources: Sources | None) -> None:
        if sources is None:
            self.sources_label.setText("no videos chosen")
            return
        self._extrinsic = [str(p) for p in sources.extrinsic.values()]
        names = ", ".join(sources.extrinsic)
        intrinsic = f"; intrinsic inputs for {', '.join(sources.intrinsic)}" if sources.intrinsic else ""
        self.sources_label.setText(f"{len(sources.extrinsic)} cameras: {names}{intrinsic}")

    def show_scans(self, scans: tuple[CameraScan, ...]) -> None:
        """One tile per camera: its best frame with the corners found, and the scan's summary."""
        for tile in self.tiles:
            self.tiles_layout.removeWidget(tile)
            tile.deleteLater()
        self.tiles = []
        columns = max(1, math.ceil(math.sqrt(len(scans))))
        for index, scan in enumerate(scans):
            tile = CameraTile(scan.name, scan.image_size, (), self.tiles_area)
            found = len(scan.image_corners) > 0
            corners = np.asarray(scan.image_corners, dtype=np.float32)[None]  # (1, N, 2): one slot
            tile.set_frame(
                TileFrame(
                    image=scan.image,
                    xy=corners if found else None,
                    score=np.ones(corners.shape[:2], np.float32) if found else None,
                    person=np.array([CORNER_COLOUR_ID]),
                    status=scan.summary() if found else f"board never found in {scan.frames_scanned} frames",
                )
            )
            tile.setToolTip(f"{scan.name}: {scan.summary()} (frame {scan.image_frame} shown)")
            self.tiles_layout.addWidget(tile, index // columns, index % columns)
            self.tiles.append(tile)

    def show_state(self) -> None:
        controller = self._controller
        for button, why in (
            (self.scan_button, controller.why_not_scan()),
            (self.run_button, controller.why_not_run()),
            (self.save_button, controller.why_not_save()),
            (self.take_button, controller.why_not_use_take()),
        ):
            button.setEnabled(not why)
            button.setToolTip(why)
        self.cancel_button.setEnabled(controller.running)
        idle = not controller.running
        for widget in (self.extrinsic_button, self.intrinsic_button, self.apply_board, self.load_board):
            widget.setEnabled(idle)

    def show_error(self, message: str) -> None:
        self.result_label.setText(f"<span style='color:#e55'>{message}</span>")

    def show_progress(self, text: str, fraction: float) -> None:
        self.stage_label.setText(text)
        if fraction < 0:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(fraction * 1000))

    def show_result(self, outcome: CalibrationOutcome | None) -> None:
        self.report.setRowCount(0)
        if outcome is None:
            self.result_label.setText("")
            return
        report = outcome.result.report
        for camera in report.cameras:
            row = self.report.rowCount()
            self.report.insertRow(row)
            values = (
                camera.name,
                f"{camera.rms_px:.3f}",
                f"{camera.median_px:.3f}",
                str(camera.frames),
                str(camera.corners),
                f"{camera.coverage * 100:.0f} %",
                f"{camera.rotation_std_deg:.2f}°",
                f"{camera.nearest_camera} {camera.nearest_distance_m:.2f} m",
            )
            for column, text in enumerate(values):
                item = QtWidgets.QTableWidgetItem(text)
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                self.report.setItem(row, column, item)
        self.report.resizeColumnsToContents()
        self.result_label.setText(
            f"RMS {report.initial_rms_px:.3f} px before and {report.rms_px:.3f} px after bundle adjustment; "
            f"world frame: {report.world_frame}; {report.seconds:.1f} s. The frusta are in the 3D view."
        )

    def report_rows(self) -> list[list[str]]:
        return [
            [self.report.item(r, c).text() for c in range(self.report.columnCount())]
            for r in range(self.report.rowCount())
        ]
