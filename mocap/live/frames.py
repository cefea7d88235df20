"""What a live source publishes: :class:`LiveFrame`, and the :class:`LiveFeed` protocol.

A feed runs on its own thread and keeps only its newest result (latest wins: a consumer that
falls behind skips frames, and nothing queues up without bound). The GUI polls :meth:`LiveFeed.latest`
from a timer; ``mocap live`` prints the statistics.

Times are ``time.monotonic()`` seconds. ``latency_s`` = publication time - capture time of the
frame set the poses were made from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from calibration.rig import CameraRig
from mocap.errors import MocapError
from mocap.skeleton.layouts import KeypointLayout


class LiveError(MocapError, RuntimeError):
    """A live feed stopped on an error (the original is chained as ``__cause__``)."""


@dataclass(frozen=True, eq=False)
class LiveFrame:
    """One published frame set.

    Attributes:
        index: frame-set number since the feed started.
        capture_time_s: when the frame set was captured.
        published_time_s: when these results were published.
        xy: (V, S, J, 2) detected keypoints, pixels (NaN where missing).
        score: (V, S, J) keypoint scores.
        slot_person: (V, S) person id each detection was given, -1 when none.
        person_ids: (P,) ids of the people reconstructed in this frame set.
        poses: (P, J, 3) their joints, metres, world Z-up (NaN where missing).
        images: per view the BGR image, when the feed carries images; else None.
        stage_ms: time spent per stage on this frame set, milliseconds.
    """

    index: int
    capture_time_s: float
    published_time_s: float
    xy: NDArray[np.float32] = field(repr=False)
    score: NDArray[np.float32] = field(repr=False)
    slot_person: NDArray[np.int64] = field(repr=False)
    person_ids: NDArray[np.int32] = field(repr=False)
    poses: NDArray[np.float32] = field(repr=False)
    images: tuple[NDArray[np.uint8] | None, ...] | None = field(default=None, repr=False)
    stage_ms: Mapping[str, float] = field(default_factory=dict)

    @property
    def latency_s(self) -> float:
        return self.published_time_s - self.capture_time_s


@dataclass(frozen=True)
class LiveStats:
    """Counters of a running feed."""

    published: int
    dropped: int
    fps: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float


@runtime_checkable
class LiveFeed(Protocol):
    """A source of :class:`LiveFrame` running on its own thread."""

    @property
    def rig(self) -> CameraRig: ...

    @property
    def layout(self) -> KeypointLayout: ...

    @property
    def fps(self) -> float: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def latest(self) -> LiveFrame | None: ...

    def stats(self) -> LiveStats: ...


def latency_stats(
    latencies_s: Sequence[float] | NDArray[np.float64], published: int, dropped: int, seconds: float
) -> LiveStats:
    """Summarise latencies (seconds) into a :class:`LiveStats` (NaN percentiles when there are none)."""
    values: Any = np.asarray(latencies_s, dtype=np.float64) * 1000.0 if len(latencies_s) else np.array([np.nan])
    return LiveStats(
        published=published,
        dropped=dropped,
        fps=published / seconds if seconds > 0 else 0.0,
        latency_p50_ms=float(np.percentile(values, 50)),
        latency_p95_ms=float(np.percentile(values, 95)),
        latency_p99_ms=float(np.percentile(values, 99)),
    )
