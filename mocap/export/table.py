"""CSV joint positions and NPZ solved skeletons.

CSV (one file, every exported person): a header ``frame,time_s,<label>_x,<label>_y,<label>_z,...``
then one row per frame; labels are marker names (:mod:`mocap.export.points`), prefixed ``p<ID>_``
when several people are exported; missing values are empty. Z-up metres by default.

NPZ (one file, plain arrays, loads with ``allow_pickle=False``), the solved skeletons:

=======================  ======================  ==============================================
key                      shape / dtype           meaning
=======================  ======================  ==============================================
``joint_names``          (J,) str                hierarchy joints (:mod:`mocap.skeleton.hierarchy`)
``parents``              (J,) int32              parent index, -1 for the root
``person_id``            (P,) int32              track id of each skeleton
``rest_offsets``         (P, J, 3) float64       offset from the parent in the rest pose
``local_quaternions``    (T, P, J, 4) float64    w, x, y, z relative to the parent, sign-continuous
``root_translation``     (T, P, 3) float64       root position
``positions``            (T, P, J, 3) float64    world position of every joint
``fps``, ``units``,      ()                      frame rate, length unit, up axis, format version
``up``, ``schema_version``
=======================  ======================  ==============================================

Lengths are in ``units`` and axes follow ``up`` (Z-up metres by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from calibration.conventions import SCHEMA_VERSION
from calibration.files import write_text_atomic
from mocap.export.base import UNIT_SCALE, ExportOptions, Units, Up, axes_matrix, register_exporter
from mocap.export.points import MarkerTable, marker_tables
from mocap.npz_io import write_npz
from mocap.poses3d import Poses3D
from mocap.solve.rotations import continuous_quaternions, matrix_to_quaternion
from mocap.solve.solver import solve_people


def csv_text(table: MarkerTable) -> str:
    """The CSV file of one marker table (see the module docstring)."""
    t, m = table.xyz.shape[:2]
    columns = ["frame", "time_s"] + [f"{label}_{axis}" for label in table.labels for axis in "xyz"]
    values = np.char.mod("%.6f", table.xyz.reshape(t, 3 * m))
    values[np.isnan(table.xyz.reshape(t, 3 * m))] = ""
    rows = [f"{k},{k / table.fps:.6f}," + ",".join(values[k]) for k in range(t)]
    return "\n".join([",".join(columns), *rows]) + "\n"


class CsvExporter:
    """Joint positions as one CSV table."""

    name = "csv"
    suffix = ".csv"
    description = "CSV joint positions (all people in one table)"
    default_units: Units = "m"
    default_up: Up = "z"

    def write(self, poses: Poses3D, person_ids: Sequence[int], path: Path, options: ExportOptions) -> list[Path]:
        (table,) = marker_tables(
            poses, person_ids, options, default_units=self.default_units, default_up=self.default_up, one_table=True
        )
        return [write_text_atomic(path, csv_text(table))]


class NpzExporter:
    """Solved skeletons (rotations and positions) as plain arrays."""

    name = "npz"
    suffix = ".npz"
    description = "NPZ solved skeletons: rest offsets, local quaternions, positions"
    default_units: Units = "m"
    default_up: Up = "z"

    def write(self, poses: Poses3D, person_ids: Sequence[int], path: Path, options: ExportOptions) -> list[Path]:
        skeletons = solve_people(poses, person_ids, options.solve)
        units = options.units or self.default_units
        up = options.up or self.default_up
        axes = axes_matrix(up)
        scale = UNIT_SCALE[units]
        local = np.stack([s.local_rotations for s in skeletons], axis=1)  # (T, P, J, 3, 3)
        quaternions = continuous_quaternions(matrix_to_quaternion(axes @ local @ axes.T))
        hierarchy = skeletons[0].hierarchy
        write_npz(
            path,
            {
                "joint_names": np.array(hierarchy.joint_names, dtype=str),
                "parents": np.array(hierarchy.parents, dtype=np.int32),
                "person_id": np.array([s.person_id for s in skeletons], dtype=np.int32),
                "rest_offsets": scale * np.stack([s.rest_offsets for s in skeletons]) @ axes.T,
                "local_quaternions": quaternions,
                "root_translation": scale * np.stack([s.root_translation for s in skeletons], axis=1) @ axes.T,
                "positions": scale * np.stack([s.world_positions() for s in skeletons], axis=1) @ axes.T,
                "fps": np.array(poses.fps),
                "units": np.array(units),
                "up": np.array(up),
                "schema_version": np.array(SCHEMA_VERSION),
            },
        )
        return [path]


register_exporter(CsvExporter())
register_exporter(NpzExporter())
