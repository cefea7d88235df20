"""A BVH file of joint *positions* (no skeleton solving): the first slice's exporter.

Each keypoint becomes a joint with three position channels, child of the layout's root joint,
which carries the six root channels (position, and rotations that are always zero). Blender and
most BVH readers play it back as moving points; a rigged skeleton with joint rotations comes with
the skeleton-solving exporter.

Conventions: BVH is Y-up, so world ``(x, y, z)`` (Z-up) is written as ``(x, z, -y)``; units are
metres. Missing values (NaN) are filled by linear interpolation between the nearest frames that
have the joint and held constant before the first and after the last; a joint missing on every
frame is an :class:`~mocap.errors.ExportError`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from calibration.files import write_text_atomic
from mocap.errors import ExportError
from mocap.poses3d import Poses3D
from mocap.solve.gaps import fill_gaps

#: world (Z-up) -> BVH (Y-up)
WORLD_TO_YUP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def write_points_bvh(poses: Poses3D, path: str | Path, person_id: int | None = None) -> Path:
    """Write one person's joint positions as BVH (see the module docstring).

    Args:
        poses: the poses; ``person_id`` picks the person (default: the first real one).
        path: output file (written atomically).

    Raises:
        ExportError: no frames, no person, or a joint missing on every frame.
    """
    if poses.num_frames == 0:
        raise ExportError("nothing to export: the poses have zero frames")
    ids = [int(i) for i in poses.person_id if i >= 0]
    if not ids:
        raise ExportError("nothing to export: no person in the poses")
    one = poses.person(ids[0] if person_id is None else person_id)
    xyz = one.xyz[:, 0].astype(np.float64) @ WORLD_TO_YUP.T  # (T, J, 3)
    layout = one.layout
    empty = [layout.joint_names[j] for j in range(layout.num_joints) if np.all(np.isnan(xyz[:, j, 0]))]
    if empty:
        raise ExportError(f"person {ids[0] if person_id is None else person_id}: no data at all for {', '.join(empty)}")
    filled = fill_gaps(xyz.reshape(len(xyz), -1)).reshape(xyz.shape)
    root = layout.root
    rest = filled[0] - filled[0, root]
    lines = [
        "HIERARCHY",
        f"ROOT {layout.joint_names[root]}",
        "{",
        "\tOFFSET 0.0 0.0 0.0",
        "\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation",
    ]
    children = [j for j in range(layout.num_joints) if j != root]
    for j in children:
        x, y, z = rest[j]
        lines += [
            f"\tJOINT {layout.joint_names[j]}",
            "\t{",
            f"\t\tOFFSET {x:.6f} {y:.6f} {z:.6f}",
            "\t\tCHANNELS 3 Xposition Yposition Zposition",
            "\t\tEnd Site",
            "\t\t{",
            "\t\t\tOFFSET 0.0 0.0 0.0",
            "\t\t}",
            "\t}",
        ]
    lines += ["}", "MOTION", f"Frames: {len(filled)}", f"Frame Time: {1.0 / one.fps:.10f}"]
    relative = filled[:, children] - filled[:, root : root + 1]
    for t in range(len(filled)):
        values = [*filled[t, root], 0.0, 0.0, 0.0, *relative[t].ravel()]
        lines.append(" ".join(f"{v:.6f}" for v in values))
    return write_text_atomic(path, "\n".join(lines) + "\n")
