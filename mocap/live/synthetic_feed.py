"""A live feed from the synthetic studio: people walk in real time, the simulated detector reports
them, the tracker reconstructs them.

The studio's detector model stands in for the neural detector (which cannot run at 30 fps on a
2-core CPU for four cameras), so the feed exercises association, tracking, triangulation
(:class:`~mocap.live.reconstruct.LiveReconstructor`, as the live engine), publication and the GUI
at full rate without hardware or a GPU. :class:`~mocap.live.engine.LiveEngine` is the real thing:
capture sources, the grabber and a detector on images. Frame ``k`` is due at ``start + k / fps``; when the
feed falls behind it jumps to the frame that is due now and counts the skipped ones as dropped
(latest wins).
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from calibration.rig import CameraRig
from mocap.association.tracker import TrackerConfig
from mocap.filtering.one_euro import OneEuroConfig
from mocap.live.frames import LiveError, LiveFrame, LiveStats, latency_stats
from mocap.live.reconstruct import LiveReconstructor
from mocap.skeleton.layouts import KeypointLayout
from mocap.synthetic.render import SceneRenderer
from mocap.synthetic.studio import StudioConfig, SyntheticWorld


class SyntheticLiveFeed:
    """Real-time synthetic studio (see the module docstring).

    Args:
        config: the studio (``num_frames`` is ignored: the feed runs until stopped).
        tracker: association thresholds.
        render_images: also draw what every camera sees (people as shaded limbs on a textured
            floor, :mod:`mocap.synthetic.render`) into ``LiveFrame.images``; about 4 ms per
            640x480 view with 3 people on this CPU.
        smoothing: one-euro filter of the published joints (None: raw triangulation).
    """

    def __init__(
        self,
        config: StudioConfig,
        tracker: TrackerConfig | None = None,
        *,
        render_images: bool = False,
        smoothing: OneEuroConfig | None = None,
    ) -> None:
        self._world, self._rng = SyntheticWorld.create(config)
        self._renderer: SceneRenderer | None = None
        if render_images:
            self._renderer = SceneRenderer(self._world.rig, self._world.clip, self._world.placements)
        self._reconstructor = LiveReconstructor(self._world.rig, self._world.layout, tracker, smoothing)
        self._lock = threading.Lock()
        self._latest: LiveFrame | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._latencies: deque[float] = deque(maxlen=10_000)
        self._published = 0
        self._dropped = 0
        self._started = 0.0
        self._error: BaseException | None = None

    @property
    def rig(self) -> CameraRig:
        return self._world.rig

    @property
    def layout(self) -> KeypointLayout:
        return self._world.layout

    @property
    def fps(self) -> float:
        return self._world.config.fps

    @property
    def world(self) -> SyntheticWorld:
        return self._world

    def start(self) -> None:
        """Start the feed thread (no-op when running)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="synthetic-live-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the feed thread and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def latest(self) -> LiveFrame | None:
        """The newest published frame set (None before the first).

        Raises:
            LiveError: if the feed thread died (also a RuntimeError); the original error is chained.
        """
        if self._error is not None:
            raise LiveError(f"the live feed stopped: {self._error}") from self._error
        with self._lock:
            return self._latest

    def stats(self) -> LiveStats:
        with self._lock:
            latencies = list(self._latencies)
            published, dropped = self._published, self._dropped
        return latency_stats(latencies, published, dropped, time.monotonic() - self._started)

    def process(self, index: int, capture_time_s: float) -> LiveFrame:
        """Observe and reconstruct frame ``index`` (the work of one tick; public for tests)."""
        world, rig = self._world, self._world.rig
        t0 = time.perf_counter()
        observed = world.observe(np.array([index]), self._rng)
        t1 = time.perf_counter()
        xy, score = observed.xy[0], observed.score[0]  # (V, S, J, 2), (V, S, J)
        people = self._reconstructor.step(index, capture_time_s, xy, score)
        t2 = time.perf_counter()
        images = None
        if self._renderer is not None:
            offsets = world.time_offsets_frames
            images = tuple(self._renderer.render(v, (index + offsets[v]) / self.fps) for v in range(len(rig)))
        t3 = time.perf_counter()
        return LiveFrame(
            index=index,
            capture_time_s=capture_time_s,
            published_time_s=time.monotonic(),
            xy=xy,
            score=score,
            slot_person=people.slot_person,
            person_ids=people.person_ids,
            poses=people.poses,
            images=images,
            stage_ms={"detect (simulated)": 1000 * (t1 - t0), **people.stage_ms, "render": 1000 * (t3 - t2)},
        )

    def _run(self) -> None:
        period = 1.0 / self.fps
        index = -1
        try:
            while not self._stop.is_set():
                due = int((time.monotonic() - self._started) / period)
                if due <= index:
                    self._stop.wait(self._started + (index + 1) * period - time.monotonic())
                    continue
                with self._lock:
                    self._dropped += max(0, due - index - 1)
                index = due
                frame = self.process(index, self._started + index * period)
                with self._lock:
                    self._latest = frame
                    self._published += 1
                    self._latencies.append(frame.latency_s)
        except BaseException as exc:  # reported to the consumer by latest()
            self._error = exc
