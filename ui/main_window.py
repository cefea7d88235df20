"""The main window: builds the controllers and the views and connects them.

Layout: the camera grid and the 3D view side by side in the centre, the timeline under them;
docks for the session browser (with recording and processing), the per-joint plots and the
message log; a red banner for the newest error; the running job's progress and Cancel in the
status bar. Nothing here computes: every slow step is a controller's job.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from ui.controllers.calibration import CalibrationController
from ui.controllers.display import REVIEW, DisplayController
from ui.controllers.export import ExportController
from ui.controllers.live import LIVE_SOURCES, FeedFactory, LiveController, demo_feed
from ui.controllers.playback import PlaybackController
from ui.controllers.plots import PlotsController
from ui.controllers.processing import ProcessingController
from ui.controllers.recording import RecordingController
from ui.controllers.review import ReviewController
from ui.controllers.session import SessionController
from ui.jobs import JobRunner
from ui.views.calibration_wizard import CalibrationWizard
from ui.views.camera_grid import CameraGridView
from ui.views.export_dialog import ExportDialog
from ui.views.jobs_status import JobStatusView
from ui.views.messages import MessageBanner, MessageLog
from ui.views.plots import JointPlotsView
from ui.views.processing_panel import ProcessingPanel
from ui.views.recording_panel import RecordingPanel
from ui.views.scene3d import Scene3DView
from ui.views.session_browser import SessionBrowserView
from ui.views.timeline import TimelineView, install_shortcuts


class MainWindow(QtWidgets.QMainWindow):
    """The studio window (see the module docstring).

    Args:
        feed_factory: makes the live feed (default: the synthetic demo studio).
        open_folder: shows an export folder (default: the desktop's file manager).
    """

    def __init__(
        self,
        *,
        feed_factory: FeedFactory = demo_feed,
        open_folder: object = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("mocap studio")
        self.resize(1500, 900)
        self.jobs = JobRunner(parent=self)
        self.display = DisplayController(self)
        self.playback = PlaybackController(self)
        self._feed_factory = feed_factory
        self.live = LiveController(self.display, self.jobs, feed_factory, self)
        self.review = ReviewController(self.display, self.playback, self.jobs, self)
        self.plots = PlotsController(self.review, self.jobs, self)
        self.session = SessionController(self.jobs, self)
        self.recording = RecordingController(self.display, self.jobs, self)
        self.processing = ProcessingController(self.jobs, self)
        self.calibration = CalibrationController(self.display, self.jobs, self)
        self._wizard: CalibrationWizard | None = None
        export_kwargs = {"opener": open_folder} if open_folder is not None else {}
        self.export = ExportController(self.review, self.jobs, parent=self, **export_kwargs)  # type: ignore[arg-type]
        self._export_dialog: ExportDialog | None = None
        self._build_views()
        self._build_actions()
        self._connect()

    # ------------------------------------------------------------------ building

    def _build_views(self) -> None:
        self.camera_grid = CameraGridView()
        self.scene3d = Scene3DView()
        self.timeline = TimelineView(self.playback)
        self.banner = MessageBanner()
        self.messages = MessageLog(self.banner)
        self.source_label = QtWidgets.QLabel()
        self.source_label.setStyleSheet("font-weight: bold; padding: 2px 6px;")

        views = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        views.addWidget(self.camera_grid)
        views.addWidget(self.scene3d)
        views.setSizes([800, 600])
        central = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(central)
        column.setContentsMargins(2, 2, 2, 2)
        column.addWidget(self.banner)
        column.addWidget(self.source_label)
        column.addWidget(views, 1)
        column.addWidget(self.timeline)
        self.setCentralWidget(central)

        self.session_browser = SessionBrowserView(self.session)
        self.recording_panel = RecordingPanel(self.recording)
        self.processing_panel = ProcessingPanel(self.processing)
        side = QtWidgets.QWidget()
        side_column = QtWidgets.QVBoxLayout(side)
        side_column.setContentsMargins(0, 0, 0, 0)
        side_column.addWidget(self.session_browser, 1)
        side_column.addWidget(self.recording_panel)
        side_column.addWidget(self.processing_panel)
        self.session_dock = self._dock("Session", side, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        self.plots_view = JointPlotsView(self.plots, self.playback)
        self.plots_dock = self._dock("Joint plots", self.plots_view, QtCore.Qt.DockWidgetArea.BottomDockWidgetArea)
        self.messages_dock = self._dock("Messages", self.messages, QtCore.Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.plots_dock, self.messages_dock)
        self.plots_dock.raise_()
        self.resizeDocks([self.plots_dock], [260], QtCore.Qt.Orientation.Vertical)
        self.resizeDocks([self.session_dock], [330], QtCore.Qt.Orientation.Horizontal)
        self.job_status = JobStatusView(self.jobs)
        self.statusBar().addPermanentWidget(self.job_status)

    def _dock(self, title: str, widget: QtWidgets.QWidget, area: QtCore.Qt.DockWidgetArea) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_actions(self) -> None:
        toolbar = self.addToolBar("studio")
        toolbar.setObjectName("studio")
        self.live_action = QtGui.QAction("Live", self, checkable=True)
        self.live_action.setToolTip("start or stop the live studio (the synthetic studio when no camera is set up)")
        self.review_action = QtGui.QAction("Review", self, checkable=True)
        self.review_action.setToolTip("show the reviewed take")
        self.review_action.setEnabled(False)
        self.trails_action = QtGui.QAction("Trails", self, checkable=True)
        self.trails_action.setChecked(True)
        self.trails_action.setToolTip("draw where each person walked in the last two seconds")
        self.calibrate_action = QtGui.QAction("Calibrate…", self)
        self.calibrate_action.setToolTip("calibrate the cameras from board videos (the calibration wizard)")
        self.export_action = QtGui.QAction("Export…", self)
        self.export_action.setEnabled(False)
        self.export_action.setToolTip("load a take first (session browser)")
        actions = (self.live_action, self.review_action, self.trails_action, self.calibrate_action, self.export_action)
        for action in actions:
            toolbar.addAction(action)
        menu = self.menuBar().addMenu("&File")
        new_session = menu.addAction("New session…")
        new_session.triggered.connect(self.session_browser.new_button.click)
        open_session = menu.addAction("Open session…")
        open_session.triggered.connect(self.session_browser.open_button.click)
        open_results = menu.addAction("Open results folder…")
        open_results.triggered.connect(self._ask_results_folder)
        menu.addAction(self.calibrate_action)
        menu.addAction(self.export_action)
        menu.addSeparator()
        quit_action = menu.addAction("Quit")
        quit_action.setShortcut(QtGui.QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        live_menu = self.menuBar().addMenu("&Live")
        live_menu.addAction(self.live_action)
        live_menu.addSeparator()
        self.live_sources = QtGui.QActionGroup(self)
        for index, (label, factory) in enumerate(LIVE_SOURCES.items()):
            source = QtGui.QAction(label, self, checkable=True)
            source.setChecked(index == 0 and self._feed_factory is demo_feed)
            source.triggered.connect(lambda _checked, f=factory: self.live.set_feed_factory(f))
            self.live_sources.addAction(source)
            live_menu.addAction(source)
        view_menu = self.menuBar().addMenu("&View")
        for dock in (self.session_dock, self.plots_dock, self.messages_dock):
            view_menu.addAction(dock.toggleViewAction())
        self.shortcuts = install_shortcuts(self, self.playback)

    def _connect(self) -> None:
        for view in (self.camera_grid, self.scene3d):
            self.display.stage_changed.connect(view.set_stage)
            self.display.frame_changed.connect(view.show_frame)
        self.display.source_changed.connect(self._source_changed)
        self.display.stage_changed.connect(lambda stage: self.source_label.setText(stage.title))
        self.jobs.failed.connect(lambda _request, message: self.messages.error(message))
        controllers = (
            self.live,
            self.review,
            self.plots,
            self.session,
            self.export,
            self.recording,
            self.processing,
            self.calibration,
        )
        for controller in controllers:
            controller.error.connect(self.messages.error)
        self.session.session_changed.connect(
            lambda summary: self.recording.set_session(summary.root if summary is not None else None)
        )
        self.session.session_changed.connect(
            lambda summary: self.calibration.set_session(summary.root if summary is not None else None)
        )
        self.session.current_changed.connect(self.processing.set_take)
        self.session.current_changed.connect(self.calibration.set_current_take)
        self.calibrate_action.triggered.connect(self.open_calibration_wizard)
        self.calibration.saved.connect(self._calibration_saved)
        self.recording.running_changed.connect(self._recording_changed)
        self.recording.recorded.connect(self._recorded)
        self.processing.processed.connect(self._processed)
        self.live.stats_changed.connect(self.statusBar().showMessage)
        self.live.running_changed.connect(self.live_action.setChecked)
        self.live.running_changed.connect(lambda running: running or self.statusBar().clearMessage())
        self.live_action.triggered.connect(lambda _checked: self.live.toggle())
        self.review_action.triggered.connect(lambda _checked: self.show_review())
        self.trails_action.toggled.connect(self._set_trails)
        self.export_action.triggered.connect(self.open_export_dialog)
        self.export.available_changed.connect(self._export_available)
        self.export.exported.connect(lambda paths: self.messages.info("exported " + ", ".join(map(str, paths))))
        self.session.take_selected.connect(self.review.open_session_take)
        self.review.take_changed.connect(lambda take: self.review_action.setEnabled(take is not None))

    # ------------------------------------------------------------------ behaviour

    def show_review(self) -> None:
        """Show the reviewed take (the live studio keeps running in the background)."""
        if self.review.take is not None:
            self.display.activate(REVIEW)

    def _source_changed(self, source: str) -> None:
        self.review_action.setChecked(source == REVIEW)
        self.timeline.setEnabled(source == REVIEW)

    def _recording_changed(self, recording: bool) -> None:
        if recording and self.live.running:
            self.messages.info("the live studio pauses while a take records (the CPU goes to the encoders)")
            self.live.stop()

    def _recorded(self, result: object) -> None:
        from ui.recording import RecordedTake

        if isinstance(result, RecordedTake):
            self.messages.info("recorded " + result.summary())
        self.session.refresh()

    def _processed(self, result: object) -> None:
        from ui.processing import ProcessedTake

        if isinstance(result, ProcessedTake):
            self.messages.info("processed " + result.summary())
            self.session.refresh()
            self.review.open_session_take(result.session_root, result.take_name)

    def _set_trails(self, on: bool) -> None:
        self.live.trails_enabled = on
        self.review.trails_enabled = on
        self.scene3d.set_trails_visible(on)

    def _export_available(self, ok: bool, why: str) -> None:
        self.export_action.setEnabled(ok)
        self.export_action.setToolTip("export the reviewed take" if ok else why)

    def open_export_dialog(self) -> ExportDialog:
        """Open (or raise) the export dialog for the reviewed take."""
        if self._export_dialog is None:
            self._export_dialog = ExportDialog(self.export, self)
        self._export_dialog.refresh()
        self._export_dialog.show()
        self._export_dialog.raise_()
        return self._export_dialog

    def _calibration_saved(self, path: object) -> None:
        self.messages.info(f"calibration saved: {path}")
        self.session.refresh()

    def open_calibration_wizard(self) -> CalibrationWizard:
        """Open (or raise) the calibration wizard."""
        if self._wizard is None:
            self._wizard = CalibrationWizard(self.calibration, self)
        self._wizard.show()
        self._wizard.raise_()
        return self._wizard

    def _ask_results_folder(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Open a folder with poses3d.npz / keypoints2d.npz")
        if folder:
            self.review.open_results_folder(Path(folder))

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.live.stop()
        self.recording.stop()
        self.playback.pause()
        self.jobs.cancel_all()
        self.jobs.wait(10_000)
        super().closeEvent(event)
