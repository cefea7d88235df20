"""Recording takes into the open session: start, stop, elapsed time, free disk space, a preview.

The recording runs as a job (:func:`ui.recording.record_iter`); Stop sets the recording's own stop
token, so the recorder closes the take cleanly and the job still answers with the
:class:`~ui.recording.RecordedTake` (a job's cancel token would drop the answer). A timer (5 Hz)
reads the :class:`~ui.recording.RecordingMonitor` and sends the status line; the newest frame set's
images go to the display under the ``"recording"`` source so the operator sees what is recorded.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

from PySide6 import QtCore

from calibration.progress import CancelToken, Progress
from ui.controllers.display import DisplayController
from ui.jobs import JobHandle, JobRunner
from ui.recording import (
    SYNTHETIC,
    SYNTHETIC_CAMERAS,
    SYNTHETIC_SIZE,
    MonitorSnapshot,
    RecordedTake,
    RecordingMonitor,
    camera_devices,
    record_iter,
)
from ui.scene import SceneFrame, TileFrame

RECORDING = "recording"
STATUS_MS = 200


class _EitherToken(CancelToken):
    """Set when Stop was pressed or the job itself was cancelled (the status bar's Cancel)."""

    def __init__(self, stop: CancelToken, job: CancelToken) -> None:
        super().__init__()
        self._stop = stop
        self._job = job

    @property
    def cancelled(self) -> bool:
        return self._stop.cancelled or self._job.cancelled


def format_status(snapshot: MonitorSnapshot) -> str:
    """``"● REC 00:12.3 · 369 sets · 2 incomplete · 41.7 GB free"``."""
    minutes, seconds = divmod(max(0.0, snapshot.elapsed_s), 60.0)
    free = f"{snapshot.free_bytes / 1e9:.1f} GB free" if snapshot.free_bytes >= 0 else "disk: measuring"
    return (
        f"● REC {int(minutes):02d}:{seconds:04.1f} · {snapshot.frame_sets} sets · "
        f"{snapshot.incomplete} incomplete · {free}"
    )


class RecordingController(QtCore.QObject):
    """Owns the recording state (see the module docstring).

    Signals:
        available_changed(bool, str): whether Record can start, and why not.
        sources_changed(list): the source choices (``"synthetic"``, ``"device:N"``...).
        running_changed(bool): recording started or ended.
        status_changed(str): elapsed time, sets, free disk (5 times a second while recording).
        recorded(object): the :class:`~ui.recording.RecordedTake` of a finished recording.
        error(str): the recording failed (readable line).
    """

    available_changed = QtCore.Signal(bool, str)
    sources_changed = QtCore.Signal(list)
    running_changed = QtCore.Signal(bool)
    status_changed = QtCore.Signal(str)
    recorded = QtCore.Signal(object)
    error = QtCore.Signal(str)

    def __init__(
        self, display: DisplayController, jobs: JobRunner, parent: QtCore.QObject | None = None, *, num_people: int = 2
    ) -> None:
        super().__init__(parent)
        self._display = display
        self._jobs = jobs
        self._root: Path | None = None
        self._handle: JobHandle | None = None
        self._stop: CancelToken | None = None
        self._monitor: RecordingMonitor | None = None
        self._stage_shown = False
        self._last_index = -1
        self.num_people = num_people
        self.num_cameras = SYNTHETIC_CAMERAS
        self.size = SYNTHETIC_SIZE
        self.sources: list[str] = [SYNTHETIC]
        self.source = SYNTHETIC
        self.seconds: float | None = None
        self.last_result: RecordedTake | None = None
        self.last_snapshot: MonitorSnapshot | None = None
        self._timer = QtCore.QTimer(self)
        self._timer.timeout.connect(self._tick)

    @property
    def running(self) -> bool:
        return self._handle is not None

    @property
    def available(self) -> bool:
        return self._root is not None and self._handle is None

    def set_session(self, root: Path | None) -> None:
        """Follow the open session (None: none) and look for camera devices in a job."""
        self._root = Path(root) if root is not None else None
        self._emit_available()
        self._jobs.submit("record-devices", "looking for cameras", lambda _c: camera_devices(), on_result=self._devices)

    def set_source(self, source: str) -> None:
        if source not in self.sources:
            self.error.emit(f"unknown source {source!r}; choose one of {', '.join(self.sources)}")
            return
        self.source = source

    def start(self) -> None:
        """Start recording a new take (in a job)."""
        if self._handle is not None:
            return
        if self._root is None:
            self.error.emit("open or create a session before recording")
            return
        root, source, seconds, people = self._root, self.source, self.seconds, self.num_people
        cameras, size = self.num_cameras, self.size
        monitor = RecordingMonitor(root)
        self._monitor, self._stage_shown, self._last_index = monitor, False, -1
        stop = CancelToken()

        def work(cancel: CancelToken) -> Generator[Progress, None, RecordedTake]:
            either = _EitherToken(stop, cancel)
            return record_iter(
                root, source, monitor, seconds=seconds, num_cameras=cameras, size=size, num_people=people, cancel=either
            )

        self._handle = self._jobs.submit(
            "record",
            "recording",
            work,
            on_result=self._finished,
            on_error=self._failed,
            on_cancelled=self._cancelled,
        )
        self._stop = stop
        self._timer.start(STATUS_MS)
        self.running_changed.emit(True)
        self._emit_available()

    def stop(self) -> None:
        """End the take cleanly (the recorder closes the files; the job answers with the take)."""
        if self._stop is not None:
            self._stop.cancel()
            self.status_changed.emit("stopping…")

    def toggle(self) -> None:
        self.stop() if self._handle is not None else self.start()

    # ------------------------------------------------------------------ internals

    def _emit_available(self) -> None:
        if self._handle is not None:
            self.available_changed.emit(False, "recording…")
        elif self._root is None:
            self.available_changed.emit(False, "open or create a session first")
        else:
            self.available_changed.emit(True, f"record a take from {self.source}")

    def _devices(self, devices: list[str]) -> None:
        self.sources = [SYNTHETIC, *devices]
        if self.source not in self.sources:
            self.source = SYNTHETIC
        self.sources_changed.emit(list(self.sources))

    def _tick(self) -> None:
        monitor = self._monitor
        if monitor is None:
            return
        snapshot = monitor.snapshot()
        self.last_snapshot = snapshot
        if snapshot.stage is not None and not self._stage_shown:
            self._display.present_stage(RECORDING, snapshot.stage)
            self._display.activate(RECORDING)
            self._stage_shown = True
        if self._stage_shown and snapshot.set_index != self._last_index and snapshot.images:
            self._last_index = snapshot.set_index
            tiles = tuple(TileFrame(image=image, status="REC") for image in snapshot.images)
            self._display.present_frame(RECORDING, SceneFrame(snapshot.set_index, snapshot.elapsed_s, tiles))
        self.status_changed.emit(format_status(snapshot))

    def _ended(self) -> None:
        self._tick()
        self._timer.stop()
        self._handle, self._stop, self._monitor = None, None, None
        self.running_changed.emit(False)
        self._emit_available()

    def _finished(self, result: RecordedTake) -> None:
        self.last_result = result
        self._ended()
        self.status_changed.emit(result.summary())
        self.recorded.emit(result)

    def _failed(self, message: str) -> None:
        self._ended()
        self.status_changed.emit(f"failed: {message}")
        self.error.emit(message)

    def _cancelled(self) -> None:
        self._ended()
        self.status_changed.emit("cancelled; the take holds what was recorded")
