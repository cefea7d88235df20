"""C3D marker files through ezc3d: every exported person in one file.

Points are the markers of :mod:`mocap.export.points` (labels prefixed ``p<ID>_`` when several
people are exported), ``POINT:RATE`` the frame rate, ``POINT:UNITS`` the unit (millimetres and
Z-up by default, the lab-frame convention of C3D). Missing markers have NaN coordinates and
residual -1 (C3D's "invalid point"); reconstructed ones residual 0.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from calibration.files import atomic_output, check_writable
from mocap.export.base import ExportOptions, Units, Up, register_exporter
from mocap.export.points import MarkerTable, marker_tables
from mocap.poses3d import Poses3D


def write_c3d(table: MarkerTable, path: Path) -> Path:
    """Write one marker table as C3D (atomically)."""
    import ezc3d

    check_writable(path)
    c3d = ezc3d.c3d()
    point = c3d["parameters"]["POINT"]
    point["RATE"]["value"] = [float(table.fps)]
    point["LABELS"]["value"] = list(table.labels)
    point["UNITS"]["value"] = [table.units]
    t, m = table.xyz.shape[:2]
    points = np.ones((4, m, t))
    points[:3] = np.transpose(table.xyz, (2, 1, 0))
    missing = np.isnan(table.xyz[..., 0]).T  # (M, T)
    residuals = np.where(missing, -1.0, 0.0)[None]
    c3d["data"]["points"] = points
    c3d["data"]["meta_points"] = {"residuals": residuals, "camera_masks": np.zeros((7, m, t), dtype=bool)}
    # ezc3d writes to a path: write beside the destination, then move the bytes in atomically
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as tmp:
        scratch = os.path.join(tmp, "out.c3d")
        c3d.write(scratch)
        with open(scratch, "rb") as src, atomic_output(path) as dst:
            dst.write(src.read())
    return path


class C3dExporter:
    """Markers (keypoints or skeleton joints) as C3D, all people in one file."""

    name = "c3d"
    suffix = ".c3d"
    description = "C3D markers (all people in one file)"
    default_units: Units = "mm"
    default_up: Up = "z"

    def write(self, poses: Poses3D, person_ids: Sequence[int], path: Path, options: ExportOptions) -> list[Path]:
        (table,) = marker_tables(
            poses, person_ids, options, default_units=self.default_units, default_up=self.default_up, one_table=True
        )
        return [write_c3d(table, path)]


register_exporter(C3dExporter())
