"""Reading the video files of a take with PyAV: frame counts and frames that survive a crash.

OpenCV's frame count comes from the container header, which a recording killed half-way never
wrote, and its seeks need the index such a file lacks; these functions decode the stream
itself, front to back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mocap.errors import FileFormatError, MissingFileError


@dataclass(frozen=True)
class VideoProbe:
    """What a video file holds: decodable ``frames``, ``fps`` (None if unknown), ``size`` (w, h),
    ``codec`` name and whether an audio stream is present."""

    frames: int
    fps: float | None
    size: tuple[int, int]
    codec: str
    has_audio: bool


def _open(path: Path):  # type: ignore[no-untyped-def]
    import av

    if not path.is_file():
        raise MissingFileError(f"{path}: no such video file")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise FileFormatError(
            path, "", f"cannot be opened as video ({exc}); check the file is a complete video"
        ) from None
    if not container.streams.video:
        container.close()
        raise FileFormatError(path, "", "holds no video stream")
    return container


def count_decodable_frames(path: str | Path) -> int:
    """Frames that actually decode, to the end of the data (a cut-off file counts what it holds).

    Raises:
        MissingFileError: no such file.
        FileFormatError: not a video.
    """
    import av

    path = Path(path)
    container = _open(path)
    count = 0
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for _frame in container.decode(stream):
                count += 1
        except (av.error.FFmpegError, EOFError):
            pass  # damaged tail: the frames before it count
    finally:
        container.close()
    return count


def probe_video(path: str | Path, *, count: bool = True) -> VideoProbe:
    """Frame count (decoded when ``count``, else from the header: 0 when unknown), rate, size, codec, audio.

    Raises:
        MissingFileError, FileFormatError: as :func:`count_decodable_frames`.
    """
    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        fps = float(Fraction(rate)) if rate else None
        size = (int(stream.codec_context.width), int(stream.codec_context.height))
        codec = str(stream.codec_context.name)
        has_audio = bool(container.streams.audio)
        header_frames = int(stream.frames or 0)
    finally:
        container.close()
    frames = count_decodable_frames(path) if count else header_frames
    if count and frames == 0:
        raise FileFormatError(path, "", "holds no decodable frame; the video is empty or corrupt")
    return VideoProbe(frames, fps, size, codec, has_audio)


class VideoReader:
    """Sequential frames of a take's video with PyAV, BGR ``uint8`` (height, width, 3).

    Why not :func:`calibration.media.open_frames` (OpenCV) for recorded takes: a recording cut
    short has no Matroska cues (index), and OpenCV seeks in such a file land on the wrong key frame
    (rewinding to frame 0 of a killed recording starts at the second key frame, silently skipping
    a second of frames). This reader never seeks: it decodes from the start, and reading an
    earlier frame reopens the file.

    Raises (on open):
        MissingFileError, FileFormatError: as :func:`probe_video`.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        probe = probe_video(self.path, count=False)
        self.size = probe.size
        self.fps = probe.fps
        self._container: Any = None
        self._iterator: Iterator[Any] | None = None
        self._position = 0

    def _restart(self) -> None:
        self.close()
        self._container = _open(self.path)
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        self._iterator = iter(self._container.decode(stream))
        self._position = 0

    def _next(self) -> NDArray[np.uint8] | None:
        import av

        if self._iterator is None:
            self._restart()
        try:
            frame = next(self._iterator)  # type: ignore[arg-type]
        except (StopIteration, av.error.FFmpegError, EOFError):
            return None
        self._position += 1
        return np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)

    def read(self, index: int) -> NDArray[np.uint8] | None:
        """Frame ``index`` (0-based), or None past the end."""
        if index < self._position or self._iterator is None:
            self._restart()
        image = None
        while self._position <= index:
            image = self._next()
            if image is None:
                return None
        return image

    def frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[tuple[int, NDArray[np.uint8]]]:
        """``(index, frame)`` pairs from ``start`` to ``stop`` (exclusive) every ``step`` frames."""
        if step < 1:
            raise ValueError("step must be >= 1")
        self._restart()
        index = 0
        while stop is None or index < stop:
            image = self._next()
            if image is None:
                return
            if index >= start and (index - start) % step == 0:
                yield index, image
            index += 1

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
        self._iterator = None

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_video(path: str | Path) -> VideoReader:
    """A :class:`VideoReader` for ``path``."""
    return VideoReader(path)
