"""Recording a take from the GUI: the sources, the recording job and what it shows while it runs. No Qt.

:func:`record_iter` (run in a job) opens the capture sources, starts a
:class:`~mocap.capture.grabber.Grabber` and drives :func:`mocap.capture.recorder.record_take`
until its cancel token is set (the Stop button) or ``seconds`` have been recorded. The recorder
calls back on every frame set on the job's thread; :class:`RecordingMonitor` keeps what the GUI
shows (elapsed time, frame sets, drops, free disk space measured once a second on that thread,
the newest frame set's images) behind a lock, and the controller's timer reads a
:class:`MonitorSnapshot` of it. The GUI thread never touches the frames' files or the disk.

Sources: OpenCV cameras when ``/dev/video*`` devices exist and the user picks them; otherwise the
rendered synthetic studio (:func:`mocap.capture.setup.synthetic_capture`), whose rig becomes the
session's calibration when the session has none (as ``mocap record`` does).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calibration.progress import CancelToken, Progress
from ui.scene import Stage, stage_from_rig

SYNTHETIC = "synthetic"
#: Synthetic studio of the recording panel: 4 cameras at 640x480, 30 fps.
SYNTHETIC_CAMERAS = 4
SYNTHETIC_SIZE = (640, 480)
FPS = 30.0


def camera_devices(dev: Path = Path("/dev")) -> list[str]:
    """``device:N`` specs of the video devices present (sorted by number), for the source choice."""
    found = []
    for path in dev.glob("video*"):
        suffix = path.name[len("video") :]
        if suffix.isdigit():
            found.append(int(suffix))
    return [f"device:{n}" for n in sorted(found)]


@dataclass(frozen=True, eq=False)
class MonitorSnapshot:
    """What the recording panel shows.

    Attributes:
        elapsed_s: seconds since the first frame set (0 before it).
        frame_sets: frame sets recorded.
        incomplete: sets where a camera had no frame.
        free_bytes: free disk space at the session, -1 before the first measurement.
        stage: the cameras being recorded (None until the sources are open).
        images: the newest frame set's images per camera (None where a camera had no frame).
        set_index: index of that frame set (-1: none yet).
    """

    elapsed_s: float
    frame_sets: int
    incomplete: int
    free_bytes: int
    stage: Stage | None = field(default=None, repr=False)
    images: tuple[NDArray[np.uint8] | None, ...] = field(default=(), repr=False)
    set_index: int = -1


class RecordingMonitor:
    """Thread-safe record of a running recording (written by the job, read by the GUI's timer)."""

    def __init__(self, disk_folder: Path, disk_usage: Callable[[Path], Any] = shutil.disk_usage) -> None:
        self._lock = threading.Lock()
        self._folder = disk_folder
        self._disk_usage = disk_usage
        self._first: float | None = None
        self._last = 0.0
        self._sets = 0
        self._incomplete = 0
        self._free = -1
        self._next_disk = 0.0
        self._stage: Stage | None = None
        self._images: tuple[NDArray[np.uint8] | None, ...] = ()
        self._index = -1

    def set_stage(self, stage: Stage) -> None:
        with self._lock:
            self._stage = stage

    def measure_disk(self) -> None:
        """Measure the free space now (called on the recording thread)."""
        free = int(self._disk_usage(self._folder).free)
        with self._lock:
            self._free = free
            self._next_disk = time.monotonic() + 1.0

    def on_set(self, frame_set: Any) -> None:
        """The recorder's per-set callback (a :class:`~mocap.capture.grabber.FrameSet`)."""
        images = tuple(f.image if f is not None else None for f in frame_set.frames)
        now = time.monotonic()
        with self._lock:
            if self._first is None:
                self._first = float(frame_set.timestamp_s)
            self._last = float(frame_set.timestamp_s)
            self._sets += 1
            self._incomplete += 0 if frame_set.complete else 1
            self._images = images
            self._index = int(frame_set.index)
            due = now >= self._next_disk
        if due:
            self.measure_disk()

    def snapshot(self) -> MonitorSnapshot:
        with self._lock:
            elapsed = self._last - self._first if self._first is not None else 0.0
            return MonitorSnapshot(
                elapsed + (1.0 / FPS if self._sets else 0.0),
                self._sets,
                self._incomplete,
                self._free,
                self._stage,
                self._images,
                self._index,
            )


@dataclass(frozen=True)
class RecordedTake:
    """A finished recording.

    Attributes:
        session_root: the session.
        take_name: the new take.
        status: ``complete`` or ``stopped``.
        frame_sets: frame sets written.
        duration_s: seconds recorded.
        stop_reason: why it ended ("stopped by the user", ...).
        dropped_sets: frame sets the grabber dropped.
    """

    session_root: Path
    take_name: str
    status: str
    frame_sets: int
    duration_s: float
    stop_reason: str
    dropped_sets: int

    def summary(self) -> str:
        return (
            f"{self.take_name}: {self.status}, {self.frame_sets} frame sets ({self.duration_s:.1f} s), "
            f"{self.dropped_sets} dropped" + (f"; {self.stop_reason}" if self.stop_reason else "")
        )


def record_iter(
    session_root: Path,
    source: str,
    monitor: RecordingMonitor,
    *,
    seconds: float | None = None,
    num_cameras: int = SYNTHETIC_CAMERAS,
    size: tuple[int, int] = SYNTHETIC_SIZE,
    num_people: int = 2,
    seed: int = 0,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, RecordedTake]:
    """Record a take into the session at ``session_root`` until cancelled (module docstring).

    Args:
        session_root: an existing session.
        source: :data:`SYNTHETIC` or a ``device:N`` spec.
        monitor: receives every frame set.
        seconds: stop after this long (None: until ``cancel`` is set).
        num_cameras: cameras of the synthetic studio.
        size: (width, height) of the synthetic cameras.
        num_people: people of the synthetic studio.
        seed: seed of the synthetic studio.
        cancel: the Stop button.

    Raises:
        MissingFileError, FileFormatError: not a session.
        DiskFullError: too little free space to start, or the disk filled up (the take is closed
            cleanly first).
        RecordingError, SourceError: no camera could be started, or a writer failed.
    """
    from mocap.capture.grabber import Grabber
    from mocap.capture.recorder import record_take
    from mocap.capture.setup import sources_from_specs
    from mocap.session.store import Session

    yield Progress("opening the cameras", 0, None, source)
    session = Session.open(session_root)
    monitor.measure_disk()
    opened = sources_from_specs([source], cameras=num_cameras, fps=FPS, size=size, people=num_people, seed=seed)
    if opened.rig is not None:
        if session.rig_path is None:
            session.set_calibration(opened.rig)
        monitor.set_stage(stage_from_rig(opened.rig, None, "recording: synthetic studio", fps=FPS))
    else:
        names = tuple(s.name for s in opened.sources)
        monitor.set_stage(Stage((), (), (), (), "recording: " + ", ".join(names), 0, FPS))
    yield Progress("recording", 0, None, "until Stop" if seconds is None else f"{seconds:g} s")
    with Grabber(opened.sources, FPS) as grabber:
        result = record_take(
            session,
            grabber,
            seconds=seconds,
            source=opened.label,
            synthetic=opened.synthetic,
            cancel=cancel,
            on_set=monitor.on_set,
        )
    return RecordedTake(
        Path(session_root),
        result.take.name,
        result.status,
        result.frame_sets,
        result.duration_s,
        result.stop_reason,
        result.grabber.dropped_sets,
    )
