"""OpenPose JSON folders (one folder per camera, one file per frame) to :class:`Detections2D`.

Each file holds ``{"people": [{"pose_keypoints_2d": [x0, y0, c0, x1, y1, c1, ...]}, ...]}``.
Frames are ordered by the last number in the file name (``cam01.0012.json`` -> 12), never by
string sort. A keypoint with confidence 0 is missing (OpenPose writes ``0, 0, 0``).

The layout comes from the caller, or from the keypoint count when it is unambiguous (17 ->
COCO-17, 26 -> HALPE-26, 33 -> BlazePose-33); 25 keypoints may be BODY_25 or BODY_25B and
must be named.

A *take folder* holds one such folder per camera (Pose2Sim: ``openpose_body25b_json/cam01_json``);
:func:`read_openpose_take` matches the sub-folders to a rig's camera names
(:mod:`mocap.camera_matching`: case, ``_``, ``-`` and a ``_json`` suffix do not matter).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mocap.camera_matching import camera_key, match_camera_names
from mocap.detections2d import Detections2D
from mocap.errors import FileFormatError, LayoutError, MissingFileError
from mocap.skeleton.layouts import KeypointLayout, get_layout

_BY_COUNT = {17: "coco17", 26: "halpe26", 33: "blazepose33"}
_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def frame_files(folder: Path) -> list[Path]:
    """JSON files of ``folder`` sorted by the frame number in their names.

    Raises:
        MissingFileError: the folder is missing or holds no JSON file.
        FileFormatError: a file name carries no frame number, or two files the same number.
    """
    if not folder.is_dir():
        raise MissingFileError(f"{folder}: no such folder of OpenPose JSON files")
    files = [f for f in folder.iterdir() if f.suffix.lower() == ".json"]
    if not files:
        raise MissingFileError(f"{folder}: holds no .json files")
    numbered = []
    for f in files:
        match = _NUMBER.search(f.stem)
        if match is None:
            raise FileFormatError(f, "", "file name carries no frame number")
        numbered.append((int(match.group(1)), f))
    numbered.sort()
    numbers = [n for n, _ in numbered]
    if len(set(numbers)) != len(numbers):
        raise FileFormatError(folder, "", "two files carry the same frame number")
    return [f for _, f in numbered]


def _read_people(path: Path) -> list[np.ndarray]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(path, "", f"not readable as JSON ({exc})") from None
    people = document.get("people") if isinstance(document, dict) else None
    if not isinstance(people, list):
        raise FileFormatError(path, "people", "missing or not a list")
    out = []
    for i, person in enumerate(people):
        values = person.get("pose_keypoints_2d") if isinstance(person, dict) else None
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise FileFormatError(path, f"people[{i}].pose_keypoints_2d", "expected numbers") from None
        if array.ndim != 1 or array.size % 3 or array.size == 0:
            raise FileFormatError(path, f"people[{i}].pose_keypoints_2d", f"expected 3 x J numbers, got {array.size}")
        out.append(array.reshape(-1, 3))
    return out


def read_openpose_folders(
    folders: Sequence[Path],
    camera_names: Sequence[str],
    layout: KeypointLayout | str | None = None,
    fps: float = 30.0,
) -> Detections2D:
    """Read one OpenPose JSON folder per camera.

    Args:
        folders: folders in view order.
        camera_names: the view names, same order.
        layout: the keypoint layout (object or name); inferred from the keypoint count if None.
        fps: frame rate (OpenPose files do not record it).

    Returns:
        Detections2D with T = the longest folder (shorter ones padded with missing frames) and
        P = the most people in any file.

    Raises:
        MissingFileError, FileFormatError, LayoutError: naming the folder or file.
    """
    if len(folders) != len(camera_names):
        raise ValueError("one camera name per folder is needed")
    per_view = []
    counts: set[int] = set()
    for folder in folders:
        frames = [_read_people(f) for f in frame_files(Path(folder))]
        counts.update(p.shape[0] for people in frames for p in people)
        per_view.append(frames)
    if len(counts) > 1:
        raise FileFormatError(Path(folders[0]).parent, "", f"files disagree on the keypoint count: {sorted(counts)}")
    if not counts:
        raise FileFormatError(Path(folders[0]).parent, "", "no person in any file; nothing to read")
    num_joints = counts.pop()
    if layout is None:
        if num_joints not in _BY_COUNT:
            raise LayoutError(
                f"{num_joints} keypoints per person does not tell the layout (BODY_25 or BODY_25B?); pass --layout"
            )
        layout = _BY_COUNT[num_joints]
    resolved = get_layout(layout) if isinstance(layout, str) else layout
    if resolved.num_joints != num_joints:
        raise LayoutError(f"layout {resolved.name} has {resolved.num_joints} joints but the files have {num_joints}")
    num_frames = max(len(frames) for frames in per_view)
    num_slots = max(1, max(len(people) for frames in per_view for people in frames))
    xy = np.full((num_frames, len(folders), num_slots, num_joints, 2), np.nan, dtype=np.float32)
    score = np.zeros((num_frames, len(folders), num_slots, num_joints), dtype=np.float32)
    for v, frames in enumerate(per_view):
        for t, people in enumerate(frames):
            for p, keypoints in enumerate(people):
                xy[t, v, p] = keypoints[:, :2]
                score[t, v, p] = np.clip(keypoints[:, 2], 0.0, 1.0)
    return Detections2D(xy, score, tuple(camera_names), resolved, fps)


def camera_folders(folder: Path) -> list[Path]:
    """Sub-folders of ``folder`` that hold ``.json`` files, in natural order of their camera keys.

    Raises:
        MissingFileError: ``folder`` does not exist or has no such sub-folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError(f"{folder}: no such folder of per-camera OpenPose JSON folders")
    found = [d for d in folder.iterdir() if d.is_dir() and any(f.suffix.lower() == ".json" for f in d.iterdir())]
    if not found:
        raise MissingFileError(f"{folder}: holds no sub-folder of .json files (one folder per camera is expected)")

    def natural(path: Path) -> tuple[list[int | str], str]:
        parts = re.split(r"(\d+)", camera_key(path.name))
        return [int(part) if part.isdigit() else part for part in parts], path.name

    return sorted(found, key=natural)


def read_openpose_take(
    folder: str | Path,
    camera_names: Sequence[str],
    layout: KeypointLayout | str | None = None,
    fps: float = 30.0,
) -> Detections2D:
    """Read a folder of per-camera OpenPose JSON folders, matched to ``camera_names``.

    Args:
        folder: holds one sub-folder of JSON files per camera (extra sub-folders are ignored).
        camera_names: the rig's camera names; the result's views follow this order and naming.
        layout: keypoint layout (object or name), or None to infer it from the keypoint count.
        fps: frame rate (OpenPose files do not record it).

    Raises:
        MissingFileError: no such folder or no camera sub-folder.
        MismatchError: sub-folders that cannot be matched to the cameras (both sides listed).
        FileFormatError, LayoutError: from the files.
    """
    folders = {d.name: d for d in camera_folders(Path(folder))}
    mapping = match_camera_names(camera_names, list(folders), "OpenPose folders")
    return read_openpose_folders([folders[mapping[name]] for name in camera_names], camera_names, layout, fps)
