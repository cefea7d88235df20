"""The live studio: a :class:`~mocap.live.frames.LiveFeed` polled by a timer, its newest frame
set turned into a :class:`~ui.scene.SceneFrame` for the views.

The feed runs on its own thread and keeps only its newest result; the timer (60 Hz) asks for it
and presents it when it is new (latest wins: a slow paint skips frame sets instead of queueing
them). The window's sources (:mod:`ui.live_sources`) run their feed in a child process
(:class:`~ui.live_process.ProcessFeed`), so the GUI process only draws. Creating the feed (the
studio's world, the child process) and stopping it run as jobs; a stop while the feed is being
made cancels the start. Per camera the controller measures the rate of frames that reached the
view and counts the frame sets skipped between two shown ones (by the feed or by the GUI) as drops.
People keep a trail of their centres over the last two seconds.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6 import QtCore

from calibration.progress import CancelToken, check_cancelled
from mocap.live.frames import LiveFeed, LiveFrame
from ui.controllers.display import LIVE, DisplayController
from ui.jobs import JobHandle, JobRunner
from ui.live_sources import demo_feed, engine_feed
from ui.scene import SceneFrame, Stage, TileFrame, body_centres, stage_from_rig

FeedFactory = Callable[[], LiveFeed]
#: How often the feed is polled, milliseconds.
POLL_MS = 16
TRAIL_SECONDS = 2.0


#: Live sources offered in the window: label -> feed factory.
LIVE_SOURCES: dict[str, FeedFactory] = {
    "synthetic studio (simulated detector)": demo_feed,
    "live engine on the rendered studio (capture, detection, tracking)": engine_feed,
}


@dataclass
class _Started:
    feed: LiveFeed
    stage: Stage


class LiveController(QtCore.QObject):
    """Owns the live feed and its display state (see the module docstring).

    Signals:
        running_changed(bool): the feed started or stopped.
        stats_changed(str): a one-line summary (fps, drops, latency), once per second.
        error(str): the feed failed (readable line).
    """

    running_changed = QtCore.Signal(bool)
    stats_changed = QtCore.Signal(str)
    error = QtCore.Signal(str)

    def __init__(
        self,
        display: DisplayController,
        jobs: JobRunner,
        feed_factory: FeedFactory = demo_feed,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._display = display
        self._jobs = jobs
        self._factory = feed_factory
        self._feed: LiveFeed | None = None
        self._stage: Stage | None = None
        self._starting = False
        self._start_job: JobHandle | None = None
        self._last_index = -1
        self._arrivals: list[collections.deque[float]] = []
        self._dropped = 0
        self._trails: dict[int, collections.deque[tuple[int, np.ndarray]]] = {}
        self.frames_shown = 0  # of the running feed
        self.trails_enabled = True
        self._timer = QtCore.QTimer(self)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self.poll)
        self._stats_timer = QtCore.QTimer(self)
        self._stats_timer.timeout.connect(self._report_stats)

    @property
    def running(self) -> bool:
        return self._feed is not None

    @property
    def starting(self) -> bool:
        return self._starting

    @property
    def feed(self) -> LiveFeed | None:
        return self._feed

    @property
    def dropped(self) -> int:
        """Frame sets skipped between shown ones since the start."""
        return self._dropped

    # ------------------------------------------------------------------ commands

    def set_feed_factory(self, factory: FeedFactory) -> None:
        """Use another feed from the next start (e.g. the live engine of :mod:`mocap.live` instead
        of the synthetic studio); a running feed is stopped."""
        self.stop()
        self._factory = factory

    def start(self) -> None:
        """Create and start the feed in a job; the views switch to it when it runs."""
        if self._feed is not None or self._starting:
            return
        self._starting = True
        factory = self._factory

        def work(cancel: CancelToken) -> _Started:
            feed = factory()
            try:  # a stop (or the window closing) while the feed was made: it never runs
                check_cancelled(cancel)
                stage = stage_from_rig(feed.rig, feed.layout, "live: synthetic studio", fps=feed.fps)
                feed.start()
                check_cancelled(cancel)
            except BaseException:
                feed.stop()
                raise
            return _Started(feed, stage)

        self._start_job = self._jobs.submit(
            "live-start",
            "starting the live studio",
            work,
            on_result=self._started,
            on_error=self._failed,
            on_cancelled=self._start_cancelled,
        )

    def stop(self) -> None:
        """Stop polling and stop the feed (its thread or process) in a job; a start under way is cancelled."""
        if self._start_job is not None:
            self._start_job.cancel()
        feed, self._feed = self._feed, None
        self._timer.stop()
        self._stats_timer.stop()
        if feed is not None:
            self._jobs.submit("live-stop", "stopping the live studio", lambda _c: feed.stop())
            self.running_changed.emit(False)

    def toggle(self) -> None:
        """Start, or stop when running or starting."""
        self.stop() if self._feed is not None or self._starting else self.start()

    # ------------------------------------------------------------------ internals

    def _started(self, started: _Started) -> None:
        self._starting = False
        self._start_job = None
        self._feed = started.feed
        self._stage = started.stage
        self._last_index = -1
        self._dropped = 0
        self.frames_shown = 0
        self._arrivals = [collections.deque(maxlen=256) for _ in started.stage.cameras]
        self._trails.clear()
        self._display.present_stage(LIVE, started.stage)
        self._display.activate(LIVE)
        self._timer.start(POLL_MS)
        self._stats_timer.start(1000)
        self.running_changed.emit(True)

    def _start_cancelled(self) -> None:
        self._starting = False
        self._start_job = None
        self.running_changed.emit(False)

    def _failed(self, message: str) -> None:
        self._starting = False
        self._start_job = None
        self.error.emit(message)
        self.running_changed.emit(False)

    def poll(self) -> None:
        """Present the feed's newest frame set if it is new (called by the timer)."""
        feed = self._feed
        if feed is None:
            return
        try:
            frame = feed.latest()
        except RuntimeError as exc:
            self.stop()
            self.error.emit(str(exc))
            return
        if frame is None or frame.index == self._last_index:
            return
        if self._last_index >= 0:
            self._dropped += max(0, frame.index - self._last_index - 1)
        self._last_index = frame.index
        self._display.present_frame(LIVE, self.scene_frame(frame))
        self.frames_shown += 1

    def scene_frame(self, frame: LiveFrame) -> SceneFrame:
        """The views' picture of ``frame`` (tiles with status lines, people, trails)."""
        now = time.monotonic()
        stage = self._stage
        num_views = frame.xy.shape[0]
        tiles = []
        for v in range(num_views):
            image = frame.images[v] if frame.images is not None else None
            has_data = image is not None or bool(np.any(frame.score[v] > 0))
            arrivals = self._arrivals[v] if v < len(self._arrivals) else collections.deque()
            if has_data:
                arrivals.append(now)
            recent = [t for t in arrivals if now - t <= 1.0]
            fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 and recent[-1] > recent[0] else 0.0
            tiles.append(
                TileFrame(
                    image=image,
                    xy=frame.xy[v],
                    score=frame.score[v],
                    person=frame.slot_person[v],
                    status=f"{fps:4.1f} fps · {self._dropped} dropped",
                )
            )
        ids = np.asarray(frame.person_ids, dtype=np.int64)
        poses = np.asarray(frame.poses)
        trails = self._update_trails(frame.index, ids, poses, stage) if self.trails_enabled else ()
        fps = stage.fps if stage is not None else 30.0
        return SceneFrame(frame.index, frame.index / fps, tuple(tiles), ids, poses, trails)

    def _update_trails(self, index: int, ids: np.ndarray, poses: np.ndarray, stage: Stage | None) -> tuple:
        fps = stage.fps if stage is not None else 30.0
        centres = body_centres(poses, stage.centre_joints if stage is not None else ())
        keep_from = index - int(TRAIL_SECONDS * fps)
        for p, person in enumerate(ids):
            history = self._trails.setdefault(int(person), collections.deque())
            history.append((index, centres[p]))
        for person in list(self._trails):
            history = self._trails[person]
            while history and history[0][0] < keep_from:
                history.popleft()
            if not history:
                del self._trails[person]
        return tuple(
            np.array([c for _, c in self._trails[int(person)]], dtype=np.float64).reshape(-1, 3) for person in ids
        )

    def _report_stats(self) -> None:
        feed = self._feed
        if feed is None:
            return
        stats = feed.stats()
        self.stats_changed.emit(
            f"live: {stats.fps:.1f} fps from the feed, {self._dropped} dropped, "
            f"latency p50 {stats.latency_p50_ms:.1f} ms / p95 {stats.latency_p95_ms:.1f} ms"
        )
