"""Building capture sources from command-line specs, and the rendered synthetic studio rig.

Source specs (``mocap record --source ...``):

* ``synthetic``: ``--cameras N`` rendered cameras of the synthetic studio (640x480 by default);
* ``device:N`` or ``device:/dev/videoN``: an OpenCV camera by index or path;
* ``file:PATH``: a video file replayed in real time as a camera.

Specs of the same kind may repeat (``--source device:0 --source device:1``); ``synthetic``
stands alone, since its cameras come with their own rig (saved as the session's calibration).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from calibration.rig import CameraRig
from mocap.capture.sources import CaptureSource, DeviceSource, Stall, SyntheticSource, VideoFileSource
from mocap.errors import MocapError
from mocap.synthetic.render import SceneRenderer
from mocap.synthetic.studio import StudioConfig, generate_take


@dataclass(frozen=True)
class SyntheticCapture:
    """The rendered synthetic studio as capture sources.

    Attributes:
        config: the studio (rig, people, motion); stored in ``take.toml`` so the ground truth
            of a recorded take can be regenerated.
        rig: its cameras (the exact calibration).
        renderer: draws the scene.
        sources: one per camera.
    """

    config: StudioConfig
    rig: CameraRig
    renderer: SceneRenderer
    sources: tuple[SyntheticSource, ...]


def synthetic_capture(
    num_cameras: int = 4,
    *,
    fps: float = 30.0,
    size: tuple[int, int] = (640, 480),
    num_people: int = 2,
    seed: int = 0,
    free_running: bool = True,
    stalls: Mapping[int, Sequence[Stall]] | None = None,
    disconnects: Mapping[int, float] | None = None,
    scene_offsets_frames: Sequence[float] | None = None,
    frame_code: bool = True,
) -> SyntheticCapture:
    """Rendered cameras of a seeded synthetic studio.

    Args:
        num_cameras: cameras on a ring around the people.
        fps: frame rate.
        size: (width, height) of every camera.
        num_people: people walking in the volume.
        seed: seed of the studio and of the camera clocks.
        free_running: cameras as real unsynchronised ones: random phase within a frame period,
            +-20 ppm clock rate error, 0.3 ms timestamp jitter; False = all exposures together.
        stalls: camera index -> stretches of capture time in which it freezes.
        disconnects: camera index -> capture time at which it disappears.
        scene_offsets_frames: per camera, how many frames ahead of the others its scene runs
            (videos that were not started together).
        frame_code: draw each frame's tick number into its top edge.
    """
    config = StudioConfig(
        seed=seed, num_cameras=num_cameras, num_people=num_people, num_frames=1, fps=fps, resolution=size
    )
    take = generate_take(config)
    renderer = SceneRenderer.from_take_parts(take.rig, take.motion_source, take.placements)
    for view in range(num_cameras):  # the static floors now, so the cameras start promptly
        renderer.background(view)
    rng = np.random.default_rng(seed + 1)
    stalls = stalls or {}
    disconnects = disconnects or {}
    offsets = list(scene_offsets_frames) if scene_offsets_frames is not None else [0.0] * num_cameras
    if len(offsets) != num_cameras:
        raise MocapError(f"{len(offsets)} scene offsets for {num_cameras} cameras")
    sources = tuple(
        SyntheticSource(
            renderer,
            view,
            fps,
            phase_s=float(rng.uniform(0, 1.0 / fps)) if free_running else 0.0,
            drift_ppm=float(rng.uniform(-20, 20)) if free_running else 0.0,
            jitter_s=3e-4 if free_running else 0.0,
            scene_offset_s=offsets[view] / fps,
            stalls=tuple(stalls.get(view, ())),
            disconnect_at_s=disconnects.get(view),
            frame_code=frame_code,
            seed=seed * 1000 + view,
        )
        for view in range(num_cameras)
    )
    return SyntheticCapture(config.model_copy(update={"num_frames": 1}), take.rig, renderer, sources)


def _parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise MocapError(f"size {text!r}: expected WIDTHxHEIGHT, e.g. 640x480") from None
    if width <= 0 or height <= 0:
        raise MocapError(f"size {text!r}: width and height must be positive")
    return width, height


def parse_size(text: str | None) -> tuple[int, int] | None:
    """``"640x480"`` -> (640, 480); None stays None."""
    return None if text is None else _parse_size(text)


@dataclass(frozen=True)
class OpenedSources:
    """Sources built from specs, plus the rig and studio config of a synthetic capture."""

    sources: tuple[CaptureSource, ...]
    rig: CameraRig | None
    synthetic: dict[str, Any] | None
    label: str


def sources_from_specs(
    specs: Sequence[str],
    *,
    cameras: int = 4,
    fps: float = 30.0,
    size: tuple[int, int] | None = None,
    mjpg: bool = False,
    people: int = 2,
    seed: int = 0,
) -> OpenedSources:
    """Capture sources from ``--source`` specs (module docstring).

    Raises:
        MocapError: an unknown or malformed spec, ``synthetic`` mixed with others.
        MissingFileError: a ``file:`` that does not exist.
    """
    if not specs:
        raise MocapError("no source given; use --source synthetic, device:N or file:PATH")
    if "synthetic" in specs:
        if len(specs) > 1:
            raise MocapError("--source synthetic brings its own cameras; do not combine it with other sources")
        capture = synthetic_capture(cameras, fps=fps, size=size or (640, 480), num_people=people, seed=seed)
        config = {k: v for k, v in capture.config.model_dump(mode="json").items() if v is not None}
        return OpenedSources(capture.sources, capture.rig, config, "synthetic")
    sources: list[CaptureSource] = []
    for spec in specs:
        kind, _, value = spec.partition(":")
        if kind == "device" and value:
            device: int | str = int(value) if value.isdigit() else value
            name = f"cam_{value}" if value.isdigit() else f"cam_{Path(value).name}"
            sources.append(DeviceSource(device, name, size=size, fps=fps, mjpg=mjpg))
        elif kind == "file" and value:
            sources.append(VideoFileSource(value, fps=None, realtime=True))
        else:
            raise MocapError(f"source {spec!r}: expected synthetic, device:N, device:PATH or file:PATH")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise MocapError(f"sources give repeated camera names ({', '.join(names)}); use distinct files or devices")
    return OpenedSources(tuple(sources), None, None, ",".join(specs))
