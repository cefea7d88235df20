"""Camera names for calibration inputs: from file and folder names, matched between two lists.

Each input is a video file or a folder of images, one per camera; a folder that holds several
videos or image folders (and no images itself) stands for all of them. A camera is named after the
file's stem or the folder's name (``cam_1.mp4`` -> ``cam_1``). Intrinsic inputs are matched to
extrinsic ones by name; when names differ by decoration (``int_cam01_img`` and ``cam01_ext``) they
are matched by the first number in the name, provided that number is unique on both sides.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from calibration.errors import CalibrationError, MissingFileError
from calibration.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES, media_in_folder


def _is_image_folder(path: Path) -> bool:
    return path.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir())


def camera_sources(paths: Sequence[str | Path], kind: str) -> dict[str, Path]:
    """Camera name -> video or image folder, in the order given.

    Args:
        paths: videos, image folders, or folders of those.
        kind: ``"intrinsic"`` or ``"extrinsic"`` (for messages).

    Raises:
        MissingFileError: a path does not exist, or a folder holds neither images nor media.
        CalibrationError: two inputs give the same camera name.
    """
    out: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise MissingFileError(f"{path}: no such {kind} video or image folder")
        if path.is_file():
            if path.suffix.lower() not in VIDEO_SUFFIXES + IMAGE_SUFFIXES:
                raise MissingFileError(f"{path}: not a video ({', '.join(VIDEO_SUFFIXES)}) or an image folder")
            entries = [path]
        elif _is_image_folder(path):
            entries = [path]
        else:
            entries = media_in_folder(path)
        for entry in entries:
            name = entry.stem if entry.is_file() else entry.name
            if name in out:
                raise CalibrationError(
                    f"{kind} inputs {out[name]} and {entry} both name camera {name!r}; give each camera one input"
                )
            out[name] = entry
    if not out:
        raise MissingFileError(f"no {kind} videos or image folders given")
    return out


def _number(name: str) -> int | None:
    match = re.search(r"\d+", name)
    return int(match.group()) if match else None


def match_sources(intrinsic: dict[str, Path], extrinsic: dict[str, Path]) -> dict[str, Path]:
    """Intrinsic inputs renamed after the extrinsic camera they belong to.

    Raises:
        CalibrationError: an intrinsic input matches no extrinsic camera (naming it and the choices).
    """
    out: dict[str, Path] = {}
    by_number: dict[int, list[str]] = {}
    for name in extrinsic:
        number = _number(name)
        if number is not None:
            by_number.setdefault(number, []).append(name)
    intrinsic_numbers = [_number(n) for n in intrinsic]
    for name, path in intrinsic.items():
        if name in extrinsic:
            out[name] = path
            continue
        number = _number(name)
        candidates = by_number.get(number, []) if number is not None else []
        if len(candidates) == 1 and intrinsic_numbers.count(number) == 1:
            out[candidates[0]] = path
            continue
        raise CalibrationError(
            f"intrinsic input {path} (camera {name!r}) matches none of the extrinsic cameras "
            f"({', '.join(extrinsic)}); name both inputs after the camera, e.g. {next(iter(extrinsic))}.mp4"
        )
    return out
