"""The calibration quality report: per camera reprojection error, data used, image coverage, geometry.

A :class:`CalibrationReport` is stored in the rig's metadata (``[metadata.calibration]`` in the rig
TOML, see :meth:`CalibrationReport.to_metadata`), read back with :func:`report_from_metadata` and
printed as a table (:meth:`CalibrationReport.format_table`)::

    camera   rms px  median px  frames  corners  intr rms  coverage rot +-deg  nearest (m)
    cam_1     0.412      0.331      48     1032     0.211      78 %     0.045  cam_2 1.84

* **rms / median px**: reprojection error of the camera's board corners in the final bundle
  adjustment (extrinsic frames; also the close-ups when they were adjusted jointly), inliers only.
* **frames / corners**: board views and corners of this camera in the bundle adjustment.
* **intr rms**: RMS of the intrinsic calibration alone.
* **coverage**: share of the cells of a ``COVERAGE_GRID`` grid over the image that hold at least one
  corner used for this camera (intrinsic or extrinsic); uncovered borders mean the lens model is
  extrapolated there. The grid of counts is kept in the metadata.
* **rot +-deg**: the predicted error of the camera's orientation relative to the others (RMS
  angle, degrees): the first-order covariance of the bundle adjustment at its solution, for the
  noise its residuals show (:func:`calibration.bundle_covariance.solved_rotation_uncertainty`). A
  camera whose figure stands out needs more board views, nearer its image borders. NaN in reports
  stored before this figure existed. Computing it costs ~0.3 s for 8 cameras and 160 frames.
* **nearest**: the closest other camera and its distance, a sanity check against the real rig.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calibration.rig import CameraRig

#: Coverage grid (columns, rows) laid over each image.
COVERAGE_GRID = (8, 6)


@dataclass(frozen=True)
class CameraReport:
    """Quality figures of one camera (see the module docstring)."""

    name: str
    rms_px: float
    median_px: float
    frames: int
    corners: int
    outliers: int
    intrinsic_rms_px: float
    intrinsic_frames: int
    coverage: float
    coverage_grid: tuple[tuple[int, ...], ...] = field(repr=False)
    nearest_camera: str
    nearest_distance_m: float
    rotation_std_deg: float = float("nan")


@dataclass(frozen=True)
class CalibrationReport:
    """The whole calibration's report.

    Attributes:
        cameras: per camera, in rig order.
        board: one-line description of the board.
        rms_px: RMS over every inlier corner of the bundle adjustment.
        initial_rms_px: the same before bundle adjustment.
        world_frame: how the world frame was set (``"floor board at frame 80"``, ...).
        seconds: wall time of the whole calibration.
    """

    cameras: tuple[CameraReport, ...]
    board: str
    rms_px: float
    initial_rms_px: float
    world_frame: str
    seconds: float

    def camera(self, name: str) -> CameraReport:
        for report in self.cameras:
            if report.name == name:
                return report
        raise KeyError(name)

    def to_metadata(self) -> dict[str, Any]:
        """A TOML-safe table for ``rig.metadata["calibration"]``."""
        cameras = {}
        for c in self.cameras:
            values = asdict(c)
            name = values.pop("name")
            values["coverage_grid"] = [list(row) for row in c.coverage_grid]
            cameras[name] = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in values.items()}
        return {
            "board": self.board,
            "rms_px": round(self.rms_px, 6),
            "initial_rms_px": round(self.initial_rms_px, 6),
            "world_frame": self.world_frame,
            "seconds": round(self.seconds, 3),
            "cameras": cameras,
        }

    def format_table(self) -> str:
        """The report as a text table (one line per camera plus a summary line)."""
        header = (
            f"{'camera':12s} {'rms px':>7s} {'median px':>9s} {'frames':>6s} {'corners':>7s} "
            f"{'intr rms':>8s} {'coverage':>8s} {'rot +-deg':>9s}  nearest (m)"
        )
        lines = [header]
        for c in self.cameras:
            lines.append(
                f"{c.name:12s} {c.rms_px:7.3f} {c.median_px:9.3f} {c.frames:6d} {c.corners:7d} "
                f"{c.intrinsic_rms_px:8.3f} {c.coverage * 100:7.0f} % {c.rotation_std_deg:9.3f}  "
                f"{c.nearest_camera} {c.nearest_distance_m:.3f}"
            )
        lines.append(
            f"all cameras: RMS {self.initial_rms_px:.3f} px before and {self.rms_px:.3f} px after bundle "
            f"adjustment; board: {self.board}; world frame: {self.world_frame}"
        )
        return "\n".join(lines)


def coverage_grid(pixels: NDArray[np.float64], image_size: tuple[int, int]) -> NDArray[np.int64]:
    """Corner counts per cell ``(rows, columns)`` of a :data:`COVERAGE_GRID` grid over the image."""
    columns, rows = COVERAGE_GRID
    width, height = image_size
    counts = np.zeros((rows, columns), dtype=np.int64)
    p = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    p = p[np.all(np.isfinite(p), axis=1)]
    if len(p):
        col = np.clip((p[:, 0] + 0.5) / width * columns, 0, columns - 1).astype(int)
        row = np.clip((p[:, 1] + 0.5) / height * rows, 0, rows - 1).astype(int)
        np.add.at(counts, (row, col), 1)
    return counts


def nearest_cameras(rig: CameraRig) -> list[tuple[str, float]]:
    """Per camera, the closest other camera and its distance in metres (``("", nan)`` for one camera)."""
    centres = rig.centers_world
    out = []
    for i in range(len(rig)):
        distances = np.linalg.norm(centres - centres[i], axis=1)
        distances[i] = np.inf
        j = int(np.argmin(distances))
        out.append(("", float("nan")) if not np.isfinite(distances[j]) else (rig.names[j], float(distances[j])))
    return out


def camera_report(
    name: str,
    residual_norms_px: NDArray[np.float64],
    inliers: NDArray[np.bool_],
    frames: int,
    coverage_pixels: NDArray[np.float64],
    image_size: tuple[int, int],
    intrinsic_rms_px: float,
    intrinsic_frames: int,
    nearest: tuple[str, float],
    rotation_std_deg: float = float("nan"),
) -> CameraReport:
    """Build one camera's report from its bundle-adjustment residual norms (N,) and inlier mask (N,)."""
    kept = np.asarray(residual_norms_px)[np.asarray(inliers)]
    grid = coverage_grid(coverage_pixels, image_size)
    return CameraReport(
        name=name,
        rms_px=float(np.sqrt(np.mean(kept**2))) if kept.size else float("nan"),
        median_px=float(np.median(kept)) if kept.size else float("nan"),
        frames=int(frames),
        corners=int(kept.size),
        outliers=int(np.size(inliers) - kept.size),
        intrinsic_rms_px=float(intrinsic_rms_px),
        intrinsic_frames=int(intrinsic_frames),
        coverage=float(np.mean(grid > 0)),
        coverage_grid=tuple(tuple(int(v) for v in row) for row in grid),
        nearest_camera=nearest[0],
        nearest_distance_m=float(nearest[1]),
        rotation_std_deg=float(rotation_std_deg),
    )


def report_from_metadata(metadata: Mapping[str, Any]) -> CalibrationReport | None:
    """The report stored in a rig's metadata, or None when the rig has none (e.g. an imported rig)."""
    table = metadata.get("calibration")
    if not isinstance(table, Mapping) or "cameras" not in table:
        return None
    cameras: Sequence[CameraReport] = [
        CameraReport(
            name=name,
            rms_px=float(values["rms_px"]),
            median_px=float(values["median_px"]),
            frames=int(values["frames"]),
            corners=int(values["corners"]),
            outliers=int(values.get("outliers", 0)),
            intrinsic_rms_px=float(values.get("intrinsic_rms_px", float("nan"))),
            intrinsic_frames=int(values.get("intrinsic_frames", 0)),
            coverage=float(values["coverage"]),
            coverage_grid=tuple(tuple(int(v) for v in row) for row in values.get("coverage_grid", [])),
            nearest_camera=str(values.get("nearest_camera", "")),
            nearest_distance_m=float(values.get("nearest_distance_m", float("nan"))),
            rotation_std_deg=float(values.get("rotation_std_deg", float("nan"))),
        )
        for name, values in table["cameras"].items()
    ]
    return CalibrationReport(
        cameras=tuple(cameras),
        board=str(table.get("board", "")),
        rms_px=float(table["rms_px"]),
        initial_rms_px=float(table.get("initial_rms_px", float("nan"))),
        world_frame=str(table.get("world_frame", "")),
        seconds=float(table.get("seconds", float("nan"))),
    )
