"""BVH export of solved skeletons: one file per person (BVH holds one skeleton).

Layout of the file:

* the hierarchy of :mod:`mocap.skeleton.hierarchy` in its T-pose rest pose; end sites as ``End Site``;
* ``ROOT Hips`` with ``OFFSET 0 0 0`` and six channels (position then rotation), every other joint
  three rotation channels in the chosen order (``ZXY`` by default: ``Zrotation Xrotation
  Yrotation``, meaning ``R = Rz @ Rx @ Ry`` in degrees);
* ``Frame Time`` with 10 decimals (1/fps), one line per frame; Euler angles continuous over time.

Axes and units: Y-up metres by default (what Blender's BVH importer expects with its defaults,
reading values as metres); ``up="z"`` writes world axes, ``units="cm"`` centimetres (import with a
scale of 0.01 in Blender). Missing joints follow the solver's gap rule (:mod:`mocap.solve.gaps`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from calibration.files import write_text_atomic
from mocap.export.base import UNIT_SCALE, ExportOptions, Units, Up, axes_matrix, per_person_paths, register_exporter
from mocap.poses3d import Poses3D
from mocap.solve.rotations import matrix_to_euler
from mocap.solve.skeleton import SolvedSkeleton
from mocap.solve.solver import solve_people


def bvh_text(skeleton: SolvedSkeleton, *, units: Units = "m", up: Up = "y", rotation_order: str = "ZXY") -> str:
    """The BVH file of one solved skeleton (see the module docstring)."""
    axes = axes_matrix(up)
    scale = UNIT_SCALE[units]
    hierarchy = skeleton.hierarchy
    offsets = scale * skeleton.rest_offsets @ axes.T
    order = rotation_order.upper()
    rotation_channels = " ".join(f"{axis}rotation" for axis in order)
    lines = ["HIERARCHY"]
    rotating: list[int] = []  # joints with channels, in file (depth-first) order

    def emit(joint: int, depth: int) -> None:
        pad = "\t" * depth
        x, y, z = offsets[joint]
        if hierarchy.is_end[joint]:
            lines.extend([f"{pad}End Site", f"{pad}{{", f"{pad}\tOFFSET {x:.6f} {y:.6f} {z:.6f}", f"{pad}}}"])
            return
        rotating.append(joint)
        if hierarchy.parents[joint] < 0:
            lines.extend([f"ROOT {hierarchy.joint_names[joint]}", "{", "\tOFFSET 0.000000 0.000000 0.000000"])
            lines.append(f"\tCHANNELS 6 Xposition Yposition Zposition {rotation_channels}")
        else:
            lines.extend([f"{pad}JOINT {hierarchy.joint_names[joint]}", f"{pad}{{"])
            lines.append(f"{pad}\tOFFSET {x:.6f} {y:.6f} {z:.6f}")
            lines.append(f"{pad}\tCHANNELS 3 {rotation_channels}")
        for child in hierarchy.children(joint):
            emit(child, depth + 1)
        lines.append(f"{pad}}}")

    emit(hierarchy.parents.index(-1), 0)
    # file-axes rotations: R' = A R A^T
    local = axes @ skeleton.local_rotations[:, rotating] @ axes.T
    degrees = np.degrees(matrix_to_euler(local, order))  # (T, J', 3)
    root = scale * skeleton.root_translation @ axes.T
    table = np.concatenate([root, degrees.reshape(len(degrees), -1)], axis=1)
    lines.extend(["MOTION", f"Frames: {skeleton.num_frames}", f"Frame Time: {1.0 / skeleton.fps:.10f}"])
    body = io.StringIO()
    np.savetxt(body, table, fmt="%.6f", delimiter=" ")
    return "\n".join(lines) + "\n" + body.getvalue()


class BvhExporter:
    """Solved skeletons as BVH, one file per person."""

    name = "bvh"
    suffix = ".bvh"
    description = "BVH skeleton animation (one file per person)"
    default_units: Units = "m"
    default_up: Up = "y"

    def write(self, poses: Poses3D, person_ids: Sequence[int], path: Path, options: ExportOptions) -> list[Path]:
        paths = per_person_paths(path, person_ids)
        skeletons = solve_people(poses, person_ids, options.solve)
        texts = [
            bvh_text(
                s,
                units=options.units or self.default_units,
                up=options.up or self.default_up,
                rotation_order=options.rotation_order,
            )
            for s in skeletons
        ]
        return [write_text_atomic(p, text) for p, text in zip(paths, texts, strict=True)]


register_exporter(BvhExporter())
