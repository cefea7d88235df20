"""``mocap bench synthetic``: how fast the synthetic studio builds takes (frames/s per configuration)."""

from __future__ import annotations

import argparse
import time

NAME = "synthetic"
HELP = "synthetic studio: take generation speed for small to large crowds"

CASES = (
    ("4 cams x 1 person", {"num_cameras": 4, "num_people": 1}),
    ("5 cams x 4 people", {"num_cameras": 5, "num_people": 4, "noise_px": 3.0, "missed_rate": 0.1}),
    ("8 cams x 6 people", {"num_cameras": 8, "num_people": 6, "noise_px": 3.0, "false_positives_per_view": 0.05}),
    ("8 cams x 8 people", {"num_cameras": 8, "num_people": 8, "noise_px": 3.0, "false_positives_per_view": 0.05}),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", type=int, default=300, help="frames per take (default 300)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best is reported (default 3)")


def run(args: argparse.Namespace) -> int:
    from mocap.synthetic.studio import StudioConfig, generate_take

    print(f"{'case':22s} {'frames':>7s} {'best s':>8s} {'frames/s':>9s} {'occluded %':>11s}")
    for label, overrides in CASES:
        config = StudioConfig(num_frames=args.frames, seed=1, **overrides)
        timings = []
        for _ in range(max(1, args.repeat)):
            start = time.perf_counter()
            take = generate_take(config)
            timings.append(time.perf_counter() - start)
        best = min(timings)
        occluded = 100.0 * take.occluded.sum() / max(1, take.visible.sum())
        print(f"{label:22s} {args.frames:7d} {best:8.3f} {args.frames / best:9.0f} {occluded:11.1f}")
    return 0
