"""The Detector protocol: one frame set (one image per view) in, 2D keypoints per view out.

A detector is stateful over time (tracking) and is driven frame set by frame set by
:func:`mocap.detection.run.detect_media_iter`, which stacks the results into a
:class:`~mocap.detections2d.Detections2D`. Person slots of one view are the detector's tracks:
slot ``p`` of a view follows one person while the detector keeps them; slots of different
views are unrelated (association is a later step).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from calibration.arrays import check_shape, frozen
from mocap.skeleton.layouts import KeypointLayout

Frame = NDArray[np.uint8]


@dataclass(frozen=True, eq=False)
class FrameSetDetections:
    """Keypoints of one frame set.

    Attributes:
        xy: (V, P, J, 2) float32 pixels of each view's image; NaN where not detected.
        score: (V, P, J) float32 in [0, 1]; 0 where not detected (and for empty slots).
    """

    xy: NDArray[np.float32] = field(repr=False)
    score: NDArray[np.float32] = field(repr=False)

    def __post_init__(self) -> None:
        sizes: dict[str, int] = {}
        check_shape("xy", np.asarray(self.xy), ("V", "P", "J", 2), sizes)
        check_shape("score", np.asarray(self.score), ("V", "P", "J"), sizes)
        object.__setattr__(self, "xy", frozen("xy", self.xy, (None,) * 4, np.float32))
        object.__setattr__(self, "score", frozen("score", self.score, (None,) * 3, np.float32))

    @property
    def num_slots(self) -> int:
        return int(self.xy.shape[1])


@runtime_checkable
class Detector(Protocol):
    """What ``mocap detect`` and the pipeline need from a 2D keypoint detector.

    Attributes:
        name: registry name of the backend.
        layout: keypoint layout of the output (axis J).
        needs_images: False for detectors that read stored results (frames are then not decoded
            and ``images`` holds ``None`` per view).
    """

    name: str
    layout: KeypointLayout
    needs_images: bool

    def reset(self, camera_names: Sequence[str]) -> None:
        """Start a new sequence for these views (forget every track)."""

    def detect(self, images: Sequence[Frame | None], frame_index: int) -> FrameSetDetections:
        """Keypoints of one frame set: ``images[v]`` is view v's BGR uint8 (H, W, 3) frame."""
        ...


def detect_batch(
    detector: Detector, frame_sets: Sequence[Sequence[Frame | None]], first_index: int
) -> list[FrameSetDetections]:
    """Keypoints of consecutive frame sets ``first_index, first_index + 1, ...``.

    ``frame_sets[k][v]`` is view v's BGR uint8 (H, W, 3) image of frame ``first_index + k``. A
    backend with its own ``detect_batch`` (blazepose: one forward pass per stage for every view
    of every frame set in static mode) runs it; others are called frame set by frame set, in
    order, so tracking sees the frames as a sequence.
    """
    batched = getattr(detector, "detect_batch", None)
    if callable(batched):
        return list(batched(frame_sets, first_index))
    return [detector.detect(images, first_index + k) for k, images in enumerate(frame_sets)]


def describe(detector: Any) -> str:
    """A one-line description for logs: backend name and layout."""
    return f"{getattr(detector, 'name', type(detector).__name__)} ({detector.layout.name})"
