"""Settings of ``mocap process``: one typed model per stage, saved in ``session.toml [pipeline]``.

Every stage's part of the config is hashed into its cache key (:mod:`mocap.pipeline.cache`):
changing a setting reruns that stage and the ones after it, and nothing before it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mocap.export.base import ExportOptions
from mocap.filtering.pipeline import FilterConfig
from mocap.triangulation.triangulate import TriangulationConfig

#: The stages of a take's processing, in order.
STAGES: tuple[str, ...] = ("detect", "triangulate", "filter", "export")

#: Export formats the pipeline can write (``mocap.export`` writers).
ExportFormat = Literal["bvh", "fbx", "trc", "c3d", "csv", "npz"]

#: Backends that track several people per view and take ``max_people`` / ``redetect_every``.
_TRACKING_BACKENDS = ("blazepose", "mediapipe")


class DetectStageConfig(BaseModel):
    """The detect stage: which backend of :mod:`mocap.detection.registry`, with which options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str = Field("blazepose", min_length=1, description="Detector backend name (mocap detect --backend).")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Backend options (e.g. device, precision for blazepose); max_people defaults to the "
        "pipeline's people.",
    )

    def uses_rig(self, people: int) -> bool:
        """Whether detection takes the take's rig: blazepose's cross-view guidance, for several people, tracking."""
        return (
            self.backend == "blazepose"
            and people > 1
            and not self.options.get("static", False)
            and self.options.get("rig") is None
        )

    def detector_options(self, people: int) -> dict[str, Any]:
        """Options for :func:`mocap.detection.registry.create_detector`, people filled in for tracking backends."""
        options = dict(self.options)
        if self.backend in _TRACKING_BACKENDS:
            options.setdefault("max_people", people)
            if self.backend == "blazepose":
                # one person: re-detect only when the track is lost; several: look for newcomers
                options.setdefault("redetect_every", 0 if people == 1 else 10)
        return options


class ExportStageConfig(BaseModel):
    """The export stage: formats written into ``exports/`` and the writers' options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    formats: tuple[ExportFormat, ...] = Field(("bvh", "fbx"), min_length=1, description="Formats to write.")
    options: ExportOptions = Field(default_factory=ExportOptions, description="Units, axes, solver options.")


class PipelineConfig(BaseModel):
    """Everything ``mocap process`` does to a take, stage by stage."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    people: int = Field(
        1, ge=1, le=64, description="People in the take: 1 takes the single-person rule, more multi-person association."
    )
    detect: DetectStageConfig = Field(default_factory=DetectStageConfig)
    sync: Literal["none", "keypoints", "audio"] = Field(
        "none",
        description="Videos recorded without sync: re-time the views by offsets estimated from keypoint motion or "
        "sound (mocap.capture.offsets) before triangulating; 'none' trusts the take's timestamps.",
    )
    min_sync_confidence: float = Field(
        0.15, ge=0, le=1, description="Refuse offsets estimated with less confidence than this (one line, per view)."
    )
    triangulation: TriangulationConfig = Field(default_factory=TriangulationConfig)
    filtering: FilterConfig | None = Field(
        default_factory=FilterConfig, description="Gap filling and smoothing; None passes the poses through."
    )
    export: ExportStageConfig = Field(default_factory=ExportStageConfig)

    def stage_config(self, stage: str) -> dict[str, Any]:
        """The part of the config that determines ``stage``'s output (plain JSON values)."""
        if stage == "detect":
            return {"backend": self.detect.backend, "options": self.detect.detector_options(self.people)}
        if stage == "triangulate":
            return {
                "people": self.people,
                "sync": self.sync,
                "min_sync_confidence": self.min_sync_confidence,
                "triangulation": self.triangulation.model_dump(mode="json"),
            }
        if stage == "filter":
            return {"filtering": None if self.filtering is None else self.filtering.model_dump(mode="json")}
        if stage == "export":
            return {"formats": list(self.export.formats), "options": self.export.options.model_dump(mode="json")}
        raise KeyError(stage)
