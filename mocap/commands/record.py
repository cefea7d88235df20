"""``mocap record SESSION``: headless multi-camera capture into a new take.

Ctrl-C or SIGTERM ends the take cleanly (files closed, ``take.toml`` complete); the exit code is
then 0. A synthetic recording saves the studio's rig as the session's calibration when the
session has none, so the take can be processed straight away.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from mocap.commands._capture_options import add_capture_arguments

NAME = "record"
HELP = "record a take from cameras, video files or the rendered synthetic studio"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", type=Path, help="session folder (created when missing)")
    add_capture_arguments(parser)
    parser.add_argument("--take", default=None, help="take name (default: next take_NNN)")
    parser.add_argument("--container", choices=("mkv", "mp4", "avi"), default="mkv", help="video container")
    parser.add_argument("--codec", choices=("h264", "mjpeg", "ffv1"), default="h264", help="video codec")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic studio")


def run(args: argparse.Namespace) -> int:
    from calibration.progress import CancelToken
    from mocap.capture.grabber import Grabber
    from mocap.capture.recorder import RecorderConfig, record_take
    from mocap.capture.setup import parse_size, sources_from_specs
    from mocap.errors import MocapError
    from mocap.session.store import Session

    if args.seconds is not None and args.seconds <= 0:
        raise MocapError("--seconds must be positive")
    opened = sources_from_specs(
        args.source,
        cameras=args.cameras,
        fps=args.fps,
        size=parse_size(args.size),
        mjpg=args.mjpg,
        people=args.people,
        seed=args.seed,
    )
    session = Session.open_or_create(args.session)
    if opened.rig is not None and session.rig_path is None:
        session.set_calibration(opened.rig)
    cancel = CancelToken()

    def stop(signum: int, _frame: FrameType | None) -> None:
        print(f"\nmocap: {signal.Signals(signum).name}: ending the take ...", file=sys.stderr, flush=True)
        cancel.cancel()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    started = time.monotonic()
    last_report = [started]

    def report(frame_set: object) -> None:
        now = time.monotonic()
        if now - last_report[0] >= 1.0:
            last_report[0] = now
            print(f"\rrecording {now - started:6.1f} s", end="", file=sys.stderr, flush=True)

    config = RecorderConfig(container=args.container, codec=args.codec)
    try:
        with Grabber(opened.sources, args.fps) as grabber:
            result = record_take(
                session,
                grabber,
                seconds=args.seconds,
                name=args.take,
                config=config,
                source=opened.label,
                synthetic=opened.synthetic,
                cancel=cancel,
                on_set=report,
            )
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print(file=sys.stderr)
    stats = result.grabber
    print(f"take: {result.take.root}")
    print(f"status: {result.status}" + (f" ({result.stop_reason})" if result.stop_reason else ""))
    print(
        f"frame sets: {result.frame_sets} ({result.duration_s:.1f} s), incomplete {stats.incomplete_sets}, "
        f"dropped {stats.dropped_sets}; sync error max {stats.sync_error_max_s * 1000:.1f} ms"
    )
    for camera in stats.cameras:
        gaps = result.gaps.get(camera.name, [])
        missing = sum(g.last_set - g.first_set + 1 for g in gaps)
        gap_text = ", ".join(f"{g.start_s:.2f}-{g.end_s:.2f} s" for g in gaps[:5]) + (" ..." if len(gaps) > 5 else "")
        skipped = f"skipped by the source {camera.source_skipped} (busy), " if camera.source_skipped else ""
        print(
            f"  {camera.name}: {result.frames.get(camera.name, 0)} frames, state {camera.state}, "
            f"dropped {camera.dropped + result.queue_dropped.get(camera.name, 0)}, {skipped}"
            f"latency {camera.latency_mean_s * 1000:.1f} ms, "
            + (f"gaps: {len(gaps)} ({missing} sets: {gap_text})" if gaps else "gaps: none")
            + (f", error: {camera.error}" if camera.error else "")
        )
    return 0
