"""``mocap live``: live 3D people from cameras or the rendered synthetic studio, with timings.

Runs the live engine (:mod:`mocap.live.engine`) for ``--seconds`` (or until Ctrl-C / SIGTERM),
shows a status line once a second, then prints the frame rate, dropped frame sets, the latency
percentiles (capture -> pose published) and the time per stage. ``--record SESSION`` also writes
the take while live.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from mocap.commands._capture_options import add_capture_arguments

NAME = "live"
HELP = "live 3D skeletons from cameras or the synthetic studio: fps, latency p50/p95/p99, stage timings"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_capture_arguments(parser, default_source="synthetic")
    parser.add_argument(
        "--detector",
        choices=("blazepose", "studio"),
        default="blazepose",
        help="blazepose (default) or studio (the synthetic studio's truth read from its frames: no network)",
    )
    parser.add_argument("--device", default="cpu", help="torch device of the detector: cpu (default), cuda, cuda:N")
    parser.add_argument("--fp16", action="store_true", help="run the detector's networks in half precision (GPU)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--max-people", type=int, default=None, help="people per view for blazepose (default --people)")
    parser.add_argument("--rig", type=Path, default=None, help="calibration TOML of the cameras (devices and files)")
    parser.add_argument("--record", type=Path, default=None, metavar="SESSION", help="also record a take into SESSION")
    parser.add_argument("--take", default=None, help="name of the recorded take (default: next take_NNN)")
    parser.add_argument("--container", choices=("mkv", "mp4", "avi"), default="mkv", help="video container")
    parser.add_argument(
        "--codec", choices=("h264", "mjpeg", "ffv1"), default="h264", help="video codec (mjpeg: less CPU, larger)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic studio")


def run(args: argparse.Namespace) -> int:
    from mocap.capture.setup import parse_size
    from mocap.errors import MocapError
    from mocap.live.memory import use_mmap_for_frames
    from mocap.live.setup import LiveOptions, build_engine, report_lines

    if args.seconds is not None and args.seconds <= 0:
        raise MocapError("--seconds must be positive")
    if args.threads is not None:
        import torch

        torch.set_num_threads(max(1, args.threads))
    options = LiveOptions(
        sources=tuple(args.source or ["synthetic"]),
        cameras=args.cameras,
        people=args.people,
        fps=args.fps,
        size=parse_size(args.size),
        mjpg=args.mjpg,
        seed=args.seed,
        detector=args.detector,
        device=args.device,
        fp16=args.fp16,
        max_people=args.max_people,
        rig=args.rig,
        record=args.record,
        take=args.take,
        container=args.container,
        codec=args.codec,
    )
    engine = build_engine(options)
    use_mmap_for_frames()  # a long run keeps a flat memory footprint (mocap.live.memory)
    done = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        print(f"\nmocap: {signal.Signals(signum).name}: stopping ...", file=sys.stderr, flush=True)
        done.set()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    engine.start()
    started = time.monotonic()
    try:
        while not done.wait(1.0):
            elapsed = time.monotonic() - started
            stats = engine.stats()
            frame = engine.latest()  # raises when the engine failed
            people = 0 if frame is None else len(frame.person_ids)
            print(
                f"\rlive {elapsed:6.1f} s  {stats.fps:5.1f} fps  latency p50 {stats.latency_p50_ms:6.1f} ms  "
                f"people {people}  dropped {engine.dropped}",
                end="",
                file=sys.stderr,
                flush=True,
            )
            if args.seconds is not None and elapsed >= args.seconds:
                break
            if not engine.running:
                print("\nmocap: every camera ended", file=sys.stderr)
                break
    finally:
        engine.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print(file=sys.stderr)
    engine.latest()  # an error during the run is the command's error
    for line in report_lines(engine):
        print(line)
    return 0
