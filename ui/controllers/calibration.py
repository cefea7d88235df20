"""The calibration wizard's state: the board, the inputs, a board scan per camera, the run and its
result, the floor choice and saving the rig into the session.

Every step that reads files or computes is a job (:mod:`ui.calibration_jobs`); the controller keeps
the answers and says what may happen next (``can_scan``, ``can_run``, ``can_save``, each with the
reason when not). The result goes to the display under the ``"calibration"`` source: the
calibrated frusta in the 3D view and each camera's scan image with its detected corners.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore

from calibration.boards import BoardSpec
from calibration.progress import Progress
from ui.calibration_jobs import (
    CalibrationOutcome,
    CameraScan,
    Sources,
    calibrate_job,
    resolve_sources,
    scan_iter,
    take_sources,
)
from ui.calibration_jobs import save_calibration as save_rig
from ui.controllers.display import CALIBRATION, DisplayController
from ui.jobs import JobHandle, JobRunner
from ui.scene import SceneFrame, TileFrame

#: Board corners are drawn in the colour of this palette entry (red: visible on black and white squares).
CORNER_COLOUR_ID = 3


class CalibrationController(QtCore.QObject):
    """Owns the wizard's state (see the module docstring).

    Signals:
        board_changed(object): the :class:`~calibration.boards.BoardSpec` (or None).
        sources_changed(object): the resolved :class:`~ui.calibration_jobs.Sources` (or None).
        scans_changed(object): tuple of :class:`~ui.calibration_jobs.CameraScan`.
        state_changed(): what may run changed (see ``can_*``).
        running_changed(bool): a scan or calibration job started or ended.
        progress_changed(str, float): stage text and fraction (-1: unknown).
        result_changed(object): the :class:`~ui.calibration_jobs.CalibrationOutcome` (or None).
        saved(object): the rig file written into the session.
        error(str): a step failed (readable line).
    """

    board_changed = QtCore.Signal(object)
    sources_changed = QtCore.Signal(object)
    scans_changed = QtCore.Signal(object)
    state_changed = QtCore.Signal()
    running_changed = QtCore.Signal(bool)
    progress_changed = QtCore.Signal(str, float)
    result_changed = QtCore.Signal(object)
    saved = QtCore.Signal(object)
    error = QtCore.Signal(str)

    def __init__(self, display: DisplayController, jobs: JobRunner, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._display = display
        self._jobs = jobs
        self.board: BoardSpec | None = None
        self.sources: Sources | None = None
        self.scans: tuple[CameraScan, ...] = ()
        self.outcome: CalibrationOutcome | None = None
        self.floor_frame: int | None = None
        self.session_root: Path | None = None
        self.current_take = ""
        self._handle: JobHandle | None = None

    # ------------------------------------------------------------------ state

    @property
    def running(self) -> bool:
        return self._handle is not None

    def why_not_scan(self) -> str:
        if self.running:
            return "a job of the wizard is running"
        if self.board is None:
            return "choose the board first"
        if self.sources is None:
            return "choose the extrinsic videos first"
        return ""

    def why_not_run(self) -> str:
        return self.why_not_scan()

    def why_not_save(self) -> str:
        if self.outcome is None:
            return "run the calibration first"
        if self.session_root is None:
            return "open or create a session first"
        return ""

    def set_session(self, root: Path | None) -> None:
        self.session_root = Path(root) if root is not None else None
        self.state_changed.emit()

    def set_current_take(self, root: Path | None, take_name: str) -> None:
        """Follow the take highlighted in the session browser (for :meth:`use_take`)."""
        self.current_take = take_name if root is not None else ""
        self.state_changed.emit()

    def why_not_use_take(self) -> str:
        if self.running:
            return "a job of the wizard is running"
        if self.session_root is None or not self.current_take:
            return "record the board with the recording panel, then highlight that take"
        return ""

    # ------------------------------------------------------------------ choices

    def set_board(self, board: BoardSpec) -> None:
        """Use ``board`` (a new board makes scans and results stale)."""
        self.board = board
        self._clear_results()
        self.board_changed.emit(board)
        self.state_changed.emit()

    def load_board(self, path: str | Path) -> None:
        """Read a board TOML (in a job)."""
        from calibration.boards import load_board

        self._jobs.submit(
            "calibration-board",
            f"reading {path}",
            lambda _c: load_board(path),
            on_result=self.set_board,
            on_error=self.error.emit,
        )

    def set_inputs(self, extrinsic: list[str | Path], intrinsic: list[str | Path] | None = None) -> None:
        """Choose the synchronized extrinsic inputs and optional intrinsic ones (names resolved in a job)."""
        self._jobs.submit(
            "calibration-sources",
            "reading the calibration inputs",
            lambda _c: resolve_sources(extrinsic, intrinsic or ()),
            on_result=self._sources,
            on_error=self.error.emit,
        )

    def use_take(self, session_root: str | Path, take_name: str) -> None:
        """Use a recorded take's videos as the extrinsic inputs (resolved in a job)."""
        self._jobs.submit(
            "calibration-sources",
            f"reading the videos of {take_name}",
            lambda _c: take_sources(session_root, take_name),
            on_result=self._sources,
            on_error=self.error.emit,
        )

    def set_floor_frame(self, frame: int | None) -> None:
        """The extrinsic frame where the board lies on the floor (None: level from the cameras)."""
        self.floor_frame = frame if frame is None or frame >= 0 else None

    # ------------------------------------------------------------------ jobs

    def scan(self) -> None:
        """Search each camera's input for the board: overlay image and coverage per camera."""
        why = self.why_not_scan()
        if why:
            self.error.emit(f"cannot scan: {why}")
            return
        board, sources = self.board, self.sources
        if board is None or sources is None:  # checked by why_not_scan; narrows the types
            return
        self._start(
            "calibration",
            "scanning for the board",
            lambda c: scan_iter(board, sources.extrinsic, cancel=c),
            self._scanned,
        )

    def run(self) -> None:
        """Calibrate the rig from the inputs (progress, cancel)."""
        why = self.why_not_run()
        if why:
            self.error.emit(f"cannot calibrate: {why}")
            return
        board, sources, floor = self.board, self.sources, self.floor_frame
        if board is None or sources is None:
            return
        self._start(
            "calibration",
            "calibrating the rig",
            lambda c: calibrate_job(board, sources, floor_frame=floor, cancel=c),
            self._calibrated,
        )

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()

    def save(self) -> None:
        """Write the calibrated rig into the open session (in a job)."""
        why = self.why_not_save()
        if why:
            self.error.emit(f"cannot save the calibration: {why}")
            return
        if self.outcome is None or self.session_root is None:
            return
        rig, root = self.outcome.result.rig, self.session_root
        self._jobs.submit(
            "calibration-save",
            "saving the calibration",
            lambda _c: save_rig(root, rig),
            on_result=self.saved.emit,
            on_error=self.error.emit,
        )

    # ------------------------------------------------------------------ internals

    def _start(self, channel: str, label: str, work, on_result) -> None:  # type: ignore[no-untyped-def]
        self._handle = self._jobs.submit(
            channel,
            label,
            work,
            on_result=on_result,
            on_error=self._failed,
            on_progress=self._progress,
            on_cancelled=self._cancelled,
        )
        self.running_changed.emit(True)
        self.state_changed.emit()

    def _ended(self) -> None:
        self._handle = None
        self.running_changed.emit(False)
        self.state_changed.emit()

    def _progress(self, report: Progress) -> None:
        text = report.stage + (f" — {report.message}" if report.message else "")
        fraction = report.fraction
        self.progress_changed.emit(text, -1.0 if fraction is None else fraction)

    def _failed(self, message: str) -> None:
        self._ended()
        self.progress_changed.emit("failed", 0.0)
        self.error.emit(message)

    def _cancelled(self) -> None:
        self._ended()
        self.progress_changed.emit("cancelled", 0.0)

    def _clear_results(self) -> None:
        if self._handle is not None:  # a scan or run of the old board or inputs: its answer is stale
            self._handle.cancel()
        self.scans = ()
        self.outcome = None
        self.scans_changed.emit(self.scans)
        self.result_changed.emit(None)

    def _sources(self, sources: Sources) -> None:
        self.sources = sources
        self._clear_results()
        self.sources_changed.emit(sources)
        self.state_changed.emit()

    def _scanned(self, scans: tuple[CameraScan, ...]) -> None:
        self.scans = scans
        self._ended()
        self.progress_changed.emit("scan done", 1.0)
        self.scans_changed.emit(scans)

    def _calibrated(self, outcome: CalibrationOutcome) -> None:
        self.outcome = outcome
        self._ended()
        self.progress_changed.emit(f"calibrated: RMS {outcome.result.report.rms_px:.3f} px", 1.0)
        self.result_changed.emit(outcome)
        self._display.present_stage(CALIBRATION, outcome.stage)
        self._display.present_frame(CALIBRATION, self.scene_frame(outcome))
        self._display.activate(CALIBRATION)

    def scene_frame(self, outcome: CalibrationOutcome) -> SceneFrame:
        """Each calibrated camera's scan image with the corners found in it (when scanned)."""
        by_name = {s.name: s for s in self.scans}
        tiles = []
        for camera in outcome.stage.cameras:
            scan = by_name.get(camera.name)
            if scan is None or scan.image is None:
                tiles.append(TileFrame(status=f"{camera.error_px:.2f} px"))
                continue
            corners = np.asarray(scan.image_corners, dtype=np.float32)[None]  # (1, N, 2): one "slot"
            status = f"frame {scan.image_frame} · {camera.error_px:.2f} px · coverage {scan.coverage * 100:.0f} %"
            tiles.append(
                TileFrame(
                    image=scan.image,
                    xy=corners,
                    score=np.ones(corners.shape[:2], np.float32),
                    person=np.array([CORNER_COLOUR_ID]),
                    status=status,
                )
            )
        return SceneFrame(0, 0.0, tuple(tiles))
