"""``mocap bench triangulation``: our triangulation against aniposelib's ``CameraGroup.triangulate``.

Speed: the same synthetic batch (>= 100 000 observed joints: 4 cameras x ~26 000 points and 8
cameras x ~13 000 points; 2 px noise, the studio's lenses, 3 % of the keypoints missing) goes
through aniposelib (OpenCV undistortion, then its vectorised SVD; warmed up first, since it compiles
on the first call and switches jax to 64-bit) and through each of our paths, in one run. Every
observed view has weight 1 on both sides: aniposelib takes no confidences, and the studio's scores
say nothing about the noise of unoccluded keypoints. The paths run interleaved, round after round,
so that the load of a shared machine falls on all of them alike; each reports its best round.
Printed per path: points/s (wall clock), the ratio to aniposelib, points per CPU-second (all
threads; less sensitive to other processes), the mean 3D error against the ground truth (mm) and the
fraction of points made. A second table adds 20 % outliers (50-300 px off) to show what robust mode
buys.

Accuracy: the acceptance studies of :mod:`mocap.triangulation.studies` (noise-free, oracle, outliers)
and, when the shared data is present, the Pose2Sim demo against its reference TRC.

aniposelib is imported here only (it pulls jax and numba), never by the library.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

NAME = "triangulation"
HELP = "triangulation speed and accuracy against aniposelib (points/s, ratio, error) + accuracy studies"

#: Keypoints per person in the synthetic batch (COCO-17) and its missed-keypoint rate.
_JOINTS = 17
_MISSED = 0.03


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--observations", type=int, default=100_000, help="observed joints per case, at least (default 100000)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds; the best is reported (default 5)")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch CPU path")
    parser.add_argument("--no-studies", action="store_true", help="skip the accuracy studies")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic batch")


def _batch(num_cameras: int, observations: int, seed: int, outliers: float) -> tuple[Any, ...]:
    """(rig, pixels (N, V, 2), weights (N, V) 1 where observed, truth (N, 3)) from the synthetic studio."""
    from mocap.synthetic.studio import StudioConfig, generate_take
    from mocap.triangulation.studies import add_outliers

    frames = int(np.ceil(1.02 * observations / (num_cameras * _JOINTS * (1 - _MISSED))))
    config = StudioConfig(
        num_frames=frames, num_cameras=num_cameras, noise_px=2.0, occlusion=False, seed=seed, missed_rate=_MISSED
    )
    take = generate_take(config)
    pixels = np.moveaxis(take.detections.xy[:, :, 0], 1, -2).reshape(-1, num_cameras, 2).astype(np.float64)
    truth = take.poses.xyz[:, 0].reshape(-1, 3).astype(np.float64)
    if outliers > 0:
        pixels, _ = add_outliers(pixels, outliers, np.random.default_rng(seed + 100))
    weights = np.isfinite(pixels[..., 0]).astype(np.float64)
    return take.rig, pixels, weights, truth


def _error_mm(points: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    error = np.linalg.norm(points - truth, axis=-1)
    valid = np.isfinite(error)
    return float(error[valid].mean() * 1000) if valid.any() else float("nan"), float(valid.mean())


def _paths(rig: Any, pixels: np.ndarray, weights: np.ndarray, use_torch: bool) -> list[tuple[str, Callable[[], Any]]]:
    from aniposelib.cameras import Camera as AniposeCamera
    from aniposelib.cameras import CameraGroup

    from mocap.triangulation.dlt import triangulate_dlt
    from mocap.triangulation.fast_cpu import triangulate_dlt_fast, triangulate_robust_fast
    from mocap.triangulation.robust import triangulate_robust

    group = CameraGroup(
        [
            AniposeCamera(
                name=c.name, size=c.image_size, matrix=c.matrix, dist=c.distortion, rvec=c.rvec, tvec=c.translation
            )
            for c in rig
        ]
    )
    views_first = np.ascontiguousarray(np.moveaxis(pixels, 1, 0))  # aniposelib wants (V, N, 2)
    paths: list[tuple[str, Callable[[], Any]]] = [
        ("aniposelib triangulate", lambda: group.triangulate(views_first, undistort=True)),
        ("ours: DLT, compiled (numba)", lambda: triangulate_dlt_fast(rig, pixels, weights).points_world),
        ("ours: DLT + refine, compiled", lambda: triangulate_dlt_fast(rig, pixels, weights, refine=True).points_world),
        ("ours: robust, compiled", lambda: triangulate_robust_fast(rig, pixels, weights).points_world),
        (
            "ours: robust + refine, compiled",
            lambda: triangulate_robust_fast(rig, pixels, weights, refine=True).points_world,
        ),
        ("ours: DLT, numpy", lambda: triangulate_dlt(rig, pixels, weights).points_world),
        ("ours: robust, numpy", lambda: triangulate_robust(rig, pixels, weights).points_world),
        ("ours: robust + refine, numpy", lambda: triangulate_robust(rig, pixels, weights, refine=True).points_world),
    ]
    if use_torch:
        from mocap.triangulation.torch_camera import RigTensors
        from mocap.triangulation.torch_dlt import triangulate_torch

        cams = RigTensors.from_rig(rig)
        paths.append(("ours: DLT, torch CPU", lambda: triangulate_torch(cams, pixels, weights).points_world.numpy()))
    return paths


def _time_interleaved(paths: list[tuple[str, Callable[[], Any]]], repeat: int) -> list[tuple[float, float, Any]]:
    """Best wall-clock and CPU seconds of each path over ``repeat`` interleaved rounds, and its output."""
    outputs = [function() for _, function in paths]  # warm up: jit compilation (jax, numba), caches
    best = [(np.inf, np.inf)] * len(paths)
    for _ in range(max(1, repeat)):
        for i, (_, function) in enumerate(paths):
            wall, cpu = time.perf_counter(), time.process_time()
            outputs[i] = function()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[i] = (min(best[i][0], wall), min(best[i][1], cpu))
    return [(wall, cpu, out) for (wall, cpu), out in zip(best, outputs, strict=True)]


def _speed_tables(args: argparse.Namespace) -> None:
    header = (
        f"{'path':32s} {'points/s':>11s} {'x aniposelib':>13s} {'points/CPU-s':>13s} {'error mm':>9s} {'made %':>7s}"
    )
    for outliers in (0.0, 0.2):
        print(f"\n{'with 20 % outliers' if outliers else 'clean'} (2 px noise), best of {args.repeat} rounds")
        for num_cameras in (4, 8):
            rig, pixels, weights, truth = _batch(num_cameras, args.observations, args.seed, outliers)
            n = len(pixels)
            print(f"-- {num_cameras} cameras, {n} points, {int(weights.sum())} observed joints")
            print(header)
            paths = _paths(rig, pixels, weights, not args.no_torch)
            timings = _time_interleaved(paths, args.repeat)
            reference = n / timings[0][0]
            for (label, _), (wall, cpu, points) in zip(paths, timings, strict=True):
                error, made = _error_mm(np.asarray(points, dtype=np.float64), truth)
                rate = n / wall
                line = f"{label:32s} {rate:11,.0f} {rate / reference:13.1f} {n / max(cpu, 1e-9):13,.0f}"
                print(f"{line} {error:9.2f} {made * 100:7.1f}")


def _studies() -> None:
    from mocap.data_paths import shared_data_dir
    from mocap.triangulation.studies import POSE2SIM_TAKE, pose2sim_study, synthetic_study

    print("\naccuracy (acceptance studies, mocap.triangulation.studies)")
    for line in synthetic_study().lines():
        print(f"  {line}")
    root = shared_data_dir()
    if root is None or not (root / POSE2SIM_TAKE).is_dir():
        print("  Pose2Sim demo: skipped (shared data absent; set MOCAP_TEST_DATA)")
        return
    for line in pose2sim_study(root / POSE2SIM_TAKE).lines():
        print(f"  {line}")


def run(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _speed_tables(args)
    if not args.no_studies:
        _studies()
    return 0
