"""Reading BVH motion files and evaluating their forward kinematics.

BVH facts used here: a joint's local rotation is the product of its rotation channels in the
order listed (``Zrotation Xrotation Yrotation`` -> ``Rz @ Rx @ Ry``, degrees, column vectors);
a joint's position is ``parent_position + parent_rotation @ (offset + translation channels)``;
a joint with position channels uses them *instead of* its OFFSET (as Blender does for the
root). ``End Site`` entries become joints named ``<parent>_end`` with no channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from mocap.errors import FileFormatError, MissingFileError

_ROTATIONS = ("Xrotation", "Yrotation", "Zrotation")
_POSITIONS = ("Xposition", "Yposition", "Zposition")


@dataclass(frozen=True, eq=False)
class BvhMotion:
    """A skeleton and its motion, in the file's own units and axes.

    Attributes:
        joint_names: (J,) joints in file order, end sites included as ``<parent>_end``.
        parents: (J,) parent index, -1 for the root.
        offsets: (J, 3) rest offsets from the parent, file units.
        channels: per joint, the channel names in file order (empty for end sites).
        frame_time: seconds per frame.
        values: (T, C) channel values, all joints' channels concatenated in file order.
    """

    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: NDArray[np.float64] = field(repr=False)
    channels: tuple[tuple[str, ...], ...] = field(repr=False)
    frame_time: float
    values: NDArray[np.float64] = field(repr=False)

    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    def index(self, joint: str) -> int:
        return self.joint_names.index(joint)

    def forward_kinematics(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Global positions (T, J, 3) and rotations (T, J, 3, 3) of every joint, file units/axes."""
        t = self.num_frames
        n = len(self.joint_names)
        positions = np.zeros((t, n, 3))
        rotations = np.zeros((t, n, 3, 3))
        column = 0
        for j, (parent, chans) in enumerate(zip(self.parents, self.channels, strict=True)):
            local = np.broadcast_to(np.eye(3), (t, 3, 3)).copy()
            translation = np.broadcast_to(self.offsets[j], (t, 3)).copy()
            has_position = False
            for name in chans:
                value = self.values[:, column]
                column += 1
                if name in _POSITIONS:
                    if not has_position:
                        translation[:] = 0.0
                        has_position = True
                    translation[:, _POSITIONS.index(name)] = value
                else:
                    local = local @ _axis_rotation(_ROTATIONS.index(name), np.radians(value))
            if parent < 0:
                positions[:, j] = translation
                rotations[:, j] = local
            else:
                positions[:, j] = positions[:, parent] + np.einsum("tij,tj->ti", rotations[:, parent], translation)
                rotations[:, j] = rotations[:, parent] @ local
        return positions, rotations


def _axis_rotation(axis: int, angles: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rotations (T, 3, 3) about a coordinate axis (0 x, 1 y, 2 z) by ``angles`` radians."""
    c, s = np.cos(angles), np.sin(angles)
    out = np.zeros(angles.shape + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    out[..., axis, axis] = 1.0
    out[..., i, i], out[..., j, j] = c, c
    out[..., i, j], out[..., j, i] = -s, s
    return out


def read_bvh(path: str | Path) -> BvhMotion:
    """Parse a BVH file.

    Raises:
        MissingFileError: no such file.
        FileFormatError: malformed hierarchy or motion section (with the line number).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such BVH file")
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise FileFormatError(path, "", f"cannot be read ({exc})") from None
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    stack: list[int] = []
    pending: int | None = None
    i = 0

    def fail(message: str) -> FileFormatError:
        return FileFormatError(path, f"line {i + 1}", message)

    while i < len(lines):
        tokens = lines[i].split()
        i += 1
        if not tokens:
            continue
        key = tokens[0]
        if key == "HIERARCHY":
            continue
        if key in ("ROOT", "JOINT", "End"):
            if key == "End":
                parent_name = names[stack[-1]] if stack else "root"
                name = f"{parent_name}_end"
            else:
                if len(tokens) < 2:
                    raise fail(f"{key} without a name")
                name = tokens[1]
            parents.append(stack[-1] if stack else -1)
            names.append(name)
            offsets.append([0.0, 0.0, 0.0])
            channels.append(())
            pending = len(names) - 1
        elif key == "{":
            if pending is None:
                raise fail("'{' without a joint")
            stack.append(pending)
            pending = None
        elif key == "}":
            if not stack:
                raise fail("unbalanced '}'")
            stack.pop()
        elif key == "OFFSET":
            try:
                offsets[stack[-1]] = [float(v) for v in tokens[1:4]]
            except (ValueError, IndexError):
                raise fail("OFFSET needs three numbers") from None
        elif key == "CHANNELS":
            try:
                count = int(tokens[1])
            except (ValueError, IndexError):
                raise fail("CHANNELS needs a count") from None
            chans = tuple(tokens[2 : 2 + count])
            if len(chans) != count or any(c not in _ROTATIONS + _POSITIONS for c in chans):
                raise fail(f"bad CHANNELS list {chans}")
            channels[stack[-1]] = chans
        elif key == "MOTION":
            break
        else:
            raise fail(f"unexpected {key!r} in the hierarchy")
    if not names or stack:
        raise FileFormatError(path, "HIERARCHY", "missing or unbalanced")
    header: dict[str, str] = {}
    while i < len(lines) and len(header) < 2:
        line = lines[i].strip()
        i += 1
        if ":" in line:
            k, v = line.split(":", 1)
            header[k.strip().lower()] = v.strip()
    try:
        num_frames = int(header["frames"])
        frame_time = float(header["frame time"])
    except (KeyError, ValueError):
        raise FileFormatError(path, "MOTION", "needs 'Frames:' and 'Frame Time:' lines") from None
    if frame_time <= 0 or num_frames <= 0:
        raise FileFormatError(path, "MOTION", f"{num_frames} frames of {frame_time} s is empty")
    width = sum(len(c) for c in channels)
    rows = [line.split() for line in lines[i:] if line.strip()]
    if len(rows) < num_frames:
        raise FileFormatError(path, "MOTION", f"declares {num_frames} frames but holds {len(rows)}")
    try:
        values = np.array([[float(v) for v in row] for row in rows[:num_frames]])
    except ValueError:
        raise FileFormatError(path, "MOTION", "non-numeric values") from None
    if values.shape != (num_frames, width):
        raise FileFormatError(path, "MOTION", f"expected {width} values per frame")
    return BvhMotion(tuple(names), tuple(parents), np.array(offsets), tuple(channels), frame_time, values)
