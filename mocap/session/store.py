"""Sessions and takes on disk: the one module that lays out, reads and writes them.

Layout (DESIGN.md section 4)::

    <session>/
      session.toml                 name, active calibration (mocap.session.schema.SessionFile)
      calibration/rig.toml         rigs (calibration.rig_toml files)
      takes/<take>/
        take.toml                  cameras, status, statistics (mocap.session.schema.TakeFile)
        <camera>.mkv               one video per camera (or the imported file's name)
        <camera>.timestamps.csv    one row per video frame (mocap.session.timestamps)
        derived/<stage>/           pipeline results + stage.toml (mocap.session.provenance)
        exports/                   BVH, FBX, ... made by the export stage

Crash safety: a take being recorded holds ``.recording`` (the recorder's pid and host) and
``status = "recording"``. :meth:`Take.open` on such a take whose recorder is gone (killed, power
cut) recovers it: per camera, the frames both in the video and in the timestamp file are kept,
``status`` becomes ``interrupted`` and ``take.toml`` is rewritten; the media files are never
modified. Every TOML write is atomic.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import tomllib
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import tomli_w
from numpy.typing import NDArray
from pydantic import BaseModel, ValidationError

from calibration.files import ensure_folder, write_text_atomic
from calibration.media import natural_key
from calibration.rig import CameraRig
from calibration.rig_toml import load_rig, save_rig
from mocap.errors import FileFormatError, MismatchError, MissingFileError, MocapError
from mocap.session.media import VideoReader, count_decodable_frames, open_video
from mocap.session.provenance import now_iso
from mocap.session.schema import SESSION_SCHEMA_VERSION, CameraEntry, SessionFile, TakeFile
from mocap.session.timestamps import TimestampTable, find_gaps, read_timestamps

log = logging.getLogger(__name__)

SESSION_FILE = "session.toml"
TAKE_FILE = "take.toml"
LOCK_FILE = ".recording"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

M = TypeVar("M", bound=BaseModel)


class NoCalibrationError(MocapError, FileNotFoundError):
    """The session has no calibration (rig) yet."""


def check_name(kind: str, name: str) -> str:
    """``name`` if it is a safe file name (letters, digits, ``_ . -``), else a one-line error."""
    if not _NAME.match(name):
        raise MocapError(f"{kind} name {name!r}: use letters, digits, '_', '.' and '-' only")
    return name


def _read_model(path: Path, model: type[M], what: str) -> M:
    if not path.is_file():
        raise MissingFileError(f"{path}: no such file; is {path.parent} {what}?")
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FileFormatError(path, "", f"not readable TOML ({exc})") from None
    version = document.get("schema_version", SESSION_SCHEMA_VERSION)
    if isinstance(version, int) and version > SESSION_SCHEMA_VERSION:
        raise FileFormatError(
            path, "schema_version", f"{version} is newer than this mocap-studio reads ({SESSION_SCHEMA_VERSION})"
        )
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise FileFormatError(path, field, first["msg"].lower()) from None


def _write_model(path: Path, model: BaseModel) -> Path:
    document = model.model_dump(mode="json", exclude_none=True)
    return write_text_atomic(path, tomli_w.dumps(document))


class Session:
    """A session folder (see the module docstring). Open with :meth:`open` or :meth:`create`."""

    def __init__(self, root: Path, info: SessionFile) -> None:
        self.root = root
        self.info = info

    # ------------------------------------------------------------------ opening

    @classmethod
    def create(cls, root: str | Path, name: str | None = None) -> Session:
        """Create a new session folder (the folder may exist but must not hold a session).

        Raises:
            MocapError: a session exists there already.
            OutputPathError: the folder cannot be created.
        """
        root = Path(root)
        if (root / SESSION_FILE).exists():
            raise MocapError(f"{root}: holds a session already; open it instead")
        ensure_folder(root)
        ensure_folder(root / "calibration")
        ensure_folder(root / "takes")
        info = SessionFile(name=name or root.resolve().name or "session", created=now_iso())
        _write_model(root / SESSION_FILE, info)
        return cls(root, info)

    @classmethod
    def open(cls, root: str | Path) -> Session:
        """Open an existing session.

        Raises:
            MissingFileError: no ``session.toml`` there.
            FileFormatError: it cannot be read (field named).
        """
        root = Path(root)
        if not (root / SESSION_FILE).is_file():
            raise MissingFileError(f"{root}: not a session (no {SESSION_FILE}); create one with mocap record {root}")
        return cls(root, _read_model(root / SESSION_FILE, SessionFile, "a session"))

    @classmethod
    def open_or_create(cls, root: str | Path) -> Session:
        root = Path(root)
        return cls.open(root) if (root / SESSION_FILE).exists() else cls.create(root)

    def save(self) -> None:
        _write_model(self.root / SESSION_FILE, self.info)

    # ------------------------------------------------------------------ calibration

    @property
    def calibration_dir(self) -> Path:
        return self.root / "calibration"

    @property
    def rig_path(self) -> Path | None:
        """The active rig file, or None when the session has no calibration."""
        return self.root / self.info.calibration if self.info.calibration else None

    def load_rig(self) -> CameraRig:
        """The active rig.

        Raises:
            NoCalibrationError: the session has none (says how to add one).
            MissingFileError, FileFormatError: the rig file is missing or malformed.
        """
        path = self.rig_path
        if path is None:
            raise NoCalibrationError(
                f"{self.root}: the session has no calibration; run mocap calibrate and copy the rig to "
                f"{self.calibration_dir / 'rig.toml'}, or pass --rig"
            )
        return load_rig(path)

    def set_calibration(self, rig: CameraRig, file_name: str = "rig.toml") -> Path:
        """Save ``rig`` under ``calibration/`` and make it the active rig."""
        path = save_rig(rig, ensure_folder(self.calibration_dir) / check_name("rig file", file_name))
        self.info = self.info.model_copy(update={"calibration": f"calibration/{file_name}"})
        self.save()
        return path

    # ------------------------------------------------------------------ takes

    @property
    def takes_dir(self) -> Path:
        return self.root / "takes"

    def take_names(self) -> list[str]:
        """Names of the takes, in natural order."""
        if not self.takes_dir.is_dir():
            return []
        folders = [p for p in self.takes_dir.iterdir() if (p / TAKE_FILE).is_file()]
        return [p.name for p in sorted(folders, key=natural_key)]

    def take(self, name: str) -> Take:
        """Open take ``name`` (recovering it if its recorder died)."""
        path = self.takes_dir / name
        if not (path / TAKE_FILE).is_file():
            known = ", ".join(self.take_names()) or "none"
            raise MissingFileError(f"{self.root}: no take named {name!r} (takes: {known})")
        return Take.open(path)

    def next_take_name(self, prefix: str = "take") -> str:
        used = set(self.take_names()) | (
            {p.name for p in self.takes_dir.iterdir()} if self.takes_dir.is_dir() else set()
        )
        number = 1
        while f"{prefix}_{number:03d}" in used:
            number += 1
        return f"{prefix}_{number:03d}"

    def new_take(
        self,
        cameras: list[CameraEntry],
        fps: float,
        *,
        name: str | None = None,
        source: str = "",
        status: str = "recording",
        synthetic: dict[str, Any] | None = None,
    ) -> Take:
        """Create a take folder and its ``take.toml`` (status ``recording`` unless told).

        Raises:
            MocapError: the name is taken or not a safe file name; camera names repeat.
        """
        name = check_name("take", name or self.next_take_name())
        names = [c.name for c in cameras]
        if len(set(names)) != len(names):
            raise MismatchError(f"camera names repeat: {', '.join(names)}")
        root = self.takes_dir / name
        if root.exists():
            raise MocapError(f"{root}: a take with this name exists; choose another name")
        ensure_folder(root)
        info = TakeFile(
            name=name,
            created=now_iso(),
            status=status,
            fps=fps,
            source=source,
            cameras=cameras,
            synthetic=synthetic or {},
        )
        take = Take(root, info)
        take.save()
        return take


class Take:
    """A take folder (see the module docstring). Open with :meth:`open`."""

    def __init__(self, root: Path, info: TakeFile) -> None:
        self.root = root
        self.info = info

    @classmethod
    def open(cls, root: str | Path, *, recover: bool = True) -> Take:
        """Open a take; an abandoned recording is recovered (module docstring) when ``recover``.

        Raises:
            MissingFileError: no ``take.toml``.
            FileFormatError: it cannot be read (field named).
        """
        root = Path(root)
        take = cls(root, _read_model(root / TAKE_FILE, TakeFile, "a take"))
        if recover and take.info.status == "recording" and not take.recorder_alive():
            take.recover()
        return take

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def session(self) -> Session | None:
        """The session holding this take (``<session>/takes/<take>``), or None."""
        candidate = self.root.parent.parent
        return Session.open(candidate) if (candidate / SESSION_FILE).is_file() else None

    @property
    def derived_dir(self) -> Path:
        return self.root / "derived"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    @property
    def camera_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.info.cameras)

    def camera(self, name: str) -> CameraEntry:
        for entry in self.info.cameras:
            if entry.name == name:
                return entry
        raise MissingFileError(f"{self.root}: take has no camera {name!r} (cameras: {', '.join(self.camera_names)})")

    def save(self) -> None:
        _write_model(self.root / TAKE_FILE, self.info)

    def update(self, **changes: Any) -> None:
        """Change fields of ``take.toml`` and write it (atomically)."""
        self.info = self.info.model_copy(update=changes)
        self.save()

    # ------------------------------------------------------------------ media

    def video_path(self, camera: str) -> Path:
        return self.root / self.camera(camera).video

    def open_video(self, camera: str) -> VideoReader:
        """The camera's frames (BGR, decoded front to back; see :class:`mocap.session.media.VideoReader`)."""
        return open_video(self.video_path(camera))

    def timestamps(self, camera: str) -> TimestampTable:
        """The camera's timestamp rows, cut to the frames its video holds.

        Imported videos without a timestamp file get regular timestamps at the take's fps.
        """
        entry = self.camera(camera)
        if not entry.timestamps:
            return TimestampTable.regular(entry.frames, self.info.fps)
        table = read_timestamps(self.root / entry.timestamps)
        return table.truncated(min(len(table), entry.frames)) if entry.frames else table

    def frame_map(self) -> NDArray[np.int64]:
        """(S, V) video frame index of each camera (take order) in each frame set; -1 where missing."""
        tables = [self.timestamps(name) for name in self.camera_names]
        sets = max((int(t.frame_set[-1]) + 1 for t in tables if len(t)), default=0)
        out = np.full((sets, len(tables)), -1, dtype=np.int64)
        for v, table in enumerate(tables):
            out[table.frame_set, v] = table.frame
        return out

    def check_frame_counts(self) -> int:
        """For takes without timestamp files: the common frame count of the videos.

        Raises:
            MismatchError: the videos hold different numbers of frames (names each count).
        """
        counts = {c.name: c.frames for c in self.info.cameras}
        if len(set(counts.values())) > 1:
            listing = ", ".join(f"{k}: {v}" for k, v in counts.items())
            raise MismatchError(
                f"{self.root}: the videos' frame counts disagree ({listing}); trim them to the same frames "
                "or give per-frame timestamps"
            )
        return next(iter(counts.values()), 0)

    # ------------------------------------------------------------------ recording lock and recovery

    @property
    def lock_path(self) -> Path:
        return self.root / LOCK_FILE

    def acquire_recording_lock(self) -> None:
        """Mark the take as being recorded by this process."""
        write_text_atomic(self.lock_path, f"{os.getpid()} {socket.gethostname()}\n")

    def release_recording_lock(self) -> None:
        self.lock_path.unlink(missing_ok=True)

    def recorder_alive(self) -> bool:
        """True when the process named in ``.recording`` still runs (same host)."""
        try:
            pid_text, host = self.lock_path.read_text().split()
            pid = int(pid_text)
        except (OSError, ValueError):
            return False
        if host != socket.gethostname():
            return True  # cannot tell for another machine: assume it still records
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def recover(self) -> None:
        """Make an abandoned recording readable: keep the frames both in video and timestamps.

        Frame counts, frame sets, gaps and duration are rebuilt from the files; the media files
        themselves are not touched.
        """
        tables: list[TimestampTable | None] = []
        counts = []
        for entry in self.info.cameras:
            video = self.root / entry.video
            decodable = count_decodable_frames(video) if video.is_file() else 0
            stamps = self.root / entry.timestamps if entry.timestamps else None
            table: TimestampTable | None = None
            if stamps is not None:  # a recorder killed before writing anything leaves no file
                table = read_timestamps(stamps) if stamps.is_file() else TimestampTable.regular(0, self.info.fps)
            rows = len(table) if table is not None else decodable
            frames = min(decodable, rows)
            tables.append(table.truncated(frames) if table is not None else None)
            counts.append(frames)
            log.warning(
                "%s: %s: recovered %d frames (video %d, timestamps %d)", self.root, entry.name, frames, decodable, rows
            )
        sets = max(
            (int(t.frame_set[-1]) + 1 for t in tables if t is not None and len(t)), default=max(counts, default=0)
        )
        set_times = np.full(sets, np.nan)
        for table in tables:
            if table is not None and len(table):
                known = np.isnan(set_times[table.frame_set])
                set_times[table.frame_set[known]] = table.timestamp_s[known]
        fill = np.arange(sets) / self.info.fps
        set_times = np.where(np.isnan(set_times), fill + np.nanmin(set_times - fill, initial=0.0), set_times)
        set_times = set_times - (set_times[0] if sets else 0.0)
        cameras = [
            entry.model_copy(
                update={
                    "frames": frames,
                    "gaps": find_gaps(table.frame_set, list(set_times)) if table is not None else [],
                }
            )
            for entry, frames, table in zip(self.info.cameras, counts, tables, strict=True)
        ]
        self.info = self.info.model_copy(
            update={
                "status": "interrupted",
                "stop_reason": self.info.stop_reason or "the recorder stopped without closing the take (crash or kill)",
                "cameras": cameras,
                "frame_sets": sets,
                "duration_s": sets / self.info.fps,
            }
        )
        try:
            self.save()
            self.release_recording_lock()
        except OSError as exc:  # read-only media: the recovered view is still returned
            log.warning("%s: could not write the recovered take.toml (%s)", self.root, exc)
