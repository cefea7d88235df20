"""Capture sources: cameras, video files and the rendered synthetic studio, as timestamped frames.

Every source follows :class:`CaptureSource`: ``open(clock)``, then ``read()`` blocks until the
next frame and returns a :class:`TimestampedFrame` (or None once the stream has ended: end of
file, camera unplugged), then ``close()``. One grabber thread owns one source, so sources need
not be thread-safe.

Timestamps are seconds on a shared :class:`CaptureClock` (monotonic, zero when the capture
starts), taken as close to the exposure as the source can tell: the end of ``grab()`` for an
OpenCV device, the scheduled exposure time for the synthetic studio, ``k / fps`` after the start
for a video file.

* :class:`DeviceSource`: an OpenCV ``VideoCapture`` by index (``/dev/videoN``) or path/URL, with
  requested resolution, fps and MJPG; a device that fails ``max_failures`` reads in a row is
  reported as disconnected (None).
* :class:`VideoFileSource`: a video file through :func:`calibration.media.open_frames`, paced
  in real time or as fast as the consumer reads.
* :class:`SyntheticSource`: one camera of the synthetic studio rendered by
  :class:`mocap.synthetic.render.SceneRenderer`, free-running on its own clock: a phase, a rate
  error (ppm) and timestamp jitter like a real camera, ticks skipped when the machine is too busy
  (as a camera drops frames), and test hooks to stall or disconnect it mid-take.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from calibration.media import FrameSource, open_frames
from mocap.errors import MissingFileError, MocapError
from mocap.synthetic.render import SceneRenderer

log = logging.getLogger(__name__)


class SourceError(MocapError, RuntimeError):
    """A capture source cannot be opened or read (names the source)."""


class CaptureClock:
    """Seconds since the capture started, on the monotonic clock shared by all sources."""

    def __init__(self, origin: float | None = None) -> None:
        self.origin = time.monotonic() if origin is None else origin

    def now(self) -> float:
        return time.monotonic() - self.origin

    def sleep_until(self, t: float, stop: threading.Event | None = None) -> bool:
        """Sleep until clock time ``t``; returns False early when ``stop`` is set."""
        while True:
            remaining = t - self.now()
            if remaining <= 0:
                return True
            if stop is not None:
                if stop.wait(min(remaining, 0.05)):
                    return False
            else:
                time.sleep(min(remaining, 0.05))


@dataclass(frozen=True, eq=False)
class TimestampedFrame:
    """One frame from one camera.

    Attributes:
        camera: the source's name.
        index: the source's own frame counter (skipped ticks leave holes).
        timestamp_s: capture time on the :class:`CaptureClock`, seconds.
        image: BGR uint8 (height, width, 3).
        arrival_s: when the grabber received it, same clock (NaN until then).
    """

    camera: str
    index: int
    timestamp_s: float
    image: NDArray[np.uint8] = field(repr=False)
    arrival_s: float = math.nan


class CaptureSource(Protocol):
    """What the grabber needs from a camera (module docstring)."""

    name: str
    size: tuple[int, int]
    fps: float

    def open(self, clock: CaptureClock) -> None: ...

    def read(self) -> TimestampedFrame | None: ...

    def close(self) -> None: ...


class DeviceSource:
    """An OpenCV capture device (index or path/URL).

    Args:
        device: camera index (``0`` = ``/dev/video0``) or a path/URL OpenCV can open.
        name: camera name in the take.
        size: requested (width, height), or None for the device default.
        fps: requested frame rate, or None for the device default.
        mjpg: ask for MJPG (USB cameras reach full rate at high resolution only with it).
        max_failures: failed reads in a row that mean the device is gone.
    """

    def __init__(
        self,
        device: int | str,
        name: str,
        *,
        size: tuple[int, int] | None = None,
        fps: float | None = None,
        mjpg: bool = False,
        max_failures: int = 30,
    ) -> None:
        self.device = device
        self.name = name
        self.size = size or (0, 0)
        self.fps = fps or 0.0
        self.mjpg = mjpg
        self.max_failures = max_failures
        self._capture: Any = None
        self._clock = CaptureClock()
        self._count = 0

    def open(self, clock: CaptureClock) -> None:
        import cv2

        self._clock = clock
        capture = cv2.VideoCapture(self.device)
        if not capture.isOpened():
            raise SourceError(f"camera {self.name}: cannot open device {self.device!r}; check it is connected and free")
        if self.mjpg:
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        if self.size != (0, 0):
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        if self.fps:
            capture.set(cv2.CAP_PROP_FPS, self.fps)
        ok, frame = capture.read()
        if not ok or frame is None:
            capture.release()
            raise SourceError(f"camera {self.name}: device {self.device!r} opened but delivers no frame")
        actual = (frame.shape[1], frame.shape[0])
        if self.size != (0, 0) and actual != self.size:
            log.warning("camera %s: asked for %dx%d, device gives %dx%d", self.name, *self.size, *actual)
        self.size = actual
        self.fps = float(capture.get(cv2.CAP_PROP_FPS)) or self.fps or 30.0
        self._capture = capture

    def read(self) -> TimestampedFrame | None:
        if self._capture is None:
            raise SourceError(f"camera {self.name}: read before open")
        failures = 0
        while failures < self.max_failures:
            if self._capture.grab():
                stamp = self._clock.now()  # right after the frame arrived: closest to exposure we know
                ok, image = self._capture.retrieve()
                if ok and image is not None:
                    self._count += 1
                    return TimestampedFrame(self.name, self._count - 1, stamp, np.asarray(image, dtype=np.uint8))
            failures += 1
        log.warning("camera %s: %d failed reads in a row; treating it as disconnected", self.name, failures)
        return None

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class VideoFileSource:
    """Frames of a video file (or image folder) as a capture source.

    Args:
        path: the file.
        name: camera name (default: the file stem).
        fps: frame rate (default: the file's, else 30).
        realtime: deliver frames at their rate (as a camera would); else as fast as read.
        loop: start again at the end instead of ending the stream.
    """

    def __init__(
        self,
        path: str | Path,
        name: str | None = None,
        *,
        fps: float | None = None,
        realtime: bool = True,
        loop: bool = False,
    ) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise MissingFileError(f"{self.path}: no such video file")
        self.name = name or self.path.stem
        self.realtime = realtime
        self.loop = loop
        self._media: FrameSource | None = None
        self._frames: Any = None
        self._clock = CaptureClock()
        self._count = 0
        self._start = 0.0
        self.fps = fps or 0.0
        self.size = (0, 0)

    def open(self, clock: CaptureClock) -> None:
        self._clock = clock
        self._media = open_frames(self.path)
        self.fps = self.fps or self._media.info.fps or 30.0
        self.size = self._media.info.size
        self._frames = self._media.frames()
        self._start = clock.now()

    def read(self) -> TimestampedFrame | None:
        if self._media is None:
            raise SourceError(f"camera {self.name}: read before open")
        item = next(self._frames, None)
        if item is None and self.loop and self._count:
            self._frames = self._media.frames()
            item = next(self._frames, None)
        if item is None:
            return None
        stamp = self._start + self._count / self.fps
        if self.realtime:
            self._clock.sleep_until(stamp)
        self._count += 1
        return TimestampedFrame(self.name, self._count - 1, stamp, item[1])

    def close(self) -> None:
        if self._media is not None:
            self._media.close()
            self._media = None


@dataclass(frozen=True)
class Stall:
    """A stretch of capture time (seconds from the start) during which a camera freezes."""

    start_s: float
    duration_s: float


class SyntheticSource:
    """One rendered camera of the synthetic studio (module docstring).

    Args:
        renderer: the scene (shared by the cameras of a rig; rendering different views from
            several threads is safe).
        view: camera index in the renderer's rig.
        fps: nominal frame rate.
        phase_s: exposure times are ``phase_s + k / (fps * (1 + drift_ppm 1e-6))`` on the capture
            clock, whose origin all cameras share.
        drift_ppm: rate error of this camera's clock, parts per million.
        jitter_s: standard deviation of timestamp noise, seconds.
        scene_offset_s: the scene this camera shows runs this much ahead (unsynchronised video).
        stalls: stretches of capture time during which no frame is produced.
        disconnect_at_s: capture time after which the camera is gone (read returns None).
        frame_code: draw the tick number into each frame (:func:`mocap.synthetic.render.read_code`).
        seed: seed of the jitter.
    """

    def __init__(
        self,
        renderer: SceneRenderer,
        view: int,
        fps: float = 30.0,
        *,
        phase_s: float = 0.0,
        drift_ppm: float = 0.0,
        jitter_s: float = 0.0,
        scene_offset_s: float = 0.0,
        stalls: tuple[Stall, ...] = (),
        disconnect_at_s: float | None = None,
        frame_code: bool = True,
        seed: int = 0,
    ) -> None:
        self.renderer = renderer
        self.view = view
        camera = renderer.rig.cameras[view]
        self.name = camera.name
        self.size = camera.image_size
        self.fps = float(fps)
        self.phase_s = phase_s
        self.period_s = 1.0 / (self.fps * (1.0 + drift_ppm * 1e-6))
        self.jitter_s = jitter_s
        self.scene_offset_s = scene_offset_s
        self.stalls = stalls
        self.disconnect_at_s = disconnect_at_s
        self.frame_code = frame_code
        self.skipped = 0
        self._rng = np.random.default_rng(seed)
        self._clock = CaptureClock()
        self._tick = 0
        self.stop_event = threading.Event()

    def open(self, clock: CaptureClock) -> None:
        self._clock = clock
        self.renderer.background(self.view)  # the static part, drawn once
        self._tick = max(0, math.ceil((clock.now() - self.phase_s) / self.period_s))

    def tick_time(self, tick: int) -> float:
        """Exposure time of tick ``tick`` on the capture clock (all cameras share its origin)."""
        return self.phase_s + tick * self.period_s

    def scene_time(self, tick: int) -> float:
        """The scene time frame ``tick`` shows (its exposure time plus ``scene_offset_s``)."""
        return self.tick_time(tick) + self.scene_offset_s

    def _stalled_until(self, t: float) -> float | None:
        for stall in self.stalls:
            if stall.start_s <= t < stall.start_s + stall.duration_s:
                return stall.start_s + stall.duration_s
        return None

    def read(self) -> TimestampedFrame | None:
        while True:
            exposure = self.tick_time(self._tick)
            if self.disconnect_at_s is not None and exposure >= self.disconnect_at_s:
                return None
            frozen_until = self._stalled_until(exposure)
            if frozen_until is not None:  # a frozen camera: nothing comes out until it recovers
                if not self._clock.sleep_until(frozen_until, self.stop_event):
                    return None
                self._tick = math.ceil((frozen_until - self.phase_s) / self.period_s)
                continue
            if not self._clock.sleep_until(exposure, self.stop_event):
                return None
            late = self._clock.now() - exposure
            if late > self.period_s:  # the machine was busy: a real camera would have dropped these
                missed = int(late / self.period_s)
                self.skipped += missed
                self._tick += missed
                continue
            tick = self._tick
            self._tick += 1
            image = self.renderer.render(self.view, self.scene_time(tick), code=tick if self.frame_code else None)
            stamp = exposure + (float(self._rng.normal(0.0, self.jitter_s)) if self.jitter_s else 0.0)
            return TimestampedFrame(self.name, tick, stamp, image)

    def close(self) -> None:
        self.stop_event.set()
