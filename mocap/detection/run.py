"""Run a detector over the synchronized media of a take: frames in, ``Detections2D`` out.

Each view is a video file or an image folder (``calibration.media.open_frames``); camera names
default to the file stems and can be matched to a rig's names by :func:`match_camera_names`
(``cam01`` <-> ``cam_01``). Frames are decoded ``batch_frames`` frame sets at a time and fed to
the detector set by set (it tracks people between consecutive frames); the operation yields
:class:`~calibration.progress.Progress` and honours a cancel token.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Sequence
from pathlib import Path

import numpy as np

from calibration.media import IMAGE_SUFFIXES, FrameSource, media_in_folder, open_frames
from calibration.progress import CancelToken, Progress, check_cancelled
from mocap.detection.protocol import Detector, Frame, FrameSetDetections, detect_batch
from mocap.detections2d import Detections2D
from mocap.errors import MismatchError, MissingFileError

log = logging.getLogger(__name__)

DEFAULT_FPS = 30.0


def media_paths(inputs: Sequence[str | Path]) -> list[Path]:
    """Video files / image folders from the command line; one take folder expands to its media.

    A single folder is one camera when it holds images itself, else a take folder: its videos (or
    image sub-folders), or those of its ``videos/`` sub-folder.

    Raises:
        MissingFileError: a path does not exist, or a folder holds no media.
    """
    paths = [Path(p) for p in inputs]
    for path in paths:
        if not path.exists():
            raise MissingFileError(f"{path}: no such video file or folder")
    if len(paths) == 1 and paths[0].is_dir():
        folder = paths[0]
        if any(p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir()):
            return [folder]  # one camera's image folder
        for candidate in (folder / "videos", folder):
            if candidate.is_dir():
                try:
                    return media_in_folder(candidate)
                except MissingFileError:
                    continue
        raise MissingFileError(f"{folder}: holds no videos or image folders (nor a videos/ sub-folder)")
    return paths


def _normal(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", name.lower())


def match_camera_names(stems: Sequence[str], names: Sequence[str]) -> list[str]:
    """Rename media stems to the rig's camera names, ignoring case, ``_``, ``-`` and spaces.

    Raises:
        MismatchError: a stem matches no name, or two stems the same name.
    """
    table = {_normal(n): n for n in names}
    out = []
    for stem in stems:
        if _normal(stem) not in table:
            raise MismatchError(f"video {stem!r} matches no camera of the rig ({', '.join(names)})")
        out.append(table[_normal(stem)])
    if len(set(out)) != len(out):
        raise MismatchError(f"two videos match the same rig camera: {', '.join(stems)}")
    return out


def _frame_count(sources: Sequence[FrameSource], paths: Sequence[Path]) -> int:
    counts = [s.info.num_frames for s in sources]
    if len(set(counts)) > 1:
        log.warning(
            "views have different frame counts %s; using the shortest", dict(zip(map(str, paths), counts, strict=True))
        )
    return min(counts)


def stack_frame_sets(
    results: list[FrameSetDetections], num_views: int, num_joints: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame-set detections as ``xy (T, V, S, J, 2)`` and ``score (T, V, S, J)`` arrays, slots
    padded to the most any frame set used (trailing slots no frame ever used dropped)."""
    slots = max([r.num_slots for r in results] + [1])
    xy = np.full((len(results), num_views, slots, num_joints, 2), np.nan, dtype=np.float32)
    score = np.zeros((len(results), num_views, slots, num_joints), dtype=np.float32)
    for t, result in enumerate(results):
        xy[t, :, : result.num_slots] = result.xy
        score[t, :, : result.num_slots] = result.score
    used = np.flatnonzero(score.max(axis=(0, 1, 3)) > 0)
    keep = int(used.max()) + 1 if used.size else 1  # drop trailing slots no frame ever used
    return xy[:, :, :keep], score[:, :, :keep]


def detect_media_iter(
    paths: Sequence[str | Path],
    detector: Detector,
    *,
    camera_names: Sequence[str] | None = None,
    batch_frames: int = 8,
    start: int = 0,
    stop: int | None = None,
    fps: float | None = None,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, Detections2D]:
    """Detect keypoints in every frame of synchronized views.

    Args:
        paths: one video file or image folder per view (in view order).
        detector: the backend (see :mod:`mocap.detection.registry`).
        camera_names: view names (default: the file stems).
        batch_frames: frame sets decoded ahead at a time.
        start, stop: frame range (stop exclusive; None: to the end of the shortest view).
        fps: frame rate to record (default: the first video's, else 30).
        cancel: cooperative cancellation.

    Returns:
        Detections2D with T = frames processed, V = views, P = the most people any frame held.

    Raises:
        MissingFileError, FileFormatError: a view cannot be opened or decoded (named).
        MismatchError: camera names and paths disagree in count or repeat.
        CancelledError: cancelled.
    """
    resolved = [Path(p) for p in paths]
    names = [p.stem for p in resolved] if camera_names is None else [str(n) for n in camera_names]
    if len(names) != len(resolved):
        raise MismatchError(f"{len(names)} camera names for {len(resolved)} videos")
    if len(set(names)) != len(names):
        raise MismatchError(f"camera names repeat: {', '.join(names)}; rename the videos or pass names")
    sources: list[FrameSource] = []
    try:
        for path in resolved:
            sources.append(open_frames(path))
        total = _frame_count(sources, resolved)
        end = total if stop is None else min(stop, total)
        rate = fps or next((s.info.fps for s in sources if s.info.fps), None) or DEFAULT_FPS
        detector.reset(names)
        results: list[FrameSetDetections] = []
        readers = [s.frames(start, end) for s in sources] if detector.needs_images else []
        stage = f"detecting ({getattr(detector, 'name', 'detector')})"
        index = start
        while index < end:
            check_cancelled(cancel)
            count = min(max(1, batch_frames), end - index)
            batch: list[list[Frame | None]] = [[None] * len(sources) for _ in range(count)]
            for view, reader in enumerate(readers):
                for k in range(count):
                    item = next(reader, None)
                    if item is None:
                        raise MissingFileError(
                            f"{resolved[view]}: ended at frame {index + k} of {end}; file truncated?"
                        )
                    batch[k][view] = item[1]
            results.extend(detect_batch(detector, batch, index))
            index += count
            yield Progress(stage, index - start, end - start, f"frame {index}")
    finally:
        for source in sources:
            source.close()
    xy, score = stack_frame_sets(results, len(names), detector.layout.num_joints)
    return Detections2D(xy, score, tuple(names), detector.layout, rate)
