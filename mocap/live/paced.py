"""A live feed that makes its frame sets on a clock: the thread plumbing shared by the synthetic
studio (:class:`~mocap.live.synthetic_feed.SyntheticLiveFeed`) and the GUI's replay of frames made
beforehand (``ui.responsiveness.ReplayFeed``).

Frame set ``k`` is due at ``start + k / fps``. The feed's thread waits until the next set is due,
makes it with :meth:`PacedFeed.make_frame` and publishes it (latest wins: the consumer reads the
newest with :meth:`PacedFeed.latest`). When making a set took longer than a period, the thread
jumps to the set that is due now and counts the skipped ones as dropped, so a slow feed runs late
by at most one set instead of building a backlog. An error in ``make_frame`` ends the thread; the
next :meth:`PacedFeed.latest` raises it as a :class:`~mocap.live.frames.LiveError`.

:attr:`PacedFeed.on_publish`, when set, is called with every published frame set on the feed's
thread: a consumer that forwards frame sets (the GUI's feed process, ``ui.live_child``) then
needs no thread of its own polling :meth:`PacedFeed.latest`.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable

from calibration.rig import CameraRig
from mocap.live.frames import LiveError, LiveFrame, LiveStats, latency_stats
from mocap.skeleton.layouts import KeypointLayout


class PacedFeed(ABC):
    """A :class:`~mocap.live.frames.LiveFeed` publishing :meth:`make_frame` at :attr:`fps`
    (module docstring). Subclasses give ``rig``, ``layout``, ``fps`` and ``make_frame``.

    Args:
        thread_name: name of the feed's thread (seen in debuggers and thread dumps).
    """

    def __init__(self, thread_name: str = "live-feed") -> None:
        self._thread_name = thread_name
        self._lock = threading.Lock()
        self._latest: LiveFrame | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._latencies: deque[float] = deque(maxlen=10_000)
        self._published = 0
        self._dropped = 0
        self._started = 0.0
        self._error: BaseException | None = None
        #: Called with each published frame set, on the feed's thread (an error in it stops the feed).
        self.on_publish: Callable[[LiveFrame], None] | None = None

    @property
    @abstractmethod
    def rig(self) -> CameraRig: ...

    @property
    @abstractmethod
    def layout(self) -> KeypointLayout: ...

    @property
    @abstractmethod
    def fps(self) -> float: ...

    @abstractmethod
    def make_frame(self, index: int, capture_time_s: float) -> LiveFrame:
        """Frame set ``index``, captured at ``capture_time_s`` (``time.monotonic()`` seconds)."""

    def start(self) -> None:
        """Start the feed thread (no-op when running)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
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
                frame = self.make_frame(index, self._started + index * period)
                with self._lock:
                    self._latest = frame
                    self._published += 1
                    self._latencies.append(frame.latency_s)
                if self.on_publish is not None:
                    self.on_publish(frame)
        except BaseException as exc:  # reported to the consumer by latest()
            self._error = exc
