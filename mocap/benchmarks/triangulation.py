"""``mocap bench triangulation``: our triangulation against aniposelib's ``CameraGroup.triangulate``.

The same synthetic batch (>= 100 000 joint observations: 4 cameras x 25 500 points, 8 cameras x
12 750 points; 2 px noise, the studio's lenses, 3 % of the keypoints missing) goes through
aniposelib (undistortion with OpenCV, then its jax-vectorised SVD; warmed up first, since it
compiles on the first call and switches jax to 64-bit) and through each of our paths, in one run.
Every timing is the best of ``--repeat`` runs. Printed per case: points/s, the ratio to
aniposelib, and the mean 3D error against the ground truth (mm). A second table adds 20 % outliers
(50-300 px off) to show what robust mode buys.

aniposelib is imported here only (it pulls jax and numba), never by the library.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

NAME = "triangulation"
HELP = "triangulation speed and accuracy against aniposelib (points/s, ratio, error)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--observations", type=int, default=102_000, help="joint observations per case (default 102000)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per path; the best is reported (default 5)")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch CPU path")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic batch")


def _batch(num_cameras: int, observations: int, seed: int, outliers: float) -> tuple[Any, ...]:
    """(rig, pixels (N, V, 2), weights (N, V), truth (N, 3)) from the synthetic studio."""
    from mocap.synthetic.studio import StudioConfig, generate_take

    frames = int(np.ceil(observations / (num_cameras * 17)))
    take = generate_take(
        StudioConfig(
            num_frames=frames, num_cameras=num_cameras, noise_px=2.0, occlusion=False, seed=seed, missed_rate=0.03
        )
    )
    pixels = np.moveaxis(take.detections.xy[:, :, 0], 1, -2).reshape(-1, num_cameras, 2).astype(np.float64)
    weights = np.moveaxis(take.detections.score[:, :, 0], 1, -1).reshape(-1, num_cameras).astype(np.float64)
    truth = take.poses.xyz[:, 0].reshape(-1, 3).astype(np.float64)
    if outliers > 0:
        rng = np.random.default_rng(seed + 100)
        chosen = (rng.uniform(size=weights.shape) < outliers) & np.isfinite(pixels[..., 0])
        angle = rng.uniform(0, 2 * np.pi, weights.shape)
        radius = rng.uniform(50.0, 300.0, weights.shape)
        pixels[..., 0] += np.where(chosen, radius * np.cos(angle), 0.0)
        pixels[..., 1] += np.where(chosen, radius * np.sin(angle), 0.0)
    return take.rig, pixels, weights, truth


def _best(function: Callable[[], np.ndarray], repeat: int) -> tuple[float, np.ndarray]:
    times, result = [], np.empty(0)
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def _error_mm(points: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    error = np.linalg.norm(points - truth, axis=-1)
    valid = np.isfinite(error)
    return float(error[valid].mean() * 1000) if valid.any() else float("nan"), float(valid.mean())


def _paths(rig: Any, pixels: np.ndarray, weights: np.ndarray, use_torch: bool) -> list[tuple[str, Callable[[], Any]]]:
    from aniposelib.cameras import Camera as AniposeCamera
    from aniposelib.cameras import CameraGroup

    from mocap.triangulation.dlt import triangulate_dlt
    from mocap.triangulation.fast_cpu import triangulate_dlt_fast
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


def run(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    header = f"{'case':34s} {'points/s':>12s} {'x aniposelib':>13s} {'error mm':>9s} {'points %':>9s}"
    for outliers in (0.0, 0.2):
        print(f"\n{'with 20 % outliers' if outliers else 'clean'} (2 px noise), best of {args.repeat} runs")
        for num_cameras in (4, 8):
            rig, pixels, weights, truth = _batch(num_cameras, args.observations, args.seed, outliers)
            n = len(pixels)
            print(f"-- {num_cameras} cameras, {n} points, {int(np.isfinite(pixels[..., 0]).sum())} observations")
            print(header)
            reference = None
            for label, function in _paths(rig, pixels, weights, not args.no_torch):
                function()  # warm up: jit compilation (aniposelib's jax, our numba), caches
                seconds, points = _best(function, args.repeat)
                rate = n / seconds
                reference = rate if reference is None else reference
                error, valid = _error_mm(np.asarray(points, dtype=np.float64), truth)
                print(f"{label:34s} {rate:12,.0f} {rate / reference:13.1f} {error:9.2f} {valid * 100:9.1f}")
    return 0
