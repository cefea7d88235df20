"""The multi-camera grabber: a thread per camera, frame sets by nearest timestamp, statistics.

Threads and queues:

* one **camera thread** per source reads frames as fast as the source delivers them, stamps
  their arrival and appends them to that camera's bounded buffer (``buffer_s`` seconds of
  frames; on overflow the oldest frame is dropped and counted);
* one **assembler thread** builds frame sets and puts them on a bounded output queue
  (``output_sets``; on overflow the oldest set is dropped and counted: a slow consumer never
  makes memory grow);
* the consumer (recorder, live engine, GUI) takes sets with :meth:`Grabber.get`.

Frame sets: the *reference* camera is the first camera (in the given order) that is live and has
a frame; its oldest frame's timestamp ``tau`` is the set's time. When the reference skipped an
instant (its next frame is more than 1.5 periods after the last set) that another camera has a
frame for, that instant (last set + one period) gets a set of its own with a gap for the
reference, rather than the other cameras' frames being discarded. For every other camera the
buffered frame nearest to ``tau`` within ``tolerance_s`` (default half a frame period) joins the
set; frames older than ``tau - tolerance_s`` can no longer match any set and are discarded
(counted as unmatched). When a camera has no frame near ``tau`` yet, the assembler waits for it,
at most until the camera counts as stalled (``stall_timeout_s`` without a frame) — then the set
goes out without it and the camera's entry is None: a gap. A stalled camera that delivers again
rejoins the next set; a camera whose source ended or failed is reported and the others go on.

Statistics (:class:`GrabberStats`): per camera frames, drops, unmatched frames, frames the source
skipped itself, latency (arrival - capture), clock drift against the reference camera (ppm, from
a line fitted to timestamp differences), stalls and state; per take sets, incomplete sets,
dropped sets and the sync error (largest ``|timestamp - tau|`` in a set).
"""

from __future__ import annotations

import collections
import logging
import math
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from mocap.capture.sources import CaptureClock, CaptureSource, TimestampedFrame
from mocap.errors import MocapError

log = logging.getLogger(__name__)

#: Matched frames per camera kept for the clock-drift fit (about 20 minutes at 30 fps).
OFFSET_HISTORY = 36_000

CameraState = Literal["starting", "live", "stalled", "ended", "failed"]


@dataclass(frozen=True, eq=False)
class FrameSet:
    """Frames of every camera from one instant.

    Attributes:
        index: set number from 0.
        timestamp_s: the reference camera's capture time, seconds on the capture clock.
        frames: one entry per camera in grabber order; None where the camera had no frame.
        emitted_s: when the set left the assembler (same clock).
    """

    index: int
    timestamp_s: float
    frames: tuple[TimestampedFrame | None, ...] = field(repr=False)
    emitted_s: float = math.nan

    @property
    def complete(self) -> bool:
        return all(f is not None for f in self.frames)

    @property
    def sync_error_s(self) -> float:
        """Largest distance of a member's timestamp from the set time (0 for one camera)."""
        return max((abs(f.timestamp_s - self.timestamp_s) for f in self.frames if f is not None), default=0.0)


@dataclass
class CameraStats:
    """Counters of one camera (see the module docstring). Latency in seconds."""

    name: str
    state: CameraState = "starting"
    frames: int = 0
    dropped: int = 0
    unmatched: int = 0
    source_skipped: int = 0
    stalls: int = 0
    in_sets: int = 0
    latency_mean_s: float = math.nan
    latency_max_s: float = math.nan
    drift_ppm: float = math.nan
    error: str = ""


@dataclass
class GrabberStats:
    """Counters of the whole capture."""

    frame_sets: int = 0
    incomplete_sets: int = 0
    dropped_sets: int = 0
    sync_error_max_s: float = 0.0
    sync_error_mean_s: float = 0.0
    cameras: list[CameraStats] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """Plain values for ``take.toml`` (NaN written as -1)."""

        def clean(value: object) -> object:
            return -1.0 if isinstance(value, float) and not math.isfinite(value) else value

        return {
            "frame_sets": self.frame_sets,
            "incomplete_sets": self.incomplete_sets,
            "dropped_sets": self.dropped_sets,
            "sync_error_max_s": self.sync_error_max_s,
            "sync_error_mean_s": self.sync_error_mean_s,
            "cameras": {c.name: {k: clean(v) for k, v in vars(c).items() if k != "name"} for c in self.cameras},
        }


class _Camera:
    """A camera thread's state, shared with the assembler under the grabber's condition."""

    def __init__(self, source: CaptureSource, capacity: int) -> None:
        self.source = source
        self.buffer: collections.deque[TimestampedFrame] = collections.deque()
        self.capacity = capacity
        self.stats = CameraStats(source.name)
        self.last_arrival = math.nan
        # running latency summary (a list would grow for as long as the grabber runs)
        self.latency_sum = 0.0
        self.latency_count = 0
        self.latency_max = -math.inf
        # (tau, timestamp - tau) of matched frames, the last OFFSET_HISTORY of them for the drift fit
        self.offsets: collections.deque[tuple[float, float]] = collections.deque(maxlen=OFFSET_HISTORY)
        self.thread: threading.Thread | None = None

    @property
    def done(self) -> bool:
        return self.stats.state in ("ended", "failed")


class Grabber:
    """Synchronised frame sets from several sources (module docstring).

    Args:
        sources: the cameras, in take order (names must be unique).
        fps: nominal frame rate (sets the tolerance and timeouts).
        tolerance_s: largest timestamp distance for a frame to join a set (default half a period).
        stall_timeout_s: time without frames after which a camera counts as stalled
            (default 8 periods, at least 0.25 s).
        buffer_s: seconds of frames each camera may buffer.
        output_sets: frame sets the output queue holds before the oldest is dropped.
        clock: the capture clock (default: a new one starting now).

    Use as a context manager (``start``/``stop``).
    """

    def __init__(
        self,
        sources: Sequence[CaptureSource],
        fps: float,
        *,
        tolerance_s: float | None = None,
        stall_timeout_s: float | None = None,
        buffer_s: float = 2.0,
        output_sets: int = 120,
        clock: CaptureClock | None = None,
    ) -> None:
        names = [s.name for s in sources]
        if not sources:
            raise MocapError("no capture source given")
        if len(set(names)) != len(names):
            raise MocapError(f"camera names repeat: {', '.join(names)}")
        self.fps = float(fps)
        self.period_s = 1.0 / self.fps
        self.tolerance_s = 0.5 * self.period_s if tolerance_s is None else tolerance_s
        self.stall_timeout_s = stall_timeout_s or max(0.25, 8 * self.period_s)
        self.clock = clock or CaptureClock()
        capacity = max(4, math.ceil(buffer_s * self.fps))
        self._cameras = [_Camera(s, capacity) for s in sources]
        self._condition = threading.Condition()
        self._stop = threading.Event()
        self._output: queue.Queue[FrameSet | None] = queue.Queue(maxsize=output_sets)
        self._stats = GrabberStats(cameras=[c.stats for c in self._cameras])
        self._sync_sum = 0.0
        self._assembler: threading.Thread | None = None
        self._last_tau = -math.inf

    @property
    def camera_names(self) -> tuple[str, ...]:
        return tuple(c.source.name for c in self._cameras)

    def camera_sizes(self) -> dict[str, tuple[int, int]]:
        """(width, height) per camera, as the opened sources report them."""
        return {c.source.name: tuple(c.source.size) for c in self._cameras}  # type: ignore[misc]

    # ------------------------------------------------------------------ life cycle

    def start(self) -> Grabber:
        for index, camera in enumerate(self._cameras):
            camera.thread = threading.Thread(
                target=self._run_camera, args=(camera,), name=f"grab-{index}-{camera.source.name}", daemon=True
            )
            camera.thread.start()
        self._assembler = threading.Thread(target=self._run_assembler, name="grab-assembler", daemon=True)
        self._assembler.start()
        return self

    def stop(self) -> None:
        """Stop every thread and close the sources (frames still buffered are discarded)."""
        self._stop.set()
        for camera in self._cameras:
            stop_event = getattr(camera.source, "stop_event", None)
            if stop_event is not None:
                stop_event.set()
        with self._condition:
            self._condition.notify_all()
        for camera in self._cameras:
            if camera.thread is not None:
                camera.thread.join(timeout=5.0)
        if self._assembler is not None:
            self._assembler.join(timeout=5.0)

    def __enter__(self) -> Grabber:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def get(self, timeout: float | None = None) -> FrameSet | None:
        """The next frame set; None when every camera has ended (or on timeout).

        Raises:
            queue.Empty is never raised: a timeout returns None too; check :attr:`finished`.
        """
        try:
            return self._output.get(timeout=timeout)
        except queue.Empty:
            return None

    def wait_until_started(self, timeout: float = 30.0) -> list[str]:
        """Block until every source has opened (or failed); returns the names of failed ones."""
        deadline = self.clock.now() + timeout
        with self._condition:
            while any(c.stats.state == "starting" for c in self._cameras):
                remaining = deadline - self.clock.now()
                if remaining <= 0:
                    slow = [c.source.name for c in self._cameras if c.stats.state == "starting"]
                    raise MocapError(f"cameras {', '.join(slow)} did not start within {timeout:.0f} s")
                self._condition.wait(timeout=min(remaining, 0.1))
            return [c.source.name for c in self._cameras if c.stats.state == "failed"]

    @property
    def finished(self) -> bool:
        """True once every camera ended or failed and every set was handed out."""
        return self._assembler is not None and not self._assembler.is_alive() and self._output.empty()

    def stats(self) -> GrabberStats:
        """A snapshot of the counters (latency and drift summarised now)."""
        with self._condition:
            for camera in self._cameras:
                if camera.latency_count:
                    camera.stats.latency_mean_s = camera.latency_sum / camera.latency_count
                    camera.stats.latency_max_s = camera.latency_max
                if len(camera.offsets) >= 10:
                    taus, offsets = np.asarray(camera.offsets).T
                    offsets = np.unwrap(offsets, period=self.period_s)  # a frame slip is not a jump in time
                    if np.ptp(taus) > 0:
                        camera.stats.drift_ppm = float(np.polyfit(taus, offsets, 1)[0] * 1e6)
                camera.stats.source_skipped = int(getattr(camera.source, "skipped", 0))
            snapshot = GrabberStats(**{k: v for k, v in vars(self._stats).items() if k != "cameras"})
            snapshot.cameras = [CameraStats(**vars(c.stats)) for c in self._cameras]
            return snapshot

    # ------------------------------------------------------------------ camera threads

    def _run_camera(self, camera: _Camera) -> None:
        source = camera.source
        try:
            source.open(self.clock)
        except Exception as exc:  # any failure of a source is reported, the others go on
            self._finish_camera(camera, "failed", f"{exc}")
            return
        with self._condition:
            camera.stats.state = "live"
            camera.last_arrival = self.clock.now()  # the stall timer starts when the source is open
            self._condition.notify_all()
        try:
            while not self._stop.is_set():
                frame = source.read()
                if frame is None:
                    self._finish_camera(camera, "ended", "")
                    return
                arrival = self.clock.now()
                stamped = TimestampedFrame(frame.camera, frame.index, frame.timestamp_s, frame.image, arrival)
                with self._condition:
                    camera.buffer.append(stamped)
                    camera.stats.frames += 1
                    camera.last_arrival = arrival
                    latency = arrival - frame.timestamp_s
                    camera.latency_sum += latency
                    camera.latency_count += 1
                    camera.latency_max = max(camera.latency_max, latency)
                    if camera.stats.state == "stalled":
                        camera.stats.state = "live"
                        log.warning("camera %s: delivering again", camera.source.name)
                    while len(camera.buffer) > camera.capacity:
                        camera.buffer.popleft()
                        camera.stats.dropped += 1
                    self._condition.notify_all()
        except Exception as exc:  # a camera that fails mid-take is reported, the others go on
            self._finish_camera(camera, "failed", f"{exc}")
        finally:
            try:
                source.close()
            except Exception as exc:  # closing a broken device must not hide the first error
                log.warning("camera %s: close failed: %s", camera.source.name, exc)

    def _finish_camera(self, camera: _Camera, state: CameraState, error: str) -> None:
        with self._condition:
            camera.stats.state = state
            camera.stats.error = error
            self._condition.notify_all()
        if state == "failed":
            log.error("camera %s failed: %s; the other cameras go on", camera.source.name, error)
        else:
            log.info("camera %s: stream ended", camera.source.name)

    # ------------------------------------------------------------------ assembler

    def _update_stalls(self, now: float) -> None:
        for camera in self._cameras:
            if camera.stats.state != "live":
                continue
            last = camera.last_arrival if math.isfinite(camera.last_arrival) else 0.0
            if now - last > self.stall_timeout_s and not camera.buffer:
                camera.stats.state = "stalled"
                camera.stats.stalls += 1
                log.warning("camera %s: no frame for %.2f s; going on without it", camera.source.name, now - last)

    def _reference(self) -> _Camera | None:
        for camera in self._cameras:
            if camera.buffer and camera.stats.state in ("live", "stalled", "ended", "failed"):
                return camera
        return None

    def _ready(self, camera: _Camera, tau: float, now: float) -> bool:
        """True when waiting longer cannot bring ``camera`` a better frame for ``tau``."""
        if camera.stats.state != "live":
            return True
        if any(abs(f.timestamp_s - tau) <= self.tolerance_s or f.timestamp_s > tau for f in camera.buffer):
            return True
        return now - tau > self.stall_timeout_s

    def _run_assembler(self) -> None:
        index = 0
        while True:
            with self._condition:
                while True:
                    now = self.clock.now()
                    self._update_stalls(now)
                    starting = any(c.stats.state == "starting" for c in self._cameras)
                    reference = None if starting else self._reference()
                    if reference is not None:
                        tau = reference.buffer[0].timestamp_s
                        if tau <= self._last_tau:  # already past this instant (reference changed)
                            reference.buffer.popleft()
                            reference.stats.unmatched += 1
                            continue
                        tau = self._missed_instant(reference, tau)
                        if all(self._ready(c, tau, now) for c in self._cameras if c is not reference):
                            break
                    elif all(c.done for c in self._cameras) or self._stop.is_set():
                        self._output.put(None)
                        return
                    self._condition.wait(timeout=min(0.05, self.period_s))
                frames = tuple(self._take_nearest(c, tau) for c in self._cameras)
                self._last_tau = tau
            frame_set = FrameSet(index, tau, frames, self.clock.now())
            index += 1
            self._account(frame_set)
            self._emit(frame_set)

    def _missed_instant(self, reference: _Camera, tau: float) -> float:
        """``tau``, or the instant one period after the last set when the reference skipped it.

        A reference camera that skipped a frame (a busy machine, a hiccup) would otherwise take
        the other cameras' frames of that instant down with it (too old for the next set); when
        another camera holds a frame for it, that instant gets its set, with a gap for the
        reference.
        """
        if not math.isfinite(self._last_tau) or tau - self._last_tau <= 1.5 * self.period_s:
            return tau
        predicted = self._last_tau + self.period_s
        others = (c for c in self._cameras if c is not reference)
        if any(abs(f.timestamp_s - predicted) <= self.tolerance_s for c in others for f in c.buffer):
            return predicted
        return tau

    def _take_nearest(self, camera: _Camera, tau: float) -> TimestampedFrame | None:
        while camera.buffer and camera.buffer[0].timestamp_s < tau - self.tolerance_s:
            camera.buffer.popleft()
            camera.stats.unmatched += 1
        best = None
        for i, frame in enumerate(camera.buffer):
            distance = abs(frame.timestamp_s - tau)
            if distance > self.tolerance_s:
                if frame.timestamp_s > tau:
                    break
                continue
            if best is None or distance < abs(camera.buffer[best].timestamp_s - tau):
                best = i
        if best is None:
            return None
        for _ in range(best):  # frames before the chosen one lost their chance
            camera.buffer.popleft()
            camera.stats.unmatched += 1
        frame = camera.buffer.popleft()
        camera.stats.in_sets += 1
        if len(camera.offsets) < 100_000:
            camera.offsets.append((tau, frame.timestamp_s - tau))
        return frame

    def _account(self, frame_set: FrameSet) -> None:
        with self._condition:
            stats = self._stats
            stats.frame_sets += 1
            if not frame_set.complete:
                stats.incomplete_sets += 1
            error = frame_set.sync_error_s
            stats.sync_error_max_s = max(stats.sync_error_max_s, error)
            self._sync_sum += error
            stats.sync_error_mean_s = self._sync_sum / stats.frame_sets

    def _emit(self, frame_set: FrameSet) -> None:
        while True:
            try:
                self._output.put_nowait(frame_set)
                return
            except queue.Full:
                try:
                    self._output.get_nowait()  # latest wins: a slow consumer loses the oldest set
                    with self._condition:
                        self._stats.dropped_sets += 1
                except queue.Empty:
                    pass
