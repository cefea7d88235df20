"""Recording frame sets into a take: per-camera video, per-frame timestamps, disk-space checks.

:func:`record_take` pulls frame sets from a running :class:`~mocap.capture.grabber.Grabber` and
hands each camera's frame to that camera's **writer thread** (bounded queue), which encodes it
(:class:`~mocap.capture.video.VideoWriter`) and then appends its timestamp row
(:class:`~mocap.session.timestamps.TimestampWriter`): a row exists only for a frame already given
to the muxer, and recovery keeps the frames present in both, so a killed recording stays
consistent. Encoding in one thread per camera lets the cameras use every core.

Sets where a camera had no frame (stalled, disconnected, or a writer queue that stayed full for
a second) become **gaps** of that camera in ``take.toml``.

Disk space: before recording, the free space must hold the planned duration at a conservative
bit rate plus a reserve (:func:`required_bytes`); during recording it is checked every second
and the take is ended cleanly (status ``stopped``, reason given) when less than the reserve is
left. An I/O error of a writer (e.g. ENOSPC) ends the take the same way. In both cases every
frame written so far stays readable and :class:`DiskFullError` / :class:`RecordingError` is
raised afterwards with a one-line message.
"""

from __future__ import annotations

import logging
import math
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from calibration.progress import CancelToken
from mocap.capture.grabber import FrameSet, Grabber, GrabberStats
from mocap.capture.sources import TimestampedFrame
from mocap.capture.video import SUFFIX, Codec, Container, VideoWriter
from mocap.errors import MocapError
from mocap.session.schema import CameraEntry, Gap
from mocap.session.store import Session, Take
from mocap.session.timestamps import TimestampWriter, find_gaps

log = logging.getLogger(__name__)

#: Conservative bits per pixel and frame used to plan disk space, per codec.
BITS_PER_PIXEL = {"h264": 0.6, "mjpeg": 2.5, "ffv1": 14.0}


class RecordingError(MocapError, RuntimeError):
    """Recording could not go on (a writer failed); the take holds what was written."""


class DiskFullError(MocapError, OSError):
    """Not enough free disk space to start or to go on recording."""


class RecorderConfig(BaseModel):
    """How takes are written."""

    model_config = ConfigDict(extra="forbid")

    container: Container = Field("mkv", description="mkv (default), mp4 (fragmented) or avi (OpenCV, comparison).")
    codec: Codec = Field("h264", description="h264, mjpeg or ffv1 (lossless).")
    quality: int = Field(20, ge=0, le=51, description="CRF for h264, q-scale for mjpeg.")
    flush_interval_s: float = Field(0.25, gt=0, le=5, description="Longest a frame waits in the muxer.")
    queue_s: float = Field(2.0, gt=0, description="Seconds of frames each writer may have queued.")
    reserve_bytes: int = Field(256 << 20, ge=0, description="Free space always left on the disk.")
    disk_check_interval_s: float = Field(1.0, gt=0, description="How often free space is checked.")


def required_bytes(size: tuple[int, int], fps: float, cameras: int, seconds: float, codec: str) -> int:
    """Planned bytes for ``seconds`` of ``cameras`` videos at a conservative bit rate."""
    return int(size[0] * size[1] * fps * cameras * seconds * BITS_PER_PIXEL[codec] / 8)


DiskUsage = Callable[[Path], Any]  # returns an object with a ``free`` attribute (shutil.disk_usage)


def check_disk_space(
    folder: Path, needed: int, reserve: int, disk_usage: DiskUsage = shutil.disk_usage, what: str = ""
) -> int:
    """Free bytes at ``folder``; raises :class:`DiskFullError` when below ``needed + reserve``."""
    free = int(disk_usage(folder).free)
    if free < needed + reserve:
        raise DiskFullError(
            f"{folder}: {free / 1e9:.2f} GB free, {what}needs {(needed + reserve) / 1e9:.2f} GB "
            f"(with a {reserve / 1e9:.2f} GB reserve); free space or record elsewhere"
        )
    return free


class _Item(NamedTuple):
    frame_set: int
    frame: TimestampedFrame
    origin_s: float  # capture-clock time of the take's first set: take time 0


class _CameraWriter:
    """One camera's writer thread: video frame, then its timestamp row."""

    def __init__(self, take: Take, entry: CameraEntry, fps: float, config: RecorderConfig) -> None:
        self.name = entry.name
        self.video = VideoWriter(
            take.root / entry.video,
            entry.size,
            fps,
            container=config.container,
            codec=config.codec,
            quality=config.quality,
            flush_interval_s=config.flush_interval_s,
        )
        self.stamps = TimestampWriter(take.root / entry.timestamps, sync_every_s=1.0)
        self.queue: queue.Queue[_Item | None] = queue.Queue(maxsize=max(4, math.ceil(config.queue_s * fps)))
        self.error: str = ""
        self.written: list[int] = []  # frame-set indices written, in order
        self.queue_dropped = 0
        self.thread = threading.Thread(target=self._run, name=f"write-{entry.name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error:
                continue  # drain after a failure; the recorder is stopping
            try:
                self.video.write(item.frame.image)
                frame = item.frame
                self.stamps.write(item.frame_set, frame.timestamp_s - item.origin_s, frame.arrival_s - item.origin_s)
                self.written.append(item.frame_set)
            except (OSError, MocapError) as exc:
                self.error = str(exc)
                log.error("camera %s: %s", self.name, exc)

    def put(self, item: _Item, timeout: float) -> bool:
        try:
            self.queue.put(item, timeout=timeout)
            return True
        except queue.Full:
            self.queue_dropped += 1
            return False

    def finish(self) -> None:
        self.queue.put(None)
        self.thread.join()
        for closer in (self.video.close, self.stamps.close):
            try:
                closer()
            except (OSError, MocapError) as exc:
                self.error = self.error or str(exc)


@dataclass
class RecordingResult:
    """What a recording produced."""

    take: Take
    frame_sets: int
    duration_s: float
    status: str
    stop_reason: str
    grabber: GrabberStats
    frames: dict[str, int] = field(default_factory=dict)
    gaps: dict[str, list[Gap]] = field(default_factory=dict)
    queue_dropped: dict[str, int] = field(default_factory=dict)


def record_take(
    session: Session,
    grabber: Grabber,
    *,
    seconds: float | None = None,
    name: str | None = None,
    config: RecorderConfig | None = None,
    source: str = "",
    synthetic: dict[str, Any] | None = None,
    cancel: CancelToken | None = None,
    disk_usage: DiskUsage = shutil.disk_usage,
    on_set: Callable[[FrameSet], None] | None = None,
) -> RecordingResult:
    """Record frame sets from a started grabber into a new take of ``session``.

    Args:
        session: where the take goes.
        grabber: a started grabber (its sources opened; see :meth:`Grabber.wait_until_started`).
        seconds: how long (capture time from the first set); None = until cancelled or the
            sources end.
        name: take name (default: next ``take_NNN``).
        config: how to write (container, codec, disk reserve).
        source: what the sources are, for ``take.toml``.
        synthetic: the StudioConfig of a synthetic recording (stored in ``take.toml``).
        cancel: set to end the take cleanly (Ctrl-C, SIGTERM, the GUI's stop button).
        disk_usage: free-space probe (``shutil.disk_usage``; tests pass a fake).
        on_set: called with every frame set after it was queued (preview, statistics).

    Returns:
        The take and what was recorded; the take's status is ``complete`` or ``stopped``.

    Raises:
        DiskFullError: not enough space to start (nothing created), or the disk filled up
            (the take is closed cleanly first and holds everything written).
        RecordingError: a writer failed (same: the take is closed first).
    """
    config = config or RecorderConfig()
    failed = grabber.wait_until_started()
    if len(failed) == len(grabber.camera_names):
        raise RecordingError(f"no camera could be started ({', '.join(failed)}); check the sources")
    sizes = grabber.camera_sizes()
    entries = [
        CameraEntry(
            name=camera,
            video=f"{camera}{SUFFIX[config.container]}",
            timestamps=f"{camera}.timestamps.csv",
            size=sizes[camera],
        )
        for camera in grabber.camera_names
    ]
    width, height = max(sizes.values())
    planned = required_bytes((width, height), grabber.fps, len(entries), seconds or 60.0, config.codec)
    check_disk_space(session.takes_dir, planned, config.reserve_bytes, disk_usage, "recording ")
    take = session.new_take(entries, grabber.fps, name=name, source=source, synthetic=synthetic)
    take.acquire_recording_lock()
    writers = [_CameraWriter(take, entry, grabber.fps, config) for entry in entries]
    set_times: list[float] = []
    stop_reason = ""
    error: MocapError | None = None
    next_disk_check = 0.0
    first_tau: float | None = None
    waiting_since = time.monotonic()
    try:
        while True:
            if cancel is not None and cancel.cancelled:
                stop_reason = "stopped by the user"
                break
            frame_set = grabber.get(timeout=0.2)
            if frame_set is None:
                if grabber.finished:
                    stop_reason = "every camera ended"
                    break
                continue
            if first_tau is None:
                # cameras open at different moments: the take starts at the first set that has
                # every live camera (or after a second of waiting, without the missing ones)
                if not frame_set.complete and time.monotonic() - waiting_since < 1.0:
                    continue
                first_tau = frame_set.timestamp_s
            if seconds is not None and frame_set.timestamp_s - first_tau >= seconds - 0.5 / grabber.fps:
                break
            index = len(set_times)
            set_times.append(frame_set.timestamp_s - first_tau)
            for writer, frame in zip(writers, frame_set.frames, strict=True):
                if frame is not None:
                    writer.put(_Item(index, frame, first_tau), timeout=1.0)
            if on_set is not None:
                on_set(frame_set)
            broken = [w for w in writers if w.error]
            if broken:
                error = RecordingError(f"camera {broken[0].name}: {broken[0].error}; the take was closed")
                stop_reason = f"writer failed: {broken[0].error}"
                break
            now = time.monotonic()
            if now >= next_disk_check:
                next_disk_check = now + config.disk_check_interval_s
                try:
                    check_disk_space(take.root, 0, config.reserve_bytes, disk_usage, "going on ")
                except DiskFullError as exc:
                    error = exc
                    stop_reason = f"disk full: {exc}"
                    break
    finally:
        for writer in writers:
            writer.finish()
        if error is None:
            broken = [w for w in writers if w.error]
            if broken:
                error = RecordingError(f"camera {broken[0].name}: {broken[0].error}; the take was closed")
                stop_reason = stop_reason or f"writer failed: {broken[0].error}"
        result = _finish_take(take, writers, set_times, grabber, stop_reason, error is not None, first_tau)
    if error is not None:
        raise error
    return result


def _finish_take(
    take: Take,
    writers: list[_CameraWriter],
    set_times: list[float],
    grabber: Grabber,
    stop_reason: str,
    failed: bool,
    first_tau: float | None,
) -> RecordingResult:
    stats = grabber.stats()
    gaps = {w.name: find_gaps(w.written, set_times) for w in writers}
    cameras = [
        entry.model_copy(update={"frames": len(w.written), "gaps": gaps[w.name]})
        for entry, w in zip(take.info.cameras, writers, strict=True)
    ]
    status = "stopped" if failed else "complete"
    recording = stats.as_dict()
    recording["writer_queue_dropped"] = {w.name: w.queue_dropped for w in writers}
    recording["capture_clock_at_start_s"] = first_tau if first_tau is not None else 0.0
    fps = take.info.fps
    duration = len(set_times) / fps
    take.update(
        status=status,
        stop_reason=stop_reason,
        cameras=cameras,
        frame_sets=len(set_times),
        duration_s=duration,
        recording=recording,
    )
    take.release_recording_lock()
    log.info("%s: %d frame sets, %.1f s, %s", take.root, len(set_times), duration, status)
    return RecordingResult(
        take=take,
        frame_sets=len(set_times),
        duration_s=duration,
        status=status,
        stop_reason=stop_reason,
        grabber=stats,
        frames={w.name: len(w.written) for w in writers},
        gaps=gaps,
        queue_dropped={w.name: w.queue_dropped for w in writers},
    )
