"""Known-answer studies of triangulation accuracy, shared by the tests and ``mocap bench triangulation``.

Synthetic (:func:`synthetic_study`), on the seeded studio with ground truth:

* **noise-free**: exact float64 projections through the studio's lenses; the largest 3D error of
  the plain DLT and of the default (robust + refinement + guidance) triangulation;
* **2 px, 4 cameras**: the person's detections through the full single-person path against an
  *oracle* — the weighted DLT given the true inlier set, i.e. exactly the person's own keypoints
  (with ghost detections in the views, ours must also pick the right slot);
* **20 % outliers**: that fraction of the observations moved 50-300 px in a random direction; the
  plain DLT (how much it degrades), robust per frame and robust with temporal guidance and
  refinement, each against the outlier-free DLT.

Real (:func:`pose2sim_study`): the Pose2Sim demo's OpenPose keypoints and Pose2Sim's calibration
against Pose2Sim's own triangulation (``triangulated_reference.trc``, Y-up: world =
``(trc_z, trc_x, trc_y)``), with the median reprojection error.

This module imports the synthetic studio and file readers; nothing in the library imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from calibration.errors import FileFormatError
from mocap.metrics import mpjpe
from mocap.synthetic.studio import StudioConfig, SyntheticTake, generate_take
from mocap.triangulation.dlt import triangulate_dlt
from mocap.triangulation.robust import triangulate_robust
from mocap.triangulation.single_person import triangulate_single_person
from mocap.triangulation.triangulate import TriangulationConfig, triangulate, triangulate_sequence

#: The plain weighted DLT, no refinement (the baseline of every comparison).
PLAIN = TriangulationConfig(method="dlt", refine=False)


def person_views(take: SyntheticTake, person: int = 0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A person's own detections per view (the true association): pixels (T, J, V, 2), scores (T, J, V).

    Views where the person was not detected are NaN with score 0.
    """
    slot = np.argmax(take.slot_person == person, axis=-1)  # (T, V); a view without the person picks slot 0
    present = np.any(take.slot_person == person, axis=-1)
    xy = np.take_along_axis(take.detections.xy, slot[:, :, None, None, None], axis=2)[:, :, 0].astype(np.float64)
    score = np.take_along_axis(take.detections.score, slot[:, :, None, None], axis=2)[:, :, 0].astype(np.float64)
    xy[~present] = np.nan
    score[~present] = 0.0
    return np.moveaxis(xy, 1, -2), np.moveaxis(score, 1, -1)


def add_outliers(
    pixels: NDArray[np.float64], fraction: float, rng: np.random.Generator, low: float = 50.0, high: float = 300.0
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Move ``fraction`` of the observed points ``low..high`` px in a random direction.

    Args:
        pixels: (..., 2) pixels; NaN points are left alone.

    Returns:
        the moved pixels (a copy) and the mask (...) of moved points.
    """
    out = pixels.copy()
    chosen = (rng.uniform(size=pixels.shape[:-1]) < fraction) & np.isfinite(pixels[..., 0])
    angle = rng.uniform(0, 2 * np.pi, pixels.shape[:-1])
    radius = rng.uniform(low, high, pixels.shape[:-1])
    out[..., 0] += np.where(chosen, radius * np.cos(angle), 0.0)
    out[..., 1] += np.where(chosen, radius * np.sin(angle), 0.0)
    return out, chosen


@dataclass(frozen=True)
class SyntheticStudy:
    """Acceptance numbers on the synthetic studio (errors in metres, fractions in 0..1).

    Attributes:
        noise_free_max_dlt: largest 3D error, noise-free, plain DLT (strong lenses, 5 cameras).
        noise_free_max_default: the same for the default triangulation.
        oracle: MPJPE of the weighted DLT on the true inlier set (2 px, 4 cameras).
        ours: MPJPE of the default single-person triangulation of all detections (same take).
        ours_with_ghosts: ``ours`` with 0.3 ghost people per view; ``oracle_with_ghosts`` its oracle.
        clean: MPJPE of the plain DLT without outliers (20 % outlier case, 4 cameras).
        plain_with_outliers: plain DLT with 20 % outliers.
        robust: robust per frame with outliers; ``robust_points``: fraction of points it makes.
        guided: robust + guidance + refinement with outliers; ``guided_points`` likewise.
        outlier_fraction: observations actually moved.
    """

    noise_free_max_dlt: float
    noise_free_max_default: float
    oracle: float
    ours: float
    oracle_with_ghosts: float
    ours_with_ghosts: float
    clean: float
    plain_with_outliers: float
    robust: float
    robust_points: float
    guided: float
    guided_points: float
    outlier_fraction: float

    def lines(self) -> list[str]:
        """The study as printable lines (millimetres)."""
        mm = 1000.0
        return [
            f"noise-free, 5 cameras, strong lenses: max 3D error plain DLT {self.noise_free_max_dlt:.1e} m, "
            f"default {self.noise_free_max_default:.1e} m (goal < 1e-6 m)",
            f"2 px, 4 cameras: oracle DLT {self.oracle * mm:.2f} mm, ours {self.ours * mm:.2f} mm "
            f"({self.ours / self.oracle:.3f}x, goal <= 1.10x); with ghost people {self.ours_with_ghosts * mm:.2f} mm "
            f"vs oracle {self.oracle_with_ghosts * mm:.2f} mm ({self.ours_with_ghosts / self.oracle_with_ghosts:.3f}x)",
            f"{self.outlier_fraction:.1%} outliers, 4 cameras: outlier-free DLT {self.clean * mm:.2f} mm; "
            f"plain DLT {self.plain_with_outliers * mm:.1f} mm ({self.plain_with_outliers / self.clean:.1f}x); "
            f"robust {self.robust * mm:.2f} mm ({self.robust / self.clean:.2f}x, {self.robust_points:.1%} of points); "
            f"robust+guidance+refine {self.guided * mm:.2f} mm ({self.guided / self.clean:.2f}x, "
            f"{self.guided_points:.1%}) (goal <= 1.5x)",
        ]


def noise_free_errors(num_frames: int = 40) -> tuple[float, float]:
    """Largest 3D error (m) of the plain DLT and of the default triangulation on exact projections."""
    take = generate_take(StudioConfig(num_frames=num_frames, occlusion=False, lens="strong", num_cameras=5))
    pixels = np.moveaxis(take.true_xy[:, :, 0], 1, -2)  # exact float64 projections (T, J, V, 2)
    errors = []
    for config in (PLAIN, TriangulationConfig()):
        points = triangulate(take.rig, pixels, None, config).points_world
        errors.append(float(np.nanmax(np.linalg.norm(points - take.poses.xyz[:, 0], axis=-1))))
    return errors[0], errors[1]


def oracle_comparison(ghosts: float, num_frames: int = 300) -> tuple[float, float]:
    """(oracle MPJPE, our MPJPE) in metres with 2 px noise and 4 cameras."""
    take = generate_take(StudioConfig(num_frames=num_frames, noise_px=2.0, seed=3, false_positives_per_view=ghosts))
    pixels, scores = person_views(take)
    oracle = mpjpe(triangulate_dlt(take.rig, pixels, scores).points_world, take.poses.xyz[:, 0])
    ours = mpjpe(triangulate_single_person(take.rig, take.detections).xyz, take.poses.xyz)
    return oracle, ours


def outlier_comparison(fraction: float = 0.2, num_frames: int = 300) -> dict[str, float]:
    """MPJPE (m) and point fractions with ``fraction`` of the observations moved 50-300 px (4 cameras)."""
    take = generate_take(StudioConfig(num_frames=num_frames, noise_px=2.0, occlusion=False, seed=5))
    pixels, scores = person_views(take)
    truth = take.poses.xyz[:, 0]
    noisy, chosen = add_outliers(pixels, fraction, np.random.default_rng(7))
    per_frame = triangulate_robust(take.rig, noisy, scores)
    sequence = triangulate_sequence(take.rig, noisy, scores, TriangulationConfig())
    return {
        "clean": mpjpe(triangulate_dlt(take.rig, pixels, scores).points_world, truth),
        "plain_with_outliers": mpjpe(triangulate_dlt(take.rig, noisy, scores).points_world, truth),
        "robust": mpjpe(per_frame.points_world, truth),
        "robust_points": float(per_frame.valid.mean()),
        "guided": mpjpe(sequence.points_world, truth),
        "guided_points": float(sequence.valid.mean()),
        "outlier_fraction": float(chosen.sum() / np.isfinite(pixels[..., 0]).sum()),
        # outliers a kept point was made with (a chance agreement): should be about none
        "outliers_used": float((per_frame.views_used & chosen).any(axis=-1).mean()),
    }


def synthetic_study() -> SyntheticStudy:
    """Every synthetic acceptance number (a few seconds)."""
    dlt_max, default_max = noise_free_errors()
    oracle, ours = oracle_comparison(0.0)
    oracle_ghosts, ours_ghosts = oracle_comparison(0.3)
    outliers = outlier_comparison()
    outliers.pop("outliers_used")
    return SyntheticStudy(dlt_max, default_max, oracle, ours, oracle_ghosts, ours_ghosts, **outliers)


# --- real data: the Pose2Sim demo -----------------------------------------------------------------

#: The Pose2Sim take inside the shared data folder.
POSE2SIM_TAKE = Path("pose2sim_demo") / "balancing_trial_reference"


def read_trc(path: Path) -> tuple[list[str], NDArray[np.float64]]:
    """Marker names and positions (T, M, 3) of a TRC file, in the file's own axes and units.

    Raises:
        FileFormatError: the header or the data do not have the TRC layout.
    """
    lines = path.read_text().splitlines()
    if len(lines) < 6 or not lines[3].startswith("Frame#"):
        raise FileFormatError(path, "", "not a TRC file (no marker names on line 4)")
    names = [name for name in lines[3].split("\t")[2:] if name.strip()]
    data = np.loadtxt(lines[5:], ndmin=2)
    if data.shape[1] < 2 + 3 * len(names):
        raise FileFormatError(path, "data", f"expected {3 * len(names)} coordinates per frame for {len(names)} markers")
    return names, data[:, 2 : 2 + 3 * len(names)].reshape(len(data), len(names), 3)


@dataclass(frozen=True)
class RealStudy:
    """Pose2Sim demo numbers: median distance to the reference (m), joints both have, reprojection (px)."""

    plain_median: float
    plain_both: float
    plain_reprojection: float
    default_median: float
    default_both: float
    default_reprojection: float

    def lines(self) -> list[str]:
        return [
            f"Pose2Sim demo (4 real cameras, OpenPose BODY_25B) vs triangulated_reference.trc: plain DLT median "
            f"{self.plain_median * 1000:.2f} mm ({self.plain_both:.1%} of joints), default "
            f"{self.default_median * 1000:.2f} mm ({self.default_both:.1%}) (goal < 5 mm); median reprojection "
            f"error plain {self.plain_reprojection:.2f} px, default {self.default_reprojection:.2f} px",
        ]


def pose2sim_study(take_folder: Path) -> RealStudy:
    """Our triangulations of the Pose2Sim demo against its reference TRC.

    Raises:
        MissingFileError, FileFormatError, MismatchError: from the files of ``take_folder``.
    """
    from calibration.rig_toml import load_rig
    from mocap.formats.openpose_json import read_openpose_take
    from mocap.skeleton import BODY25B

    rig = load_rig(take_folder / "calibration_converted_by_pose2sim.toml")
    detections = read_openpose_take(take_folder / "openpose_body25b_json", rig.names, "body25b", fps=60.0)
    names, trc = read_trc(take_folder / "triangulated_reference.trc")
    reference = np.stack([trc[..., 2], trc[..., 0], trc[..., 1]], axis=-1)  # TRC is Y-up: world Z-up
    columns = [BODY25B.index(name) for name in names]
    numbers: list[float] = []
    for config in (PLAIN, None):
        poses = triangulate_single_person(rig, detections, config=config)
        distance = np.linalg.norm(poses.xyz[:, 0, columns] - reference, axis=-1)
        numbers += [
            float(np.nanmedian(distance)),
            float(np.isfinite(distance).mean()),
            float(np.nanmedian(poses.reprojection_error)),
        ]
    return RealStudy(*numbers)
