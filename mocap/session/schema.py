"""The contents of ``session.toml`` and ``take.toml`` as typed, versioned models.

Both files carry ``schema_version``; a file written by a newer version of the studio is refused
with a message saying so, an older one is read as is (there is only version 1 so far). Models
forbid unknown fields, so a typo in a hand-edited file is reported, not ignored.

``take.toml`` (one per take)::

    schema_version = 1
    name = "take_001"
    created = "2025-01-31T14:02:11+01:00"
    status = "complete"            # recording | complete | stopped | interrupted | imported
    stop_reason = ""               # why a take ended early (disk full, camera lost, ...)
    fps = 30.0                     # nominal frame rate of the take
    source = "synthetic"           # what recorded it (synthetic, device:0, file:PATH, import)
    frame_sets = 1800              # frame sets written (a set = one instant, every camera)
    duration_s = 60.0
    [[cameras]]
    name = "cam_1"
    video = "cam_1.mkv"            # relative to the take folder
    timestamps = "cam_1.timestamps.csv"
    size = [640, 480]
    frames = 1798                  # frames in the video (sets where the camera was missing: gaps)
    [[cameras.gaps]]
    first_set = 600                # first frame set without this camera
    last_set = 601
    start_s = 20.0                 # take time of the gap's first and last sets
    end_s = 20.033
    [recording]                    # capture statistics, free-form numbers (see mocap.capture)
    [synthetic]                    # the StudioConfig of a synthetic take (ground truth can be regenerated)

``session.toml``::

    schema_version = 1
    name = "studio_a"
    created = "..."
    calibration = "calibration/rig.toml"   # the active rig, relative to the session folder
    [pipeline]                              # default processing config (mocap.pipeline), optional
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Version of ``session.toml`` and ``take.toml`` written by this code.
SESSION_SCHEMA_VERSION = 1

TakeStatus = Literal["recording", "complete", "stopped", "interrupted", "imported"]


class Gap(BaseModel):
    """A run of frame sets in which one camera delivered no frame (stalled or disconnected)."""

    model_config = ConfigDict(extra="forbid")

    first_set: int = Field(ge=0, description="First frame set without the camera.")
    last_set: int = Field(ge=0, description="Last frame set without the camera (inclusive).")
    start_s: float = Field(description="Take time of the first missing set, seconds.")
    end_s: float = Field(description="Take time of the last missing set, seconds.")


class CameraEntry(BaseModel):
    """One camera of a take: its video, its timestamp file, what it holds."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="Camera name; matches the rig's camera names.")
    video: str = Field(min_length=1, description="Video file, relative to the take folder.")
    timestamps: str = Field("", description="Per-frame timestamp CSV, relative; empty when none (imported).")
    size: tuple[int, int] = Field(description="(width, height) in pixels.")
    frames: int = Field(0, ge=0, description="Frames in the video.")
    gaps: list[Gap] = Field(default_factory=list, description="Frame sets this camera missed.")


class TakeFile(BaseModel):
    """``take.toml``: what a take holds and how it was recorded."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = Field(SESSION_SCHEMA_VERSION, ge=1)
    name: str = Field(min_length=1)
    created: str = Field(description="ISO 8601 local time the take was created.")
    status: TakeStatus = "recording"
    stop_reason: str = ""
    fps: float = Field(gt=0, description="Nominal frames per second.")
    source: str = ""
    frame_sets: int = Field(0, ge=0)
    duration_s: float = Field(0.0, ge=0)
    cameras: list[CameraEntry] = Field(default_factory=list)
    recording: dict[str, Any] = Field(default_factory=dict, description="Capture statistics.")
    synthetic: dict[str, Any] = Field(default_factory=dict, description="StudioConfig of a synthetic take.")


class SessionFile(BaseModel):
    """``session.toml``: the session's name and its active calibration."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = Field(SESSION_SCHEMA_VERSION, ge=1)
    name: str = Field(min_length=1)
    created: str = ""
    calibration: str = Field("", description="Active rig file, relative to the session folder; empty: none.")
    pipeline: dict[str, Any] = Field(default_factory=dict, description="Default processing config.")
