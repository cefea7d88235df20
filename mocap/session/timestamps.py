"""Per-frame timestamp files of a take: written one line per frame, readable after a crash.

Format (CSV, UTF-8, one header line)::

    frame,frame_set,timestamp_s,arrival_s
    0,0,0.000000,0.004113
    1,1,0.033337,0.037906

* ``frame``: index of the frame in this camera's video file (0, 1, 2, ... without holes).
* ``frame_set``: index of the frame set (instant) of the take the frame belongs to; the same
  index in two cameras' files means "same instant". Sets a camera missed are absent (a gap).
* ``timestamp_s``: capture time on the take clock (seconds since the take started).
* ``arrival_s``: when the frame reached the recorder on the same clock (``nan`` when unknown,
  e.g. imported videos); ``arrival_s - timestamp_s`` is the capture latency.

The writer appends and flushes each line as it is written, so a process killed with SIGKILL
leaves every line it wrote (the OS keeps them); it ``fsync``s every ``sync_every_s`` seconds for
power loss. The reader ignores a truncated last line (the only damage such a kill can do) and
reports any other malformed line with its number.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
from numpy.typing import NDArray

from calibration.arrays import frozen
from calibration.files import check_writable
from mocap.errors import FileFormatError, MissingFileError
from mocap.session.schema import Gap

HEADER = "frame,frame_set,timestamp_s,arrival_s"


@dataclass(frozen=True, eq=False)
class TimestampTable:
    """The rows of a timestamp file.

    Attributes:
        frame: (N,) int64 video frame index, 0..N-1.
        frame_set: (N,) int64 take frame-set index, strictly increasing.
        timestamp_s: (N,) float64 capture time, seconds on the take clock.
        arrival_s: (N,) float64 arrival time, seconds; NaN where unknown.
    """

    frame: NDArray[np.int64] = field(repr=False)
    frame_set: NDArray[np.int64] = field(repr=False)
    timestamp_s: NDArray[np.float64] = field(repr=False)
    arrival_s: NDArray[np.float64] = field(repr=False)

    def __post_init__(self) -> None:
        for name, dtype in (("frame", np.int64), ("frame_set", np.int64)):
            object.__setattr__(self, name, frozen(name, getattr(self, name), (None,), dtype))
        for name in ("timestamp_s", "arrival_s"):
            object.__setattr__(self, name, frozen(name, getattr(self, name), (None,), np.float64))

    def __len__(self) -> int:
        return int(self.frame.shape[0])

    @classmethod
    def regular(cls, num_frames: int, fps: float) -> TimestampTable:
        """Frames at a constant rate from time 0, one per frame set (imported videos)."""
        index = np.arange(num_frames, dtype=np.int64)
        return cls(index, index, index / fps, np.full(num_frames, np.nan))

    def truncated(self, num_frames: int) -> TimestampTable:
        """The first ``num_frames`` rows."""
        n = slice(0, num_frames)
        return TimestampTable(self.frame[n], self.frame_set[n], self.timestamp_s[n], self.arrival_s[n])


class TimestampWriter:
    """Appends rows to a timestamp file, flushing each line (see the module docstring).

    Args:
        path: the file (created; an existing file is an error, so nothing recorded is overwritten).
        sync_every_s: fsync period in seconds.

    Raises:
        OutputPathError: the folder is missing or not writable.
        FileExistsError: the file exists already.
    """

    def __init__(self, path: str | Path, *, sync_every_s: float = 1.0) -> None:
        self.path = check_writable(path)
        self._handle: IO[str] | None = open(self.path, "x", encoding="utf-8", newline="\n")  # noqa: SIM115
        self._handle.write(HEADER + "\n")
        self._handle.flush()
        self._sync_every_s = sync_every_s
        self._last_sync = time.monotonic()
        self.rows = 0

    def write(self, frame_set: int, timestamp_s: float, arrival_s: float = math.nan) -> int:
        """Append one frame's row; returns its video frame index."""
        if self._handle is None:
            raise ValueError(f"{self.path}: timestamp writer is closed")
        frame = self.rows
        self._handle.write(f"{frame},{frame_set},{timestamp_s:.6f},{arrival_s:.6f}\n")
        self._handle.flush()
        self.rows += 1
        now = time.monotonic()
        if now - self._last_sync >= self._sync_every_s:
            os.fsync(self._handle.fileno())
            self._last_sync = now
        return frame

    def close(self) -> None:
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None


def read_timestamps(path: str | Path) -> TimestampTable:
    """Read a timestamp file, ignoring a truncated last line.

    Raises:
        MissingFileError: the file does not exist.
        FileFormatError: a wrong header, a malformed line (with its number), frame indices that
            are not 0, 1, 2, ... or frame sets that do not increase.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such timestamp file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(path, "", f"cannot be read as UTF-8 text ({exc})") from None
    lines = text.split("\n")
    if not lines or lines[0].strip() != HEADER:
        raise FileFormatError(path, "line 1", f"expected the header {HEADER!r}")
    complete = lines[1:-1]  # the text after the last newline is a line cut short by a crash (or empty)
    rows = np.empty((len(complete), 4), dtype=np.float64)
    for number, line in enumerate(complete, start=2):
        parts = line.split(",")
        try:
            if len(parts) != 4:
                raise ValueError
            rows[number - 2] = [float(p) for p in parts]
        except ValueError:
            raise FileFormatError(path, f"line {number}", f"expected 4 comma-separated numbers, got {line!r}") from None
    frame = rows[:, 0].astype(np.int64)
    frame_set = rows[:, 1].astype(np.int64)
    if not np.array_equal(frame, np.arange(len(frame))):
        bad = int(np.flatnonzero(frame != np.arange(len(frame)))[0])
        raise FileFormatError(path, f"line {bad + 2}", f"frame {frame[bad]} where {bad} was expected")
    if len(frame_set) > 1 and np.any(np.diff(frame_set) <= 0):
        bad = int(np.flatnonzero(np.diff(frame_set) <= 0)[0]) + 1
        raise FileFormatError(path, f"line {bad + 2}", "frame_set does not increase")
    return TimestampTable(frame, frame_set, rows[:, 2], rows[:, 3])


def find_gaps(present_sets: Iterable[int], set_times_s: Sequence[float]) -> list[Gap]:
    """Runs of frame sets ``0 .. len(set_times_s) - 1`` that are not in ``present_sets``.

    Args:
        present_sets: frame-set indices a camera has.
        set_times_s: take time of every frame set, seconds.
    """
    present = {int(i) for i in present_sets}
    gaps: list[Gap] = []
    start: int | None = None
    for index in range(len(set_times_s) + 1):
        missing = index < len(set_times_s) and index not in present
        if missing and start is None:
            start = index
        elif not missing and start is not None:
            gaps.append(
                Gap(
                    first_set=start,
                    last_set=index - 1,
                    start_s=float(set_times_s[start]),
                    end_s=float(set_times_s[index - 1]),
                )
            )
            start = None
    return gaps
