"""Matching camera names from files and folders to a rig's camera names.

Tools name the same camera differently: Pose2Sim writes OpenPose folders ``cam01_json`` for the
rig camera ``cam_01``, others write ``Cam-1`` or ``CAM_01``. Names match when their *keys* are
equal: lower case, a trailing ``_json`` / ``-json`` / `` json`` removed, separators (``_ - . `` and
spaces) removed, and leading zeros of every number dropped (``cam01_json``, ``cam_01``, ``Cam-1``
all give ``cam1``). Exact names always win over normalised ones.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from mocap.detections2d import Detections2D
from mocap.errors import MismatchError

log = logging.getLogger(__name__)

_SUFFIX = re.compile(r"[_\- ]json$")
_SEPARATORS = re.compile(r"[_\-. ]+")
_NUMBER = re.compile(r"\d+")


def camera_key(name: str) -> str:
    """The normalised form of a camera name (see the module docstring)."""
    key = _SUFFIX.sub("", name.strip().lower())
    key = _SEPARATORS.sub("", key)
    return _NUMBER.sub(lambda m: str(int(m.group())), key)


def match_camera_names(wanted: Sequence[str], found: Sequence[str], what: str = "folders") -> dict[str, str]:
    """Pair every wanted name (the rig's) with one found name (files, folders, views).

    Args:
        wanted: the rig's camera names, in rig order.
        found: the names available.
        what: what the found names are, for messages (``"folders"``, ``"views"``).

    Returns:
        ``{wanted_name: found_name}`` for every wanted name. Found names that no camera wants are
        ignored (logged).

    Raises:
        MismatchError: a wanted name matches nothing, or two found names match the same camera;
            the message lists both sides.
    """
    found_list = list(found)
    both_sides = f"(rig cameras: {', '.join(wanted)}; {what}: {', '.join(found_list) or 'none'})"
    by_key: dict[str, list[str]] = {}
    for name in found_list:
        by_key.setdefault(camera_key(name), []).append(name)
    out: dict[str, str] = {}
    unmatched = []
    for name in wanted:
        if name in found_list:
            out[name] = name
            continue
        candidates = by_key.get(camera_key(name), [])
        if len(candidates) > 1:
            raise MismatchError(f"{what} {', '.join(candidates)} all match camera {name} {both_sides}")
        if not candidates:
            unmatched.append(name)
        else:
            out[name] = candidates[0]
    if unmatched:
        raise MismatchError(
            f"no {what} match the rig's cameras {', '.join(unmatched)} {both_sides}; "
            f"name them after the rig's cameras (case, '_', '-' and a '_json' suffix do not matter)"
        )
    used = set(out.values())
    if len(used) != len(out):
        repeated = sorted({v for v in out.values() if list(out.values()).count(v) > 1})
        raise MismatchError(f"{what} {', '.join(repeated)} match more than one camera {both_sides}")
    extra = [n for n in found_list if n not in used]
    if extra:
        log.info("ignoring %s that match no rig camera: %s", what, ", ".join(extra))
    return out


def align_to_rig(detections: Detections2D, rig_names: Sequence[str]) -> Detections2D:
    """Detections with views renamed and reordered to the rig's cameras (matched as above).

    Raises:
        MismatchError: the views cannot be matched to the rig's cameras (both sides listed).
    """
    mapping = match_camera_names(rig_names, detections.camera_names, "views")
    picked = detections.subset_views([mapping[name] for name in rig_names])
    return Detections2D(picked.xy, picked.score, tuple(rig_names), picked.layout, picked.fps)
