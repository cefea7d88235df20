"""``mocap demo``: the end-to-end slice on the synthetic studio.

A 4-camera take of two people with real walking motion, crossing and occluding each other ->
noisy 2D detections (2 px, occlusion, 5 % missed keypoints, ghost detections) -> multi-person
association and tracking -> robust triangulation, gap filling and smoothing -> ``poses3d.npz`` and
the solved skeletons as BVH and FBX (Blender imports both exactly), scored against ground truth
(MPJPE, PCP, identity switches). Each step reports progress through a callback so the CLI and GUI
show it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from calibration.files import ensure_folder
from calibration.progress import Progress, drain
from calibration.rig_toml import save_rig
from mocap.association.associate import associate_take_iter
from mocap.export import export_poses
from mocap.metrics import evaluate_people
from mocap.synthetic.studio import StudioConfig, generate_take

ProgressCallback = Callable[[str], None]
T = TypeVar("T")


@dataclass(frozen=True)
class DemoResult:
    """What the demo made and measured."""

    out_dir: Path
    rig_path: Path
    detections_path: Path
    poses_path: Path
    bvh_paths: tuple[Path, ...]
    fbx_path: Path
    mpjpe_m: float
    pcp: float
    id_switches: int
    num_people: int
    people_found: int
    median_reprojection_px: float
    reconstructed_fraction: float
    num_frames: int
    num_cameras: int
    motion_source: str
    seconds: float


def _announce_stages(steps: Generator[Progress, None, T], report: ProgressCallback) -> Generator[Progress, None, T]:
    """Pass ``steps`` through, reporting each new stage once."""
    stage = ""
    try:
        while True:
            step = next(steps)
            if step.stage != stage:
                stage = step.stage
                report(stage)
            yield step
    except StopIteration as done:
        return done.value


def run_demo(
    out_dir: str | Path,
    *,
    seed: int = 0,
    num_frames: int = 300,
    noise_px: float = 2.0,
    num_people: int = 2,
    progress: ProgressCallback | None = None,
) -> DemoResult:
    """Run the slice and write its outputs into ``out_dir`` (created if missing).

    Raises:
        OutputPathError: ``out_dir`` cannot be created or written.
    """
    report = progress or (lambda _message: None)
    start = time.perf_counter()
    out = ensure_folder(out_dir)
    report(f"generating the synthetic take (4 cameras, {num_people} people)")
    config = StudioConfig(
        seed=seed,
        num_cameras=4,
        num_people=num_people,
        num_frames=num_frames,
        noise_px=noise_px,
        missed_rate=0.05,
        false_positives_per_view=0.05 if num_people > 1 else 0.0,
    )
    take = generate_take(config)
    rig_path = save_rig(take.rig, out / "rig.toml")
    detections_path = take.detections.save(out / "keypoints2d.npz")

    result = drain(_announce_stages(associate_take_iter(take.rig, take.detections), report))
    poses = result.poses
    poses_path = poses.save(out / "poses3d.npz")
    report("solving the skeletons and writing BVH and FBX")
    bvh_paths = tuple(export_poses(poses, out / "take.bvh", "bvh"))
    fbx_path = export_poses(poses, out / "take.fbx", "fbx")[0]
    scores = evaluate_people(poses, take.poses)
    return DemoResult(
        out_dir=out,
        rig_path=rig_path,
        detections_path=detections_path,
        poses_path=poses_path,
        bvh_paths=bvh_paths,
        fbx_path=fbx_path,
        mpjpe_m=scores.mpjpe_m,
        pcp=scores.pcp,
        id_switches=scores.id_switches,
        num_people=take.poses.num_people,
        people_found=poses.num_people,
        median_reprojection_px=float(np.nanmedian(poses.reprojection_error)),
        reconstructed_fraction=float(poses.valid.mean()),
        num_frames=poses.num_frames,
        num_cameras=len(take.rig),
        motion_source=take.motion_source,
        seconds=time.perf_counter() - start,
    )
