"""``mocap bench smpl``: SMPL fitting speed (frames/s) and accuracy on a known motion.

The motion is :func:`mocap.body.synthetic_motion.random_motion` (a random shape, smooth poses
inside the joint limits), observed as BODY_25B keypoints (joints and surface points: nose, eyes,
ears, toes, heels) with 1 cm Gaussian noise per axis. The model is the synthetic SMPL-layout model
of :mod:`mocap.body.synthetic_model` unless ``--model`` names a real SMPL file (the official
vertex table then gives the surface points).

Rows: our fit (staged Levenberg-Marquardt with a matrix-free Gauss-Newton system, all frames at
once) on each device, and as the peer the usual approach of SMPLify-style fitters, autograd
L-BFGS with a strong-Wolfe line search on the same objective from the same start, stopped when it
reaches our final objective (or its iteration budget). MPJPE is against the true SMPL joints.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mocap.body.model_file import SmplModel
    from mocap.body.result import SmplFit
    from mocap.body.synthetic_motion import KnownMotion
    from mocap.poses3d import Poses3D

NAME = "smpl"
HELP = "SMPL fitting: frames/s and MPJPE on a known motion (ours vs autograd L-BFGS)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", type=int, default=1000, help="frames of the motion (default 1000)")
    parser.add_argument(
        "--device", action="append", help="torch device (repeatable; default cpu, plus cuda when available)"
    )
    parser.add_argument("--model", help="a real SMPL model file instead of the synthetic model")
    parser.add_argument("--layout", default="body_25b", help="keypoint layout observed (default body_25b)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, as mocap fit-smpl)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the autograd L-BFGS peer")
    parser.add_argument("--baseline-iterations", type=int, default=300, help="L-BFGS budget (default 300)")


def _inputs(args: argparse.Namespace) -> tuple[SmplModel, KnownMotion, Poses3D, object]:
    import numpy as np

    from mocap.body.model_file import find_model_file, load_smpl_model
    from mocap.body.synthetic_model import make_synthetic_model
    from mocap.body.synthetic_motion import observe_keypoints, random_motion
    from mocap.poses3d import Poses3D
    from mocap.skeleton.layouts import get_layout

    model = load_smpl_model(find_model_file(args.model)) if args.model else make_synthetic_model(seed=0).model
    layout = get_layout(args.layout)
    motion = random_motion(args.frames, seed=1)
    keypoints, joints = observe_keypoints(model, motion, layout)
    noisy = keypoints + np.random.default_rng(2).normal(0.0, 0.01, keypoints.shape)
    return model, motion, Poses3D.from_points(noisy[:, None], layout, motion.fps), joints


def _row(label: str, device: str, seconds: float, steps: str, fit: SmplFit, motion: KnownMotion, joints: object) -> str:
    import numpy as np

    frames = fit.num_frames
    mpjpe = 100 * float(np.linalg.norm(fit.joints - np.asarray(joints), axis=-1).mean())
    loss = fit.report.final_loss if fit.report else float("nan")
    beta_rms = float(np.sqrt(np.mean((fit.betas - motion.betas[: len(fit.betas)]) ** 2)))
    theta_deg = float(np.degrees(np.median(np.abs(fit.poses[:, 3:] - motion.poses[:, 3:]))))
    return (
        f"{label:20s} {device:6s} {frames:6d} {seconds:8.2f} {frames / seconds:9.1f} {steps:>7s} "
        f"{loss:9.3f} {mpjpe:8.2f} {100 * fit.mean_residual_m():9.2f} {beta_rms:8.3f} {theta_deg:9.2f}"
    )


def _lbfgs(
    poses: Poses3D, model: SmplModel, device: str, target_loss: float, budget: int
) -> tuple[SmplFit, float, int]:
    """Autograd L-BFGS on the same objective and start as ours; returns the fit, seconds and iterations."""
    import torch

    from mocap.body.fitting import FitConfig, fit_result, prepare_fit
    from mocap.body.result import FitReport

    start = time.perf_counter()
    problem = prepare_fit(poses, model, FitConfig(), device=device)
    objective = problem.objective
    betas = problem.betas.clone().requires_grad_(True)
    x = problem.x.clone().requires_grad_(True)
    optimiser = torch.optim.LBFGS(
        [betas, x], lr=1.0, max_iter=1, history_size=20, line_search_fn="strong_wolfe", tolerance_change=1e-12
    )
    loss = float("inf")
    done = 0

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        value = objective(betas, x)
        value.backward()
        return value

    while done < budget and loss > target_loss:
        loss = float(optimiser.step(closure).detach())
        done = int(optimiser.state[betas]["n_iter"])
    if x.device.type == "cuda":
        torch.cuda.synchronize(x.device)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        final = float(objective(betas, x))
    report = FitReport({"lbfgs": done}, final, seconds, str(x.device))
    return fit_result(problem, betas.detach(), x.detach(), report), seconds, done


def run(args: argparse.Namespace) -> int:
    import torch

    from mocap.body.fitting import FitConfig, fit_smpl

    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.device or ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    model, motion, poses, joints = _inputs(args)
    print(
        f"SMPL fit of {poses.num_frames} frames of {poses.layout.name} keypoints (1 cm noise), model "
        f"{model.source or 'synthetic'} ({model.num_vertices} vertices), torch threads {torch.get_num_threads()}"
    )
    print(
        f"{'method':20s} {'device':6s} {'frames':>6s} {'seconds':>8s} {'frames/s':>9s} {'steps':>7s} "
        f"{'loss':>9s} {'MPJPE cm':>8s} {'resid. cm':>9s} {'beta rms':>8s} {'theta deg':>9s}"
    )
    for device in devices:
        warm = FitConfig(global_iterations=1, body_iterations=1)
        fit_smpl(poses.person(int(poses.person_id[0])), model, warm, device=device)  # warm-up (kernels, caches)
        start = time.perf_counter()
        fit = fit_smpl(poses, model, FitConfig(), device=device)[0]
        seconds = time.perf_counter() - start
        iterations = fit.report.iterations if fit.report else {}
        final_loss = fit.report.final_loss if fit.report else float("inf")
        steps = "+".join(str(n) for n in iterations.values())
        print(_row("ours (LM, staged)", device, seconds, steps, fit, motion, joints))
        if not args.no_baseline:
            peer, peer_seconds, peer_steps = _lbfgs(poses, model, device, final_loss, args.baseline_iterations)
            print(_row("autograd L-BFGS", device, peer_seconds, str(peer_steps), peer, motion, joints))
            peer_loss = peer.report.final_loss if peer.report else float("inf")
            if peer_loss <= final_loss:
                print(f"{'':20s} L-BFGS took {peer_seconds / seconds:.1f}x our time to reach our objective on {device}")
            else:
                print(
                    f"{'':20s} L-BFGS stopped at its budget of {args.baseline_iterations} iterations above our "
                    f"objective ({peer_loss:.4g} vs {final_loss:.4g}) after {peer_seconds / seconds:.1f}x our time"
                )
    return 0
