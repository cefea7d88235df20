"""Long takes: one shape for the whole take, poses fitted in overlapping windows of frames.

A fit holds a few hundred kilobytes per frame (Jacobians, per-frame blocks, the autograd graph),
so a take longer than ``FitConfig.window_frames`` is fitted in two passes:

1. **shape**: the full fit on an even subsample of at most ``window_frames`` frames (every k-th
   frame, at ``fps / k`` so the acceleration prior keeps its physical meaning) gives the betas;
2. **windows**: equal windows of ``window_frames`` frames that overlap by at least
   ``window_overlap_frames`` are fitted with those betas fixed; each frame is taken from the window
   where it lies farthest from an edge (the seam is the middle of each overlap), so no frame comes
   from the poorly constrained first or last frames of a window.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING

import numpy as np

from calibration.progress import CancelToken, Progress
from mocap.body.model_file import SmplModel
from mocap.body.result import FitReport, SmplFit
from mocap.poses3d import Poses3D

if TYPE_CHECKING:
    from mocap.body.fitting import FitConfig
    from mocap.body.priors import GmmPosePrior


def window_starts(frames: int, window: int, overlap: int) -> list[int]:
    """First frames of equal windows of ``window`` frames covering ``frames``, overlapping by >= ``overlap``."""
    if frames <= window:
        return [0]
    count = math.ceil((frames - overlap) / (window - overlap))
    return [round(i * (frames - window) / (count - 1)) for i in range(count)]


def _slice(poses: Poses3D, frames: slice) -> Poses3D:
    step = frames.step or 1
    return Poses3D(
        poses.xyz[frames],
        poses.person_id,
        poses.reprojection_error[frames],
        poses.n_views[frames],
        poses.layout,
        poses.fps / step,
    )


def fit_windows_iter(
    poses: Poses3D,
    model: SmplModel,
    config: FitConfig,
    *,
    device: str = "cpu",
    vertex_keypoints: Mapping[str, int] | None = None,
    gmm: GmmPosePrior | None = None,
    cancel: CancelToken | None = None,
    label: str = "",
) -> Generator[Progress, None, SmplFit]:
    """Fit a long take in windows (see the module docstring); same arguments as ``fit_person_iter``.

    Raises:
        FitError: the subsample or a window has no usable torso.
        CancelledError: cancelled.
    """
    from mocap.body.fitting import fit_person_iter

    start = time.perf_counter()
    frames, window = poses.num_frames, config.window_frames
    overlap = min(config.window_overlap_frames, window // 2)
    stride = math.ceil(frames / window)
    shape = yield from fit_person_iter(
        _slice(poses, slice(0, frames, stride)), model, config, device=device, vertex_keypoints=vertex_keypoints,
        gmm=gmm, cancel=cancel, label=f"{label}shape ",
    )  # fmt: skip
    starts = window_starts(frames, window, overlap)
    # frame ranges kept from each window: from the middle of one overlap to the middle of the next
    seams = [0] + [(starts[i + 1] + starts[i] + window) // 2 for i in range(len(starts) - 1)] + [frames]
    parts: list[SmplFit] = []
    for i, first in enumerate(starts):
        piece = yield from fit_person_iter(
            _slice(poses, slice(first, first + window)), model, config, device=device,
            vertex_keypoints=vertex_keypoints, gmm=gmm, cancel=cancel,
            label=f"{label}window {i + 1}/{len(starts)} ", betas=shape.betas,
        )  # fmt: skip
        parts.append(_crop(piece, slice(seams[i] - first, seams[i + 1] - first)))
    iterations = {"shape " + k: v for k, v in (shape.report.iterations if shape.report else {}).items()}
    for part in parts:
        for key, value in (part.report.iterations if part.report else {}).items():
            iterations[f"windows {key}"] = iterations.get(f"windows {key}", 0) + value
    losses = [p.report.final_loss * p.num_frames for p in parts if p.report]
    used_device = parts[0].report.device if parts[0].report else device
    report = FitReport(iterations, float(sum(losses) / frames), time.perf_counter() - start, used_device)
    return SmplFit(
        poses=np.concatenate([p.poses for p in parts]),
        betas=shape.betas,
        trans=np.concatenate([p.trans for p in parts]),
        joints=np.concatenate([p.joints for p in parts]),
        observed=np.concatenate([p.observed for p in parts]),
        residual_m=np.concatenate([p.residual_m for p in parts]),
        source_layout=poses.layout,
        gender=shape.gender,
        fps=poses.fps,
        person_id=shape.person_id,
        report=report,
        config=shape.config,
        code_version=shape.code_version,
    )


def _crop(fit: SmplFit, frames: slice) -> SmplFit:
    from dataclasses import replace

    return replace(
        fit,
        poses=fit.poses[frames],
        trans=fit.trans[frames],
        joints=fit.joints[frames],
        observed=fit.observed[frames],
        residual_m=fit.residual_m[frames],
    )
