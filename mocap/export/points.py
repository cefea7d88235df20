"""Marker tables for the position formats (TRC, C3D, CSV): which points, named how, in which axes.

``options.positions == "keypoints"`` writes the input keypoints under the layout's own names (the
names OpenSim marker sets and Pose2Sim use, e.g. ``LShoulder`` for OpenPose layouts);
``"skeleton"`` writes the solved skeleton's joints (hierarchy names). Missing keypoints stay
missing (NaN): each format writes them its own way. Coordinates are converted to the file's axes
and units here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mocap.errors import ExportError
from mocap.export.base import UNIT_SCALE, ExportOptions, Units, Up, axes_matrix
from mocap.poses3d import Poses3D
from mocap.solve.solver import solve_people


@dataclass(frozen=True)
class MarkerTable:
    """Points of one or more people, ready to write.

    Attributes:
        labels: (M,) marker names (prefixed ``p<ID>_`` when several people share a table).
        xyz: (T, M, 3) in file axes and units; NaN where missing.
        fps: frames per second.
        units: the length unit of ``xyz``.
    """

    labels: tuple[str, ...]
    xyz: NDArray[np.float64]
    fps: float
    units: Units


def marker_tables(
    poses: Poses3D,
    person_ids: Sequence[int],
    options: ExportOptions,
    *,
    default_units: Units,
    default_up: Up,
    one_table: bool,
    yup: NDArray[np.float64] | None = None,
) -> list[MarkerTable]:
    """One table per person, or one for everybody when ``one_table`` (labels prefixed then).

    ``yup`` replaces the Y-up axes of :mod:`mocap.export.base` for formats with their own convention.

    Raises:
        ExportError: a person has no reconstructed keypoint at all.
        SolveError, LayoutError: when ``positions == "skeleton"`` and a person cannot be solved.
    """
    units = options.units or default_units
    up = options.up or default_up
    axes = yup if (yup is not None and up == "y") else axes_matrix(up)
    transform = UNIT_SCALE[units] * axes
    per_person: list[tuple[int, tuple[str, ...], NDArray[np.float64]]] = []
    if options.positions == "skeleton":
        for skeleton in solve_people(poses, person_ids, options.solve):
            per_person.append((skeleton.person_id, skeleton.joint_names, skeleton.world_positions()))
    else:
        names = poses.layout.source_names
        for pid in person_ids:
            xyz = poses.person(pid).xyz[:, 0].astype(np.float64)
            if np.all(np.isnan(xyz)):
                raise ExportError(f"person {pid} has no reconstructed keypoint in any of the {len(xyz)} frames")
            per_person.append((pid, names, xyz))
    tables = []
    for pid, names, xyz in per_person:
        prefix = f"p{pid}_" if one_table and len(person_ids) > 1 else ""
        tables.append(MarkerTable(tuple(prefix + n for n in names), xyz @ transform.T, poses.fps, units))
    if one_table and len(tables) > 1:
        labels = tuple(label for t in tables for label in t.labels)
        return [MarkerTable(labels, np.concatenate([t.xyz for t in tables], axis=1), poses.fps, units)]
    return tables
