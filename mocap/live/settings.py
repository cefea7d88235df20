"""Settings of the live engine, the recording it may make, and the per-frame-set types it passes
between its threads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from mocap.capture.recorder import RecorderConfig
from mocap.filtering.one_euro import OneEuroConfig
from mocap.session.store import Session

#: Stages of ``LiveFrame.stage_ms``, in pipeline order.
STAGES = ("sync", "queue", "detect", "handoff", "associate", "triangulate", "smooth")


class LiveConfig(BaseModel):
    """Settings of the live engine."""

    model_config = ConfigDict(extra="forbid")

    fps: float = Field(30.0, gt=0, description="Nominal camera frame rate (sets the grabber's tolerances).")
    smoothing: OneEuroConfig | None = Field(
        default_factory=OneEuroConfig, description="One-euro filter of the published joints; None: raw."
    )
    min_score: float = Field(0.3, ge=0, le=1, description="Keypoints scored at or below this are not triangulated.")
    publish_images: bool = Field(True, description="Publish the camera images with each frame set (GUI).")
    history: int = Field(10_000, ge=10, description="Latest frame sets whose latency and stages feed the statistics.")
    start_timeout_s: float = Field(30.0, gt=0, description="How long the sources may take to open.")


@dataclass(frozen=True)
class LiveRecording:
    """Record a take while live (:func:`~mocap.capture.recorder.record_take` arguments)."""

    session: Session
    name: str | None = None
    config: RecorderConfig | None = None
    source: str = ""
    synthetic: dict[str, Any] | None = None


@dataclass(frozen=True, eq=False)
class Detected:
    """A frame set after the detector, on its way to reconstruction.

    Attributes:
        index: the frame set's number.
        capture_time_s: its capture time, ``time.monotonic()`` seconds.
        images: per view the BGR image (None where the camera had no frame).
        xy: (V, S, J, 2) float32 pixels; NaN where missing (every joint of a missing view).
        score: (V, S, J) float32 scores; 0 where missing.
        stage_ms: ``sync``, ``queue`` and ``detect`` milliseconds.
        detected_time_s: when detection finished, ``time.monotonic()`` seconds.
    """

    index: int
    capture_time_s: float
    images: tuple[NDArray[np.uint8] | None, ...] = field(repr=False)
    xy: NDArray[np.float32] = field(repr=False)
    score: NDArray[np.float32] = field(repr=False)
    stage_ms: dict[str, float]
    detected_time_s: float


@dataclass(frozen=True)
class StageSummary:
    """Milliseconds one stage took over the kept frame sets."""

    mean_ms: float
    p50_ms: float
    p95_ms: float
