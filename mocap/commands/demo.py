"""``mocap demo``: the end-to-end slice on the synthetic studio."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "demo"
HELP = "run the end-to-end slice on the synthetic studio (two people, four cameras)"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder (default: demo_out)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic take")
    parser.add_argument("--frames", type=_positive, default=300, help="frames in the take (default 300)")
    parser.add_argument("--people", type=_positive, default=2, help="people in the take (default 2)")
    parser.add_argument(
        "--real",
        action="store_true",
        help="then process the real 4-camera Pose2Sim take, videos in (into OUT/real; fetched once with pip "
        "download when ../shared/data lacks it)",
    )


def run(args: argparse.Namespace) -> int:
    from mocap.demo import run_demo

    def progress(message: str) -> None:
        print(f"[demo] {message} ...", file=sys.stderr, flush=True)

    result = run_demo(args.out, seed=args.seed, num_frames=args.frames, num_people=args.people, progress=progress)
    print(f"synthetic take: {result.num_cameras} cameras, {result.num_people} people, {result.num_frames} frames")
    print(f"motion: {result.motion_source}")
    print(f"people found: {result.people_found}, identity switches: {result.id_switches}")
    print(f"MPJPE against ground truth: {result.mpjpe_m * 1000:.1f} mm")
    print(f"PCP: {result.pcp * 100:.1f} %")
    print(f"median reprojection error: {result.median_reprojection_px:.2f} px")
    print(f"joints reconstructed: {result.reconstructed_fraction * 100:.1f} %")
    print("outputs:")
    for label, path in (
        ("rig", result.rig_path),
        ("2D detections", result.detections_path),
        ("3D poses", result.poses_path),
        *(("BVH", path) for path in result.bvh_paths),
        ("FBX", result.fbx_path),
    ):
        print(f"  {label:14s} {path}")
    print(f"done in {result.seconds:.1f} s")
    if args.real:
        from mocap.cli_progress import run_with_bar
        from mocap.pipeline.real_demo import format_summary, real_demo_iter

        print("\nreal take (Pose2Sim single person, BlazePose on CPU):", flush=True)
        summary = run_with_bar(real_demo_iter(args.out / "real"))
        print("\n".join(format_summary(summary)))
    return 0
