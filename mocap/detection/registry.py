"""The registry of detector backends: names to factories, built-ins registered like plugins.

Factories import their backend (and torch or mediapipe) only when called, so listing backends
stays cheap. A plugin registers its own with :func:`register_detector`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mocap.detection.protocol import Detector
from mocap.errors import MocapError


class UnknownDetectorError(MocapError, KeyError):
    """No detector backend of that name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class DetectorEntry:
    """A registered backend: ``name``, one-line ``help`` and the ``factory(**options)``."""

    name: str
    help: str
    factory: Callable[..., Detector]


_REGISTRY: dict[str, DetectorEntry] = {}


def register_detector(name: str, factory: Callable[..., Detector], help: str) -> None:
    """Register (or replace) backend ``name``."""
    _REGISTRY[name.lower()] = DetectorEntry(name.lower(), help, factory)


def detector_names() -> list[str]:
    """Registered backend names, sorted."""
    return sorted(_REGISTRY)


def detector_help(name: str) -> str:
    return _entry(name).help


def _entry(name: str) -> DetectorEntry:
    entry = _REGISTRY.get(name.lower())
    if entry is None:
        raise UnknownDetectorError(f"no detector backend {name!r}; available: {', '.join(detector_names())}")
    return entry


def create_detector(name: str, **options: Any) -> Detector:
    """A new detector of backend ``name`` built with ``options`` (backend-specific).

    Raises:
        UnknownDetectorError: naming the available backends.
    """
    return _entry(name).factory(**options)


def _blazepose(**options: Any) -> Detector:
    """``rig`` may be a calibration file (config) or a :class:`~calibration.rig.CameraRig` already loaded."""
    from calibration.rig import CameraRig
    from mocap.detection.backends.blazepose import BlazePoseConfig, BlazePoseDetector

    rig = options.pop("rig") if isinstance(options.get("rig"), CameraRig) else None
    return BlazePoseDetector(BlazePoseConfig(**options), rig=rig)


def _mediapipe(**options: Any) -> Detector:
    from mocap.detection.backends.mediapipe_pose import MediaPipePoseDetector

    return MediaPipePoseDetector(**options)


def _precomputed(**options: Any) -> Detector:
    from mocap.detection.backends.precomputed import PrecomputedDetector

    return PrecomputedDetector.from_path(**options)


register_detector(
    "blazepose",
    _blazepose,
    "BlazePose (MediaPipe's pose models) run by our torch executor; batched views and people; CPU or CUDA",
)
register_detector("mediapipe", _mediapipe, "MediaPipe's own legacy Pose solution (CPU reference, one person per view)")
register_detector("precomputed", _precomputed, "stored keypoints: OpenPose JSON folders or a keypoints2d.npz")
