"""TRC marker files as OpenSim and Pose2Sim read them: one file per person.

Layout (tab-separated)::

    PathFileType  4  (X/Y/Z)  <file name>
    DataRate  CameraRate  NumFrames  NumMarkers  Units  OrigDataRate  OrigDataStartFrame  OrigNumFrames
    <fps>  <fps>  <T>  <M>  m  <fps>  1  <T>
    Frame#  Time  <marker 1>  (two empty cells)  <marker 2> ...
    (two empty cells)  X1  Y1  Z1  X2  Y2  Z2 ...
    1  0.000000  x y z ...

Frames are numbered from 1, ``Time = (Frame# - 1) / fps`` seconds. Defaults: Y-up metres with
Pose2Sim's axes, ``(X, Y, Z)_trc = (y, z, x)_world`` (a rotation: OpenSim's Y up, the same numbers
Pose2Sim writes for the same calibration); ``up="z"`` writes world axes, ``units="mm"``
millimetres. Missing markers are empty cells, which OpenSim reads as missing (NaN).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from calibration.files import write_text_atomic
from mocap.export.base import ExportOptions, Units, Up, per_person_paths, register_exporter
from mocap.export.points import MarkerTable, marker_tables
from mocap.poses3d import Poses3D

#: world (Z-up) -> TRC Y-up axes as Pose2Sim writes them
WORLD_TO_TRC = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])


def trc_text(table: MarkerTable, file_name: str) -> str:
    """The TRC file of one marker table (see the module docstring)."""
    t, m = table.xyz.shape[:2]
    fps = f"{table.fps:g}"
    header = [
        f"PathFileType\t4\t(X/Y/Z)\t{file_name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{fps}\t{fps}\t{t}\t{m}\t{table.units}\t{fps}\t1\t{t}",
        "Frame#\tTime\t" + "\t".join(f"{label}\t\t" for label in table.labels),
        "\t\t" + "\t".join(f"X{k}\tY{k}\tZ{k}" for k in range(1, m + 1)),
    ]
    values = np.char.mod("%.6f", table.xyz.reshape(t, 3 * m))
    values[np.isnan(table.xyz.reshape(t, 3 * m))] = ""
    rows = [f"{k + 1}\t{k / table.fps:.6f}\t" + "\t".join(values[k]) for k in range(t)]
    return "\n".join(header + rows) + "\n"


class TrcExporter:
    """Markers (keypoints or skeleton joints) as TRC, one file per person."""

    name = "trc"
    suffix = ".trc"
    description = "TRC markers for OpenSim/Pose2Sim (one file per person)"
    default_units: Units = "m"
    default_up: Up = "y"

    def write(self, poses: Poses3D, person_ids: Sequence[int], path: Path, options: ExportOptions) -> list[Path]:
        paths = per_person_paths(path, person_ids)
        tables = marker_tables(
            poses,
            person_ids,
            options,
            default_units=self.default_units,
            default_up=self.default_up,
            one_table=False,
            yup=WORLD_TO_TRC,
        )
        texts = [trc_text(table, p.name) for table, p in zip(tables, paths, strict=True)]
        return [write_text_atomic(p, text) for p, text in zip(paths, texts, strict=True)]


register_exporter(TrcExporter())
