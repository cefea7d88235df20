"""The exporter protocol, its options, the registry of formats and the axis/unit conversions.

World data are Z-up metres everywhere in the studio; exporters alone convert, as options:

* ``up="y"``: world ``(x, y, z)`` is written as ``(x, z, -y)`` (a right-handed Y-up frame whose
  forward ``-Y`` becomes ``+Z``); ``up="z"`` writes world axes unchanged.
* ``units``: metres, centimetres or millimetres.

Each format has its own defaults (BVH: Y-up metres, FBX: Z-up metres, TRC: Y-up metres as
OpenSim reads them, C3D: Z-up millimetres, CSV/NPZ: Z-up metres).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator

from calibration.conventions import PADDED_PERSON_ID
from calibration.files import check_writable
from mocap.errors import ExportError
from mocap.poses3d import Poses3D
from mocap.solve.rotations import EULER_ORDERS
from mocap.solve.solver import SolveConfig

Units = Literal["m", "cm", "mm"]
Up = Literal["z", "y"]
UNIT_SCALE: dict[str, float] = {"m": 1.0, "cm": 100.0, "mm": 1000.0}
#: world (Z-up) -> Y-up file axes
WORLD_TO_YUP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


class ExportOptions(BaseModel):
    """Options shared by the writers (``None`` = the format's default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    units: Units | None = Field(None, description="Length unit of the file: m, cm or mm.")
    up: Up | None = Field(None, description="Up axis of the file: z (world axes) or y.")
    rotation_order: str = Field("ZXY", description="BVH Euler channel order, e.g. ZXY = Zrotation Xrotation Yrotation.")
    positions: Literal["keypoints", "skeleton"] = Field(
        "keypoints", description="TRC/C3D/CSV: write the input keypoints or the solved skeleton's joints."
    )
    fbx_version: Literal[7400, 7500] = Field(7400, description="FBX file version (7500 uses 64-bit record offsets).")
    solve: SolveConfig = Field(default_factory=SolveConfig, description="Skeleton solver options (BVH, FBX, NPZ).")

    @field_validator("rotation_order")
    @classmethod
    def _order(cls, value: str) -> str:
        if value.upper() not in EULER_ORDERS:
            raise ValueError(f"rotation order must be one of {', '.join(EULER_ORDERS)}, got {value!r}")
        return value.upper()


def axes_matrix(up: Up) -> NDArray[np.float64]:
    """World -> file axes rotation for ``up``."""
    return WORLD_TO_YUP if up == "y" else np.eye(3)


class Exporter(Protocol):
    """A file format. ``write`` checks everything before it writes, and writes atomically."""

    name: str
    suffix: str
    description: str
    default_units: Units
    default_up: Up

    def write(self, poses: Poses3D, person_ids: Sequence[int], path: Path, options: ExportOptions) -> list[Path]:
        """Write ``person_ids`` of ``poses`` to ``path`` (or per-person files next to it); return the files."""
        ...


_REGISTRY: dict[str, Exporter] = {}


def register_exporter(exporter: Exporter) -> Exporter:
    """Add a format to the registry (built-ins register themselves the same way)."""
    _REGISTRY[exporter.name] = exporter
    return exporter


def exporter_names() -> tuple[str, ...]:
    _load_builtins()
    return tuple(sorted(_REGISTRY))


def get_exporter(name: str) -> Exporter:
    """The exporter of format ``name``.

    Raises:
        ExportError: listing the known formats.
    """
    _load_builtins()
    exporter = _REGISTRY.get(name.lower().lstrip("."))
    if exporter is None:
        raise ExportError(f"unknown export format {name!r}; known: {', '.join(exporter_names())}")
    return exporter


def _load_builtins() -> None:
    import mocap.export.bvh
    import mocap.export.c3d
    import mocap.export.fbx
    import mocap.export.table
    import mocap.export.trc  # noqa: F401


def person_ids_to_export(poses: Poses3D, person_ids: Sequence[int] | None) -> list[int]:
    """The ids to export: the given ones (checked) or every non-padded person.

    Raises:
        ExportError: zero frames, no person, or an id the poses do not hold.
    """
    if poses.num_frames == 0:
        raise ExportError("nothing to export: the poses have zero frames")
    known = [int(i) for i in poses.person_id if i != PADDED_PERSON_ID]
    if not known:
        raise ExportError("nothing to export: the poses hold no person")
    if person_ids is None:
        return known
    wanted = [int(i) for i in person_ids]
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise ExportError(f"no person with id {', '.join(map(str, unknown))} (ids: {', '.join(map(str, known))})")
    if not wanted:
        raise ExportError("no person selected for export")
    return wanted


def per_person_paths(path: Path, person_ids: Sequence[int]) -> list[Path]:
    """``path`` for one person; ``<stem>_person<ID><suffix>`` beside it for several. Checked writable.

    Raises:
        OutputPathError: a destination cannot be written.
    """
    paths = (
        [path] if len(person_ids) == 1 else [path.with_name(f"{path.stem}_person{i}{path.suffix}") for i in person_ids]
    )
    for p in paths:
        check_writable(p)
    return paths


def export_poses(
    poses: Poses3D,
    path: str | Path,
    format: str | None = None,
    *,
    person_ids: Sequence[int] | None = None,
    options: ExportOptions | None = None,
) -> list[Path]:
    """Export ``poses`` to ``path`` in ``format`` (default: from the file suffix); returns the files written.

    Raises:
        ExportError, SolveError, LayoutError, OutputPathError: bad input; nothing is written then.
    """
    path = Path(path)
    exporter = get_exporter(format if format is not None else path.suffix)
    ids = person_ids_to_export(poses, person_ids)
    check_writable(path)
    return exporter.write(poses, ids, path, options or ExportOptions())
