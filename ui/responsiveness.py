"""Measuring the GUI's responsiveness: event-loop latency and the live view's drawing rate.

* :class:`EventLoopProbe`: a precise timer firing every ``interval_ms``; each firing records how
  late it came (a busy GUI thread makes it late). Its :class:`Latency` summary is what the
  acceptance test and ``tools/gui_responsiveness.py`` report while a take processes.
* :class:`ReplayFeed`: a :class:`~mocap.live.paced.PacedFeed` publishing frames made beforehand
  (with their camera images) at the feed's frame rate, from its own thread. It separates the cost
  of *drawing* the live view from the cost of *making* its frames (the synthetic studio renders
  its four images on the same two cores): the window draws whatever a feed publishes, and this
  feed publishes on time.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6 import QtCore

from calibration.rig import CameraRig
from mocap.live.frames import LiveFrame
from mocap.live.paced import PacedFeed
from mocap.skeleton.layouts import KeypointLayout
from mocap.synthetic.studio import StudioConfig


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


class ReplayFeed(PacedFeed):
    """Publishes ``frames`` in a loop at ``fps`` (see the module docstring).

    Args:
        rig: the cameras of the frames.
        layout: their keypoint layout.
        frames: frames made beforehand (e.g. by ``SyntheticLiveFeed.process``); their ``index``
            and times are replaced by the publication's.
        fps: publication rate.
    """

    def __init__(self, rig: CameraRig, layout: KeypointLayout, frames: Sequence[LiveFrame], fps: float) -> None:
        if not frames:
            raise ValueError("a replay feed needs at least one frame")
        super().__init__("replay-feed")
        self._rig, self._layout, self._fps = rig, layout, float(fps)
        self._frames = list(frames)

    @property
    def rig(self) -> CameraRig:
        return self._rig

    @property
    def layout(self) -> KeypointLayout:
        return self._layout

    @property
    def fps(self) -> float:
        return self._fps

    def make_frame(self, index: int, capture_time_s: float) -> LiveFrame:
        source = self._frames[index % len(self._frames)]
        return dataclasses.replace(
            source, index=index, capture_time_s=capture_time_s, published_time_s=time.monotonic()
        )


def replay_feed(config: StudioConfig, frames: int = 60) -> ReplayFeed:
    """A :class:`ReplayFeed` of the first ``frames`` frame sets of the synthetic studio ``config``
    with their rendered images, made here (a feed factory for a child process, see
    :mod:`ui.live_process`: with ``functools.partial`` it pickles)."""
    from mocap.live.synthetic_feed import SyntheticLiveFeed

    source = SyntheticLiveFeed(config, render_images=True)
    made = [source.process(i, 0.0) for i in range(frames)]
    return ReplayFeed(source.rig, source.layout, made, config.fps)
