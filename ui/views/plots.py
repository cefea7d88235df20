"""Per-joint plots: the chosen joint's x, y, z over time and its reprojection error per frame,
with a line at the current frame. Draws the :class:`~ui.controllers.plots.JointSeries` the
controller gives and forwards the person/joint choice."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtWidgets

from ui.colours import person_qcolor
from ui.controllers.playback import PlaybackController
from ui.controllers.plots import JointSeries, PlotsController

_AXIS_COLOURS = ((230, 80, 80), (80, 200, 80), (90, 140, 255))


class JointPlotsView(QtWidgets.QWidget):
    """Trajectory and reprojection-error plots bound to a plots controller and the playback."""

    def __init__(
        self, plots: PlotsController, playback: PlaybackController, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._plots = plots
        self._playback = playback
        self.person_box = QtWidgets.QComboBox()
        self.person_box.setToolTip("person to plot")
        self.joint_box = QtWidgets.QComboBox()
        self.joint_box.setToolTip("joint to plot")
        self.trajectory = pg.PlotWidget()
        self.trajectory.setLabel("left", "position", units="m")
        self.trajectory.addLegend(offset=(5, 5))
        self.error = pg.PlotWidget()
        self.error.setLabel("left", "reprojection error", units="px")
        self.error.setLabel("bottom", "time", units="s")
        self.error.addLegend(offset=(5, 5))
        self.error.setXLink(self.trajectory)
        self.curves = {
            axis: self.trajectory.plot(name=axis, pen=pg.mkPen(colour, width=1.5))
            for axis, colour in zip("xyz", _AXIS_COLOURS, strict=True)
        }
        self.joint_error = self.error.plot(name="joint", pen=pg.mkPen((240, 200, 60), width=1.5))
        self.mean_error = self.error.plot(name="person mean", pen=pg.mkPen((150, 150, 150), width=1))
        self.cursors = [pg.InfiniteLine(angle=90, pen=pg.mkPen((255, 255, 255, 120))) for _ in range(2)]
        self.trajectory.addItem(self.cursors[0])
        self.error.addItem(self.cursors[1])
        self.message = QtWidgets.QLabel("no 3D poses to plot: load a processed take")

        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("person"))
        top.addWidget(self.person_box)
        top.addWidget(QtWidgets.QLabel("joint"))
        top.addWidget(self.joint_box, 1)
        top.addWidget(self.message, 2)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.trajectory, 1)
        layout.addWidget(self.error, 1)

        self.person_box.activated.connect(self._chosen)
        self.joint_box.activated.connect(self._chosen)
        plots.choices_changed.connect(self._set_choices)
        plots.series_changed.connect(self._set_series)
        playback.frame_changed.connect(self._set_cursor)
        self._set_choices([], [])

    def _set_choices(self, people: list[int], joints: list[str]) -> None:
        for box, items in ((self.person_box, [f"person {p}" for p in people]), (self.joint_box, joints)):
            box.blockSignals(True)
            box.clear()
            box.addItems(items)
            box.setEnabled(bool(items))
            box.blockSignals(False)
        self._people = list(people)

    def _chosen(self, _index: int) -> None:
        if self.person_box.currentIndex() >= 0 and self.joint_box.currentIndex() >= 0:
            self._plots.select(self._people[self.person_box.currentIndex()], self.joint_box.currentIndex())

    def _set_series(self, series: JointSeries | None) -> None:
        if series is None:
            for curve in (*self.curves.values(), self.joint_error, self.mean_error):
                curve.setData([], [])
            self.message.setText("no 3D poses to plot: load a processed take")
            return
        if series.person_id in self._people:
            self.person_box.setCurrentIndex(self._people.index(series.person_id))
        self.joint_box.setCurrentIndex(series.joint)
        for c, curve in enumerate(self.curves.values()):
            curve.setData(series.time_s, series.xyz[:, c], connect="finite")
        self.joint_error.setData(series.time_s, series.error_px, connect="finite")
        self.mean_error.setData(series.time_s, series.mean_error_px, connect="finite")
        self.trajectory.setTitle(
            f"{series.joint_name} of person {series.person_id}", color=person_qcolor(series.person_id)
        )
        self.message.setText(
            f"{series.present_fraction * 100:.0f} % of frames · median error {series.median_error_px:.2f} px"
        )
        self._set_cursor(self._playback.frame)

    def _set_cursor(self, frame: int) -> None:
        for cursor in self.cursors:
            cursor.setValue(frame / self._playback.fps)
