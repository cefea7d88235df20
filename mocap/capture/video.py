"""Per-camera video files that survive a crash: Matroska or fragmented MP4 via PyAV, or OpenCV AVI.

The recorder needs a file that stays readable when the process is killed at any moment, with at
most a fraction of a second lost. What makes that so:

* **mkv** (default): Matroska is a stream of self-describing clusters; a file cut anywhere reads
  up to its last complete cluster. The muxer is told to close a cluster every
  ``flush_interval_s`` (``cluster_time_limit``) and to write each packet through
  (``flush_packets``), so the OS holds every cluster once it is closed.
* **mp4**: fragmented MP4 (``empty_moov`` + ``frag_keyframe`` + ``frag_duration``): a moov
  without samples up front, then self-contained fragments; a plain MP4 would be unreadable
  without its final moov.
* **avi**: OpenCV's ``VideoWriter`` with MJPG, for comparison only: its index is written at the
  end, so a killed recording depends on the reader scanning an unindexed AVI.

Codecs: ``h264`` (libx264, ``ultrafast`` + ``zerolatency`` so no frame waits in a look-ahead
buffer, one key frame per second, CRF quality), ``mjpeg`` (intra-only, ~3x larger) or ``ffv1``
(lossless). ``mocap bench capture`` measures encode cost, size and what survives ``kill -9``
for each; the defaults (mkv + h264) come from that measurement (see BENCHMARKS.md).

Frames are BGR ``uint8`` ``(height, width, 3)``; presentation times are frame indices at the
nominal rate (the timestamp file holds the real capture times).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from calibration.files import check_writable
from mocap.errors import MocapError, ShapeError

log = logging.getLogger(__name__)

Container = Literal["mkv", "mp4", "avi"]
Codec = Literal["h264", "mjpeg", "ffv1"]

#: File suffix per container.
SUFFIX: dict[str, str] = {"mkv": ".mkv", "mp4": ".mp4", "avi": ".avi"}

_PYAV_CODEC = {"h264": "libx264", "mjpeg": "mjpeg", "ffv1": "ffv1"}


class VideoWriteError(MocapError, OSError):
    """A video file could not be written (disk full, codec missing); names the file."""


class VideoWriter:
    """Writes one camera's frames to a crash-surviving video file.

    Args:
        path: output file (must not exist; its folder must).
        size: (width, height) of every frame.
        fps: nominal frame rate.
        container: ``mkv``, ``mp4`` or ``avi`` (module docstring).
        codec: ``h264``, ``mjpeg`` or ``ffv1`` (``avi`` always uses MJPG).
        quality: CRF for h264 (lower = better, 18-23 typical), JPEG q-scale for mjpeg (2-31).
        flush_interval_s: longest time a frame may sit in the muxer before reaching the OS.
        threads: encoder threads (1 keeps several cameras from fighting over the cores).

    Raises:
        OutputPathError: the folder is missing or not writable.
        VideoWriteError: the file exists or the codec cannot be opened.
    """

    def __init__(
        self,
        path: str | Path,
        size: tuple[int, int],
        fps: float,
        *,
        container: Container = "mkv",
        codec: Codec = "h264",
        quality: int = 20,
        flush_interval_s: float = 0.25,
        threads: int = 1,
    ) -> None:
        self.path = check_writable(path)
        if self.path.exists():
            raise VideoWriteError(f"{self.path}: exists already; a recording never overwrites a file")
        self.size = (int(size[0]), int(size[1]))
        if self.size[0] % 2 or self.size[1] % 2:
            raise ShapeError("size", "even width and height (4:2:0 video)", f"{self.size[0]}x{self.size[1]}")
        self.fps = float(fps)
        self.container_kind = container
        self.codec = "mjpeg" if container == "avi" else codec
        self.frames = 0
        self._closed = False
        self._cv_writer: Any = None
        self._container: Any = None
        self._stream: Any = None
        if container == "avi":
            self._open_opencv()
        else:
            self._open_pyav(container, codec, quality, flush_interval_s, threads)

    def _open_opencv(self) -> None:
        import cv2

        writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter.fourcc(*"MJPG"), self.fps, self.size)
        if not writer.isOpened():
            raise VideoWriteError(f"{self.path}: OpenCV cannot open an MJPG AVI writer here")
        self._cv_writer = writer

    def _open_pyav(self, container: str, codec: str, quality: int, flush_interval_s: float, threads: int) -> None:
        import av

        if container == "mkv":
            options = {
                "cluster_time_limit": str(max(1, int(flush_interval_s * 1000))),
                "cluster_size_limit": str(4 << 20),
                "flush_packets": "1",
            }
            fmt = "matroska"
        else:
            options = {
                "movflags": "frag_keyframe+empty_moov+default_base_moof",
                "frag_duration": str(max(1, int(flush_interval_s * 1e6))),
                "flush_packets": "1",
            }
            fmt = "mp4"
        if codec == "h264":
            codec_options = {
                "preset": "ultrafast",
                "tune": "zerolatency",
                "crf": str(quality),
                "g": str(max(1, round(self.fps))),
            }
            pix_fmt = "yuv420p"
        elif codec == "mjpeg":
            codec_options = {"q:v": str(quality)}
            pix_fmt = "yuvj420p"
        else:
            codec_options = {}
            pix_fmt = "yuv420p"
        try:
            self._container = av.open(str(self.path), "w", format=fmt, options=options)
            rate = round(self.fps * 1000)
            from fractions import Fraction

            stream = self._container.add_stream(_PYAV_CODEC[codec], rate=Fraction(rate, 1000), options=codec_options)
            stream.width, stream.height = self.size
            stream.pix_fmt = pix_fmt
            stream.thread_count = threads
            if codec == "mjpeg":
                stream.codec_context.color_range = 2  # full range, as yuvj420p means
            self._stream = stream
        except (av.error.FFmpegError, ValueError) as exc:
            self._abort()
            raise VideoWriteError(f"{self.path}: cannot open the {codec} encoder in {container} ({exc})") from None

    def _abort(self) -> None:
        import av

        if self._container is not None:
            try:
                self._container.close()
            except (av.error.FFmpegError, OSError, ValueError):
                log.debug("closing %s after a failure failed too", self.path)
            self._container = None

    def write(self, frame: NDArray[np.uint8]) -> int:
        """Encode one BGR frame; returns its index in the file.

        Raises:
            ShapeError: a frame of another size.
            VideoWriteError: the encoder or the disk failed (disk full, I/O error).
        """
        if self._closed:
            raise VideoWriteError(f"{self.path}: writer is closed")
        if frame.shape != (self.size[1], self.size[0], 3):
            raise ShapeError("frame", f"({self.size[1]}, {self.size[0]}, 3)", str(frame.shape))
        index = self.frames
        if self._cv_writer is not None:
            self._cv_writer.write(frame)
        else:
            self._encode(frame, index)
        self.frames += 1
        return index

    def _encode(self, frame: NDArray[np.uint8], index: int) -> None:
        import av
        import cv2

        if self.codec == "mjpeg":  # full-range YUV: let swscale convert (PyAV does it on encode)
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="bgr24")
        else:  # OpenCV's SIMD BGR -> I420 is ~2x faster than swscale's
            yuv = np.asarray(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_BGR2YUV_I420), dtype=np.uint8)
            picture = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        picture.pts = index
        try:
            for packet in self._stream.encode(picture):
                self._container.mux(packet)
        except (av.error.FFmpegError, OSError) as exc:
            raise VideoWriteError(f"{self.path}: writing frame {index} failed ({exc})") from None

    def close(self) -> None:
        """Flush the encoder and finish the file (index, duration). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._cv_writer is not None:
            self._cv_writer.release()
            return
        import av

        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
        except (av.error.FFmpegError, OSError) as exc:
            raise VideoWriteError(f"{self.path}: finishing the file failed ({exc})") from None
        finally:
            self._container = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
