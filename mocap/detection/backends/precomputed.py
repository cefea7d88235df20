"""The ``precomputed`` backend: keypoints detected elsewhere, replayed frame by frame.

Sources: a ``keypoints2d.npz`` file, OpenPose JSON folders (one per camera), or one folder whose
sub-folders are the cameras' JSON folders (``openpose_body25b_json/cam01_json/...``). Camera
names come from the file (npz) or the folder names without a ``_json`` suffix. Views are
matched to the media by name in :meth:`PrecomputedDetector.reset`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mocap.detection.protocol import Frame, FrameSetDetections
from mocap.detections2d import Detections2D
from mocap.errors import MismatchError, MissingFileError
from mocap.formats.openpose_json import read_openpose_folders
from mocap.skeleton.layouts import KeypointLayout


def camera_name_from_folder(folder: Path) -> str:
    """``cam01_json`` -> ``cam01``."""
    name = folder.name
    return name[: -len("_json")] if name.lower().endswith("_json") else name


def json_folders(path: Path) -> list[Path]:
    """The camera folders of an OpenPose JSON source: ``path`` itself or its sub-folders."""
    if any(p.suffix.lower() == ".json" for p in path.iterdir()):
        return [path]
    from calibration.media import natural_key

    found = [p for p in path.iterdir() if p.is_dir() and any(c.suffix.lower() == ".json" for c in p.iterdir())]
    if not found:
        raise MissingFileError(f"{path}: holds no OpenPose .json files and no folders of them")
    return sorted(found, key=natural_key)


def load_precomputed(
    paths: Sequence[str | Path], layout: KeypointLayout | str | None = None, fps: float | None = None
) -> Detections2D:
    """Detections from a ``keypoints2d.npz`` or OpenPose JSON folders.

    Raises:
        MissingFileError, FileFormatError, LayoutError: naming the file or folder.
    """
    resolved = [Path(p) for p in paths]
    if not resolved:
        raise MissingFileError("no precomputed keypoints given (a keypoints2d.npz or OpenPose JSON folders)")
    for path in resolved:
        if not path.exists():
            raise MissingFileError(f"{path}: no such keypoints file or folder")
    if len(resolved) == 1 and resolved[0].is_file():
        detections = Detections2D.load(resolved[0])
        if fps is not None:
            detections = Detections2D(detections.xy, detections.score, detections.camera_names, detections.layout, fps)
        return detections
    folders = [f for path in resolved for f in json_folders(path)]
    names = [camera_name_from_folder(f) for f in folders]
    return read_openpose_folders(folders, names, layout, fps if fps is not None else 30.0)


class PrecomputedDetector:
    """Replays stored detections (see the module docstring)."""

    name = "precomputed"
    needs_images = False

    def __init__(self, detections: Detections2D) -> None:
        self.detections = detections
        self.layout: KeypointLayout = detections.layout
        self._views = list(range(detections.num_views))

    @classmethod
    def from_path(
        cls,
        paths: Sequence[str | Path] | str | Path,
        layout: KeypointLayout | str | None = None,
        fps: float | None = None,
    ) -> PrecomputedDetector:
        items = [paths] if isinstance(paths, str | Path) else list(paths)
        return cls(load_precomputed(items, layout, fps))

    @property
    def num_frames(self) -> int:
        return self.detections.num_frames

    def reset(self, camera_names: Sequence[str]) -> None:
        """Select the stored views named (in this order).

        Raises:
            MismatchError: a name has no stored view (lists the stored ones).
        """
        stored = self.detections.camera_names
        missing = [n for n in camera_names if n not in stored]
        if missing:
            raise MismatchError(
                f"precomputed keypoints lack cameras {', '.join(missing)} (stored: {', '.join(stored)})"
            )
        self._views = [stored.index(n) for n in camera_names]

    def detect(self, images: Sequence[Frame | None], frame_index: int) -> FrameSetDetections:
        """The stored keypoints of frame ``frame_index`` (empty slots past the stored end)."""
        if len(images) != len(self._views):
            raise MismatchError(f"{len(images)} views given but {len(self._views)} selected by reset()")
        d = self.detections
        if 0 <= frame_index < d.num_frames:
            return FrameSetDetections(d.xy[frame_index, self._views], d.score[frame_index, self._views])
        shape = (len(self._views), d.num_slots, d.layout.num_joints)
        return FrameSetDetections(np.full((*shape, 2), np.nan, np.float32), np.zeros(shape, np.float32))
