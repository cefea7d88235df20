"""The ``mocap`` command: the contract for headless use.

Every subcommand exits 0 on success and 2 with a one-line ``mocap: error: ...`` message on bad
input (any :class:`~mocap.errors.MocapError`). Heavy modules are imported inside the command
functions so ``mocap --help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from mocap import __version__
from mocap.errors import MocapError


def _cmd_demo(args: argparse.Namespace) -> int:
    from mocap.demo import run_demo

    def progress(message: str) -> None:
        print(f"[demo] {message} ...", file=sys.stderr, flush=True)

    result = run_demo(args.out, seed=args.seed, num_frames=args.frames, progress=progress)
    print(
        f"synthetic take: {result.num_cameras} cameras, {result.num_frames} frames, motion from {result.motion_source}"
    )
    print(f"MPJPE against ground truth: {result.mpjpe_m * 1000:.1f} mm")
    print(f"median reprojection error: {result.median_reprojection_px:.2f} px")
    print(f"joints reconstructed: {result.reconstructed_fraction * 100:.1f} %")
    print("outputs:")
    for label, path in (
        ("rig", result.rig_path),
        ("2D detections", result.detections_path),
        ("3D poses", result.poses_path),
        ("BVH", result.bvh_path),
    ):
        print(f"  {label:14s} {path}")
    print(f"done in {result.seconds:.1f} s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mocap",
        description="Multi-view 3D motion capture: calibrate, capture, reconstruct, export.",
    )
    parser.add_argument("--version", action="version", version=f"mocap-studio {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser("demo", help="run the end-to-end slice on the synthetic studio")
    demo.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder (default: demo_out)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the synthetic take")
    demo.add_argument("--frames", type=int, default=300, help="frames in the take (default 300)")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args))
    except MocapError as exc:
        print(f"mocap: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mocap: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
