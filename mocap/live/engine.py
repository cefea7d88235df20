"""The live engine: cameras -> detector -> tracking -> triangulation -> smoothing -> published poses.

Threads (no Qt; the GUI polls :meth:`LiveEngine.latest`, ``mocap live`` prints :meth:`stats`):

* the :class:`~mocap.capture.grabber.Grabber`'s camera and assembler threads build synchronised
  frame sets from the sources;
* the **intake** thread takes every frame set from the grabber and puts it into a
  :class:`~mocap.live.latest.LatestSlot` (one item: a set the detect worker had no time for is replaced
  and counted as dropped — latest wins, never an unbounded queue). When recording, the intake
  thread runs :func:`~mocap.capture.recorder.record_take` instead, whose per-set callback fills the
  slot: every set is written (by the recorder's own writer threads) while the live path only ever
  sees the newest, so recording does not queue work in front of the live path;
* the **detect** worker takes the newest set and runs the detector on all views at once (one
  ``detect`` call per frame set: the ``blazepose`` backend batches views and people into one
  forward pass on its device), and hands the keypoints on through a second latest-wins slot;
* the **reconstruct** worker takes the newest detections and runs
  :class:`~mocap.live.reconstruct.LiveReconstructor` (association and tracking, weighted DLT,
  one-euro smoothing), then publishes a :class:`~mocap.live.frames.LiveFrame`.

  Two workers make a two-stage pipeline: while frame set k is reconstructed on the CPU, set k+1
  is already in the detector (on the GPU, or in torch/OpenCV code that releases the GIL), so the
  rate is set by the slower stage rather than by their sum; the latency of one set is unchanged.

Times: capture times are the grabber's frame-set times moved to ``time.monotonic()`` (the capture
clock's origin added), so ``LiveFrame.latency_s`` is capture -> publication. Stages per frame
set (milliseconds, ``LiveFrame.stage_ms``): ``sync`` (capture -> set assembled: camera delivery
and waiting for the other cameras), ``queue`` (assembled -> taken by the detect worker),
``detect``, ``handoff`` (detected -> taken by the reconstruct worker), ``associate``,
``triangulate``, ``smooth``; together they make the latency.

A view missing from a frame set (a stalled camera) is shown to an image detector as a black frame
of the camera's size and reports nobody.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from calibration.progress import CancelToken
from calibration.rig import CameraRig
from mocap.association.tracker import TrackerConfig
from mocap.capture.grabber import FrameSet, Grabber, GrabberStats
from mocap.capture.recorder import RecordingResult, record_take
from mocap.capture.sources import CaptureSource
from mocap.detection.protocol import Detector
from mocap.errors import MismatchError, MocapError
from mocap.live.frames import LiveError, LiveFrame, LiveStats, latency_stats
from mocap.live.history import History
from mocap.live.latest import LatestSlot
from mocap.live.reconstruct import LiveReconstructor
from mocap.live.settings import STAGES, Detected, LiveConfig, LiveRecording, StageSummary
from mocap.skeleton.layouts import KeypointLayout

log = logging.getLogger(__name__)


class LiveEngine:
    """Live 3D people from capture sources (module docstring); a :class:`~mocap.live.frames.LiveFeed`.

    Args:
        sources: the cameras (names must be cameras of ``rig``).
        rig: the calibration; its cameras are used in the order of ``sources``.
        detector: the 2D keypoint detector (reset here for the sources' cameras).
        config: engine settings.
        tracker: association and tracking thresholds.
        recording: also record a take into a session.

    Raises:
        MismatchError: a source has no camera in the rig.
    """

    def __init__(
        self,
        sources: Sequence[CaptureSource],
        rig: CameraRig,
        detector: Detector,
        config: LiveConfig | None = None,
        *,
        tracker: TrackerConfig | None = None,
        recording: LiveRecording | None = None,
    ) -> None:
        names = [s.name for s in sources]
        missing = [n for n in names if n not in rig.names]
        if missing:
            raise MismatchError(
                f"cameras {', '.join(missing)} are not in the calibration ({', '.join(rig.names)}); "
                "calibrate them or name the sources after the rig's cameras"
            )
        self.config = config or LiveConfig()
        self._sources = tuple(sources)
        self._rig = rig.subset(names)
        self._detector = detector
        detector.reset(names)
        self._reconstructor = LiveReconstructor(
            self._rig, detector.layout, tracker, self.config.smoothing, min_score=self.config.min_score
        )
        self._recording = recording
        self._blank: dict[int, NDArray[np.uint8]] = {}
        self._slot: LatestSlot[FrameSet] = LatestSlot()
        self._detected: LatestSlot[Detected] = LatestSlot()
        self._lock = threading.Lock()
        self._latest: LiveFrame | None = None
        self._history = History(self.config.history, ("latency_s", *STAGES))
        self._published = 0
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._cancel = CancelToken()
        self._grabber: Grabber | None = None
        self._threads: list[threading.Thread] = []
        self._started = 0.0
        self._stopped: float | None = None
        self._final_grabber_stats: GrabberStats | None = None
        self.recording_result: RecordingResult | None = None

    # ------------------------------------------------------------------ LiveFeed

    @property
    def rig(self) -> CameraRig:
        return self._rig

    @property
    def layout(self) -> KeypointLayout:
        return self._detector.layout

    @property
    def fps(self) -> float:
        return self.config.fps

    def start(self) -> None:
        """Open the sources and start the threads (no-op when running).

        Raises:
            MocapError: no source could be opened (each one's reason in the message), or the
                engine was stopped before (an engine runs once; make a new one).
        """
        if self._grabber is not None:
            return
        if self._stopped is not None:
            raise MocapError("this live engine was stopped; start a new one")
        grabber = Grabber(self._sources, self.config.fps)
        grabber.start()
        try:
            failed = grabber.wait_until_started(self.config.start_timeout_s)
        except MocapError:
            grabber.stop()  # sources too slow to open: leave no thread behind
            raise
        if failed:
            reasons = {c.name: c.error for c in grabber.stats().cameras if c.name in failed}
            text = "; ".join(f"{name}: {reason}" for name, reason in reasons.items())
            if len(failed) == len(self._sources):
                grabber.stop()
                raise MocapError(f"no camera could be started ({text})")
            log.warning("cameras failed to start, going on without them: %s", text)
        self._grabber = grabber
        self._stop.clear()
        self._started = time.monotonic()
        self._threads = [
            threading.Thread(target=self._run_intake, name="live-intake", daemon=True),
            threading.Thread(target=self._run_detect, name="live-detect", daemon=True),
            threading.Thread(target=self._run_reconstruct, name="live-reconstruct", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop capture (closing a recording cleanly) and the worker; waits for the threads."""
        if self._grabber is None:
            return
        self._stop.set()
        self._cancel.cancel()
        intake, *workers = self._threads
        intake.join(timeout=30.0)  # a recording closes its files first
        self._grabber.stop()
        self._slot.close()
        for worker in workers:  # each finishes the item it holds, then sees its slot closed
            worker.join(timeout=30.0)
        self._stopped = time.monotonic()
        self._final_grabber_stats = self._grabber.stats()
        self._grabber = None

    def latest(self) -> LiveFrame | None:
        """The newest published frame set (None before the first).

        Raises:
            LiveError: the engine stopped on an error (chained; also a RuntimeError).
        """
        if self._error is not None:
            raise LiveError(f"the live engine stopped: {self._error}") from self._error
        with self._lock:
            return self._latest

    def stats(self) -> LiveStats:
        """Published frame sets, drops (skipped by latest-wins plus dropped by the grabber), rate
        and latency percentiles over the kept frame sets."""
        with self._lock:
            latencies = self._history.column("latency_s")
            published = self._published
        end = self._stopped if self._stopped is not None else time.monotonic()
        return latency_stats(latencies, published, self.dropped, end - self._started if self._started else 0.0)

    # ------------------------------------------------------------------ more statistics

    @property
    def running(self) -> bool:
        return self._grabber is not None and any(t.is_alive() for t in self._threads)

    @property
    def error(self) -> BaseException | None:
        return self._error

    @property
    def received(self) -> int:
        """Frame sets handed to the live path."""
        return self._slot.put_count

    @property
    def dropped(self) -> int:
        """Frame sets never published: replaced in a slot (before detection or between detection
        and reconstruction), or dropped by the grabber's queue."""
        grabber = self.grabber_stats()
        return self._slot.dropped + self._detected.dropped + (grabber.dropped_sets if grabber is not None else 0)

    @property
    def dropped_fraction(self) -> float:
        """Dropped frame sets over every set the grabber made since the start (0 before any)."""
        grabber = self.grabber_stats()
        offered = self._slot.put_count + (grabber.dropped_sets if grabber is not None else 0)
        return self.dropped / offered if offered else 0.0

    @property
    def tracked_people(self) -> int:
        """People the tracker follows now."""
        return self._reconstructor.num_tracks

    def stage_summary(self) -> dict[str, StageSummary]:
        """Per stage (:data:`STAGES`) mean, median and 95th percentile over the kept frame sets."""
        out = {}
        for stage in STAGES:
            with self._lock:
                values = self._history.column(stage)
            if values.size:
                out[stage] = StageSummary(
                    float(values.mean()), float(np.percentile(values, 50)), float(np.percentile(values, 95))
                )
        return out

    def grabber_stats(self) -> GrabberStats | None:
        """The grabber's counters (None before start; the final ones after stop)."""
        return self._grabber.stats() if self._grabber is not None else self._final_grabber_stats

    # ------------------------------------------------------------------ processing

    def process(self, frame_set: FrameSet, origin_s: float) -> LiveFrame:
        """Detect, track, triangulate and smooth one frame set (both workers' steps in one call).

        Args:
            frame_set: from the grabber.
            origin_s: the capture clock's origin (``time.monotonic()`` at capture time 0).
        """
        return self.reconstruct(self.detect(frame_set, origin_s))

    def detect(self, frame_set: FrameSet, origin_s: float) -> Detected:
        """The detector on every view of ``frame_set`` at once (the detect worker's step)."""
        begin = time.monotonic()
        present = np.array([f is not None for f in frame_set.frames])
        images = tuple(f.image if f is not None else None for f in frame_set.frames)
        t0 = time.perf_counter()
        if self._detector.needs_images:
            shown = [image if image is not None else self._blank_image(v) for v, image in enumerate(images)]
            found = self._detector.detect(shown, frame_set.index)
        else:
            found = self._detector.detect([None] * len(images), frame_set.index)
        xy = np.array(found.xy, dtype=np.float32)
        score = np.array(found.score, dtype=np.float32)
        xy[~present] = np.nan
        score[~present] = 0.0
        t1 = time.perf_counter()
        stages = {
            "sync": 1000 * (frame_set.emitted_s - frame_set.timestamp_s),
            "queue": 1000 * (begin - (origin_s + frame_set.emitted_s)),
            "detect": 1000 * (t1 - t0),
        }
        return Detected(frame_set.index, origin_s + frame_set.timestamp_s, images, xy, score, stages, time.monotonic())

    def reconstruct(self, detected: Detected) -> LiveFrame:
        """Track, triangulate and smooth one detected frame set (the reconstruct worker's step)."""
        begin = time.monotonic()
        people = self._reconstructor.step(detected.index, detected.capture_time_s, detected.xy, detected.score)
        stages = {**detected.stage_ms, "handoff": 1000 * (begin - detected.detected_time_s), **people.stage_ms}
        return LiveFrame(
            index=detected.index,
            capture_time_s=detected.capture_time_s,
            published_time_s=time.monotonic(),
            xy=detected.xy,
            score=detected.score,
            slot_person=people.slot_person,
            person_ids=people.person_ids,
            poses=people.poses,
            images=detected.images if self.config.publish_images else None,
            stage_ms=stages,
        )

    def _blank_image(self, view: int) -> NDArray[np.uint8]:
        blank = self._blank.get(view)
        if blank is None:
            width, height = self._rig.cameras[view].image_size
            blank = self._blank[view] = np.zeros((height, width, 3), dtype=np.uint8)
        return blank

    def _run_intake(self) -> None:
        grabber = self._grabber
        assert grabber is not None  # set by start() before the thread starts
        try:
            if self._recording is not None:
                recording = self._recording
                self.recording_result = record_take(
                    recording.session,
                    grabber,
                    name=recording.name,
                    config=recording.config,
                    source=recording.source,
                    synthetic=recording.synthetic,
                    cancel=self._cancel,
                    on_set=self._slot.put,
                )
            else:
                while not self._stop.is_set():
                    frame_set = grabber.get(timeout=0.2)
                    if frame_set is not None:
                        self._slot.put(frame_set)
                    elif grabber.finished:
                        break
        except BaseException as exc:  # reported to the consumer by latest()
            log.error("live capture failed: %s", exc)
            self._error = exc
        finally:
            self._slot.close()

    def _run_detect(self) -> None:
        grabber = self._grabber
        assert grabber is not None  # set by start() before the thread starts
        origin = grabber.clock.origin
        try:
            while True:
                frame_set = self._slot.take(timeout=0.2)
                if frame_set is None:
                    if self._slot.closed:
                        return
                    continue
                self._detected.put(self.detect(frame_set, origin))
        except BaseException as exc:  # reported to the consumer by latest()
            log.error("live detection failed: %s", exc)
            self._error = exc
        finally:
            self._detected.close()

    def _run_reconstruct(self) -> None:
        try:
            while True:
                detected = self._detected.take(timeout=0.2)
                if detected is None:
                    if self._detected.closed:
                        return
                    continue
                frame = self.reconstruct(detected)
                with self._lock:
                    self._latest = frame
                    self._published += 1
                    self._history.append({"latency_s": frame.latency_s, **frame.stage_ms})
        except BaseException as exc:  # reported to the consumer by latest()
            log.error("live reconstruction failed: %s", exc)
            self._error = exc
