"""Frames from a video file or a folder of images, with one-line errors.

Shared by calibration (board videos and photos), detection and capture. OpenCV is imported when a
source is opened, not when this module is imported. Frames are BGR ``uint8`` arrays
``(height, width, 3)`` as OpenCV decodes them; grayscale images are converted to BGR.

Image folders hold ``.jpg``, ``.jpeg``, ``.png``, ``.bmp`` or ``.tif(f)`` files, ordered by the
numbers in their names (``img_2`` before ``img_10``), then by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calibration.errors import FileFormatError, MissingFileError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv")

Frame = NDArray[np.uint8]


def natural_key(path: Path) -> tuple[Any, ...]:
    """Sort key that orders embedded numbers numerically (``cam2`` < ``cam10``)."""
    parts = re.split(r"(\d+)", path.name)
    return tuple((0, int(p)) if p.isdigit() else (1, p.lower()) for p in parts if p)


@dataclass(frozen=True)
class MediaInfo:
    """What a source holds: ``num_frames`` (may be an estimate for some video containers),
    ``fps`` (None for image folders) and ``size`` = (width, height)."""

    num_frames: int
    fps: float | None
    size: tuple[int, int]


class FrameSource:
    """Sequential and random access to the frames of a video file or an image folder.

    Use as a context manager, or call :meth:`close`.

    Raises (on open):
        MissingFileError: the path does not exist or a folder holds no images.
        FileFormatError: the file cannot be decoded (with the path and what to check).
    """

    def __init__(self, path: str | Path) -> None:
        import cv2

        self._cv2 = cv2
        self.path = Path(path)
        self._capture: Any = None
        self._images: list[Path] = []
        if self.path.is_dir():
            self._images = sorted(
                (p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=natural_key
            )
            if not self._images:
                raise MissingFileError(f"{self.path}: folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
            first = self._read_image(self._images[0])
            self.info = MediaInfo(len(self._images), None, (first.shape[1], first.shape[0]))
            return
        if not self.path.is_file():
            raise MissingFileError(f"{self.path}: no such video file or image folder")
        if self.path.suffix.lower() in IMAGE_SUFFIXES:
            self._images = [self.path]
            first = self._read_image(self.path)
            self.info = MediaInfo(1, None, (first.shape[1], first.shape[0]))
            return
        capture = cv2.VideoCapture(str(self.path))
        ok, frame = capture.read() if capture.isOpened() else (False, None)
        if not ok or frame is None:
            capture.release()
            raise FileFormatError(self.path, "", "cannot be decoded as video; check the file is complete and its codec")
        capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        fps = float(capture.get(cv2.CAP_PROP_FPS)) or None
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self._capture = capture
        self._position = 0
        self.info = MediaInfo(max(count, 1), fps, (frame.shape[1], frame.shape[0]))

    def _read_image(self, path: Path) -> Frame:
        image = self._cv2.imread(str(path), self._cv2.IMREAD_COLOR)
        if image is None:
            raise FileFormatError(path, "", "cannot be decoded as an image")
        return np.asarray(image, dtype=np.uint8)

    @property
    def is_video(self) -> bool:
        return self._capture is not None

    def read(self, index: int) -> Frame | None:
        """Frame ``index`` (0-based), or None past the end of a video."""
        if not self.is_video:
            if not 0 <= index < len(self._images):
                return None
            return self._read_image(self._images[index])
        if index != self._position:
            self._capture.set(self._cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = self._capture.read()
        self._position = index + 1
        return np.asarray(frame, dtype=np.uint8) if ok else None

    def frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[tuple[int, Frame]]:
        """``(index, frame)`` pairs from ``start`` to ``stop`` (exclusive) every ``step`` frames.

        Videos are decoded sequentially (frames between steps are grabbed, not decoded), which is
        much faster than seeking.
        """
        if step < 1:
            raise ValueError("step must be >= 1")
        if not self.is_video:
            end = len(self._images) if stop is None else min(stop, len(self._images))
            for index in range(start, end, step):
                yield index, self._read_image(self._images[index])
            return
        self._capture.set(self._cv2.CAP_PROP_POS_FRAMES, start)
        index = start
        while stop is None or index < stop:
            if (index - start) % step == 0:
                ok, frame = self._capture.read()
                if not ok:
                    break
                yield index, np.asarray(frame, dtype=np.uint8)
            elif not self._capture.grab():
                break
            index += 1
        self._position = index

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_frames(path: str | Path) -> FrameSource:
    """Open a video file, an image file or a folder of images (see :class:`FrameSource`)."""
    return FrameSource(path)


def media_in_folder(folder: str | Path) -> list[Path]:
    """Video files and image sub-folders of ``folder``, in natural order (one per camera).

    Raises:
        MissingFileError: the folder is missing or holds no video and no image folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError(f"{folder}: no such folder")
    entries = [
        p
        for p in folder.iterdir()
        if (p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        or (p.is_dir() and any(c.suffix.lower() in IMAGE_SUFFIXES for c in p.iterdir()))
    ]
    if not entries:
        raise MissingFileError(f"{folder}: holds no videos ({', '.join(VIDEO_SUFFIXES)}) and no image folders")
    return sorted(entries, key=natural_key)
