"""The detect stage on a take: every frame set of every camera through a detector.

Unlike :func:`mocap.detection.run.detect_media_iter` (loose video files assumed in step), this
follows the take's frame map (:meth:`mocap.session.store.Take.frame_map`): frame set ``s`` of the
output holds, per camera, the video frame recorded for that instant. A camera that missed a set
(a gap) gets a black frame of its size, and its keypoints in that set are cleared (NaN, score 0),
so the output keeps one row per frame set and the gap stays visible downstream. Videos are
decoded front to back with PyAV (:class:`mocap.session.media.VideoReader`), which also reads a
recording that was cut short by a crash.

Long takes are resumable inside the stage: with a ``checkpoint`` file, the keypoints found so
far are saved every ``checkpoint_every`` frame sets (atomically, with the stage key); a run that
finds a checkpoint with the same key decodes past those sets without detecting and goes on from
there. The detector then starts without tracks at the resume point (it re-detects people), so a
resumed result can differ from an uninterrupted one by that one re-detection.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from calibration.progress import CancelToken, Progress, check_cancelled
from mocap.detection.protocol import Detector, Frame, FrameSetDetections
from mocap.detection.run import stack_frame_sets
from mocap.detections2d import Detections2D
from mocap.errors import FileFormatError, MismatchError, MissingFileError
from mocap.npz_io import read_npz, scalar, write_npz
from mocap.session.media import VideoReader
from mocap.session.store import Take

log = logging.getLogger(__name__)

#: Frame sets between two progress reports.
REPORT_EVERY = 4
#: Frame sets between two checkpoints of a long detection.
CHECKPOINT_EVERY = 200


def _save_checkpoint(path: Path, key: str, results: list[FrameSetDetections], views: int, joints: int) -> None:
    xy, score = stack_frame_sets(results, views, joints)
    write_npz(path, {"key": np.array(key), "xy": xy, "score": score})


def _load_checkpoint(path: Path, key: str) -> list[FrameSetDetections]:
    """The frame sets a previous run saved under the same key; none when absent, stale or unreadable."""
    if not path.is_file():
        return []
    try:
        arrays = read_npz(path, ("key", "xy", "score"), "a detection checkpoint")
        if scalar(path, arrays, "key", str) != key:
            log.info("%s: made with other settings; detecting from the start", path)
            return []
        return [FrameSetDetections(xy, score) for xy, score in zip(arrays["xy"], arrays["score"], strict=True)]
    except (FileFormatError, MissingFileError, ValueError) as exc:
        log.warning("%s: unusable checkpoint (%s); detecting from the start", path, exc)
        return []


def detect_take_iter(
    take: Take,
    detector: Detector,
    camera_names: Sequence[str] | None = None,
    *,
    checkpoint: Path | None = None,
    checkpoint_key: str = "",
    checkpoint_every: int | None = None,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, Detections2D]:
    """Detect keypoints in every frame set of ``take``.

    Args:
        take: the take (its cameras in ``take.toml`` order are the views).
        detector: a backend from :func:`mocap.detection.registry.create_detector`.
        camera_names: names to give the views (e.g. the rig's names for the take's cameras);
            default: the take's camera names.
        checkpoint: file for partial results (module docstring); None: no checkpoints.
        checkpoint_key: what made the partial results (the stage key); a checkpoint with
            another key is ignored.
        checkpoint_every: frame sets between checkpoints (default :data:`CHECKPOINT_EVERY`).
        cancel: checked between frame sets.

    Returns:
        Detections2D (S, V, P, J): S frame sets, V cameras; NaN/0 where a camera missed a set.

    Raises:
        MismatchError: ``camera_names`` has the wrong length or repeats.
        MissingFileError: a video holds fewer frames than its timestamps promise.
        FileFormatError: a video cannot be decoded.
        CancelledError: cancelled.
    """
    cameras = take.camera_names
    names = tuple(cameras if camera_names is None else (str(n) for n in camera_names))
    if len(names) != len(cameras) or len(set(names)) != len(names):
        raise MismatchError(f"camera names {', '.join(names)} do not name the take's {len(cameras)} cameras once each")
    frame_map = take.frame_map()  # (S, V) video frame per set, -1 where missing
    sizes = [take.camera(c).size for c in cameras]
    readers: list[VideoReader] = []
    streams: list[Iterator[tuple[int, NDArray[np.uint8]]]] = []
    if detector.needs_images:
        for camera in cameras:
            readers.append(take.open_video(camera))
            streams.append(readers[-1].frames())
    stage = f"detect ({getattr(detector, 'name', 'detector')})"
    total = int(frame_map.shape[0])
    joints = detector.layout.num_joints
    every = max(1, checkpoint_every or CHECKPOINT_EVERY)
    results = _load_checkpoint(checkpoint, checkpoint_key) if checkpoint is not None else []
    results = results[:total]
    resume = len(results)
    try:
        detector.reset(names)
        yield Progress(stage, resume, total, f"resuming at frame set {resume}" if resume else "")
        for index in range(total):
            check_cancelled(cancel)
            present = frame_map[index] >= 0
            if index < resume:  # done before: decode past the frames without detecting
                for view, stream in enumerate(streams):
                    if present[view] and next(stream, None) is None:
                        raise MissingFileError(f"{take.video_path(cameras[view])}: ended before frame set {index}")
                continue
            images: list[Frame | None] = [None] * len(cameras)
            for view, stream in enumerate(streams):
                if present[view]:
                    item = next(stream, None)
                    if item is None or item[0] != frame_map[index, view]:
                        raise MissingFileError(
                            f"{take.video_path(cameras[view])}: ended before frame {frame_map[index, view]}; "
                            f"the take records {take.camera(cameras[view]).frames} frames for it (file replaced?)"
                        )
                    images[view] = item[1]
                else:  # a gap: the detector still needs an image; its output for this view is cleared
                    width, height = sizes[view]
                    images[view] = np.zeros((height, width, 3), dtype=np.uint8)
            result = detector.detect(images, index)
            if not present.all():
                xy, score = np.array(result.xy), np.array(result.score)
                xy[~present] = np.nan
                score[~present] = 0.0
                result = FrameSetDetections(xy, score)
            results.append(result)
            if checkpoint is not None and (index + 1) % every == 0 and index + 1 < total:
                _save_checkpoint(checkpoint, checkpoint_key, results, len(names), joints)
            if (index + 1) % REPORT_EVERY == 0 or index + 1 == total:
                yield Progress(stage, index + 1, total, f"frame set {index + 1}")
    finally:
        for reader in readers:
            reader.close()
    xy, score = stack_frame_sets(results, len(names), joints)
    return Detections2D(xy, score, names, detector.layout, take.info.fps)
