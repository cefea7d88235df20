"""Measuring the GUI's responsiveness: event-loop latency and the live view's drawing rate.

* :class:`EventLoopProbe`: a precise timer firing every ``interval_ms``; each firing records how
  late it came (a busy GUI thread makes it late). Its :class:`Latency` summary is what the
  acceptance test and ``tools/gui_responsiveness.py`` report while a take processes.
* :class:`ReplayFeed`: a :class:`~mocap.live.frames.LiveFeed` publishing frames made beforehand
  (with their camera images) at the feed's frame rate, from its own thread. It separates the cost
  of *drawing* the live view from the cost of *making* its frames (the synthetic studio renders
  its four images on the same two cores): the window draws whatever a feed publishes, and this
  feed publishes on time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6 import QtCore

from calibration.rig import CameraRig
from mocap.live.frames import LiveFrame, LiveStats, latency_stats
from mocap.skeleton.layouts import KeypointLayout


@dataclass(frozen=True)
class Latency:
    """How late the probe's timer fired, milliseconds (p50, p99, max over ``samples`` firings)."""

    samples: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    def __str__(self) -> str:
        return (
            f"event-loop latency over {self.samples} ticks: p50 {self.p50_ms:.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms"
        )


class EventLoopProbe(QtCore.QObject):
    """Records the lateness of a timer on the GUI thread (see the module docstring)."""

    def __init__(self, interval_ms: int = 10, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self._timer = QtCore.QTimer(self)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self.late_ms: list[float] = []

    def start(self) -> None:
        self.late_ms = []
        self._last = time.perf_counter()
        self._timer.start(self.interval_ms)

    def stop(self) -> Latency:
        self._timer.stop()
        return self.summary()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.late_ms.append(max(0.0, (now - self._last) * 1000.0 - self.interval_ms))
        self._last = now

    def summary(self) -> Latency:
        values = np.array(self.late_ms) if self.late_ms else np.array([np.nan])
        return Latency(
            len(self.late_ms),
            float(np.percentile(values, 50)),
            float(np.percentile(values, 99)),
            float(np.max(values)),
        )


class ReplayFeed:
    """Publishes ``frames`` in a loop at ``fps`` (see the module docstring).

    Args:
        rig: the cameras of the frames.
        layout: their keypoint layout.
        frames: frames made beforehand (e.g. by ``SyntheticLiveFeed.process``); their ``index``
            is replaced by the publication count.
        fps: publication rate.
    """

    def __init__(self, rig: CameraRig, layout: KeypointLayout, frames: Sequence[LiveFrame], fps: float) -> None:
        if not frames:
            raise ValueError("a replay feed needs at least one frame")
        self._rig, self._layout, self._fps = rig, layout, float(fps)
        self._frames = list(frames)
        self._lock = threading.Lock()
        self._latest: LiveFrame | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._published = 0
        self._started = 0.0

    @property
    def rig(self) -> CameraRig:
        return self._rig

    @property
    def layout(self) -> KeypointLayout:
        return self._layout

    @property
    def fps(self) -> float:
        return self._fps

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="replay-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def latest(self) -> LiveFrame | None:
        with self._lock:
            return self._latest

    def stats(self) -> LiveStats:
        with self._lock:
            published = self._published
        return latency_stats([0.0], published, 0, time.monotonic() - self._started)

    def _run(self) -> None:
        k = 0
        while not self._stop.is_set():
            due = self._started + k / self._fps
            wait = due - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return
            source = self._frames[k % len(self._frames)]
            now = time.monotonic()
            frame = LiveFrame(
                k, now, now, source.xy, source.score, source.slot_person, source.person_ids, source.poses, source.images
            )
            with self._lock:
                self._latest = frame
                self._published += 1
            k += 1
