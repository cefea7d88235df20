"""Where review gets camera images: decoded videos or the synthetic studio's renderer. No Qt.

Both providers are called from job threads only (the GUI thread never decodes). Each keeps a
lock, so two jobs asking at once (an old request still running while a new one starts) take
turns instead of sharing a decoder.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from calibration.media import FrameSource, open_frames
from calibration.progress import CancelToken, check_cancelled

log = logging.getLogger(__name__)

Images = tuple[NDArray[np.uint8] | None, ...]


class FrameImages(Protocol):
    """Per-camera images of frame ``t`` of a take (rig order); None where a camera has none."""

    def images(self, frame: int, cancel: CancelToken | None = None) -> Images: ...

    def close(self) -> None: ...


class VideoImages:
    """Frames of one video per camera, through a frame map.

    Args:
        videos: one file per camera (rig order).
        frame_map: (T, V) video frame index of each camera at take frame t; -1 where the camera
            missed that frame (drawn as no image).
    """

    def __init__(self, videos: Sequence[Path], frame_map: NDArray[np.int64]) -> None:
        if frame_map.ndim != 2 or frame_map.shape[1] != len(videos):
            raise ValueError(f"frame_map must be (T, {len(videos)}), got {frame_map.shape}")
        self._paths = tuple(Path(v) for v in videos)
        self._map = frame_map
        self._sources: list[FrameSource | None] = [None] * len(self._paths)
        self._lock = threading.Lock()

    def images(self, frame: int, cancel: CancelToken | None = None) -> Images:
        """Decode frame ``frame`` of every camera (None past the end or in a gap).

        Raises:
            MissingFileError, FileFormatError: a video is missing or cannot be decoded.
        """
        out: list[NDArray[np.uint8] | None] = []
        with self._lock:
            for v, path in enumerate(self._paths):
                check_cancelled(cancel)
                index = int(self._map[frame, v]) if 0 <= frame < len(self._map) else -1
                if index < 0:
                    out.append(None)
                    continue
                source = self._sources[v]
                if source is None:
                    source = self._sources[v] = open_frames(path)
                out.append(source.read(index))
        return tuple(out)

    def close(self) -> None:
        with self._lock:
            for source in self._sources:
                if source is not None:
                    source.close()
            self._sources = [None] * len(self._paths)


class RenderedImages:
    """Images drawn by the synthetic studio's :class:`~mocap.synthetic.render.SceneRenderer`.

    Args:
        renderer: the studio's renderer.
        camera_names: rig order of the renderer's cameras.
        fps: frame rate of the take.
        time_offsets_frames: (V,) each camera's clock offset in frames (view v shows take time
            ``(t + offset_v) / fps``, as the synthetic detections do).
    """

    def __init__(
        self, renderer: object, camera_names: Sequence[str], fps: float, time_offsets_frames: NDArray[np.float64]
    ) -> None:
        from mocap.synthetic.render import SceneRenderer

        if not isinstance(renderer, SceneRenderer):
            raise TypeError(f"renderer must be a SceneRenderer, got {type(renderer).__name__}")
        self._renderer = renderer
        self._names = tuple(camera_names)
        self._fps = float(fps)
        self._offsets = np.asarray(time_offsets_frames, dtype=np.float64)
        self._lock = threading.Lock()

    def images(self, frame: int, cancel: CancelToken | None = None) -> Images:
        out: list[NDArray[np.uint8] | None] = []
        with self._lock:
            for v in range(len(self._names)):
                check_cancelled(cancel)
                out.append(self._renderer.render(v, (frame + float(self._offsets[v])) / self._fps))
        return tuple(out)

    def close(self) -> None:
        """Nothing to release."""
