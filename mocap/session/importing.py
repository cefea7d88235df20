"""Bringing existing videos into a session as a take (no recording involved).

Each video becomes one camera of a new take (status ``imported``); the file is hard-linked into
the take folder when it is on the same file system, copied otherwise. Videos imported without
timestamp files must hold the same number of frames (they are assumed to start together; use
:mod:`mocap.capture.offsets` to find offsets between unsynchronised videos). Everything is
checked before the take folder is created, so a bad input leaves nothing behind.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from mocap.errors import MismatchError, MissingFileError, MocapError
from mocap.session.media import VideoProbe, probe_video
from mocap.session.schema import CameraEntry
from mocap.session.store import Session, Take, check_name

log = logging.getLogger(__name__)


def _place(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def import_videos(
    session: Session,
    videos: Sequence[str | Path],
    *,
    name: str | None = None,
    camera_names: Sequence[str] | None = None,
    fps: float | None = None,
) -> Take:
    """Create a take from one video per camera.

    Args:
        session: the session to add the take to.
        videos: one file per camera, in camera order.
        name: take name (default: the next ``take_NNN``).
        camera_names: one per video (default: the file stems).
        fps: frame rate (default: the videos' own, which must agree).

    Raises:
        MissingFileError: a video does not exist.
        FileFormatError: a video cannot be decoded (corrupt, empty).
        MismatchError: frame counts, frame rates or the number of names disagree.
    """
    paths = [Path(v) for v in videos]
    if not paths:
        raise MocapError("no videos given; pass one video file per camera")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise MissingFileError(
            f"{missing[0]}: no such video file" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    names = list(camera_names) if camera_names is not None else [p.stem for p in paths]
    if len(names) != len(paths):
        raise MismatchError(f"{len(names)} camera names for {len(paths)} videos")
    for camera in names:
        check_name("camera", camera)
    if len(set(names)) != len(names):
        raise MismatchError(f"camera names repeat: {', '.join(names)}; pass distinct names")
    probes: list[VideoProbe] = [probe_video(p) for p in paths]
    counts = {n: pr.frames for n, pr in zip(names, probes, strict=True)}
    if len(set(counts.values())) > 1:
        listing = ", ".join(f"{p.name}: {pr.frames}" for p, pr in zip(paths, probes, strict=True))
        raise MismatchError(f"frame counts disagree ({listing}); trim the videos to the same frames before importing")
    rates = {round(pr.fps, 3) for pr in probes if pr.fps}
    if fps is None:
        if len(rates) != 1:
            raise MismatchError(f"frame rates disagree or are unknown ({sorted(rates)}); pass --fps")
        fps = rates.pop()
    entries = [
        CameraEntry(name=n, video=f"{n}{p.suffix.lower()}", timestamps="", size=pr.size, frames=pr.frames)
        for n, p, pr in zip(names, paths, probes, strict=True)
    ]
    take = session.new_take(entries, fps, name=name and check_name("take", name), source="import", status="imported")
    try:
        for path, entry in zip(paths, entries, strict=True):
            _place(path, take.root / entry.video)
    except OSError as exc:
        shutil.rmtree(take.root, ignore_errors=True)
        raise MocapError(f"{take.root}: could not copy the videos in ({exc.strerror}); nothing was imported") from None
    take.update(frame_sets=entries[0].frames, duration_s=entries[0].frames / fps)
    log.info("imported %d videos into %s", len(paths), take.root)
    return take
