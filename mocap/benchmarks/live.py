"""``mocap bench live``: end-to-end live mode on rendered synthetic cameras — rate, latency, stages.

Each case runs the live engine (:mod:`mocap.live.engine`) on the rendered synthetic studio
(default 4 cameras, 640x480, 30 fps, 2 people) for ``--seconds`` and reports the published frame
rate, the share of frame sets dropped (latest wins), the latency capture -> pose published
(p50/p95/p99), the CPU the whole process used (cores: CPU seconds per second, cameras and
rendering included) and the mean time per stage. Cases: the ``blazepose`` detector on ``--device``
(the product), the ``studio`` stand-in detector (everything but the network at full rate), and
with ``--record`` the same while recording the take (h264 into a temporary session).

``--soak S``: one long run (``--detector``, default studio) sampling the process's resident
memory every 5 s; prints the growth after the warm-up (the first 10 % of the run, at least 30 s)
and the dropped frame sets. Acceptance: growth < 5 %, dropped < 1 %.

Wall-clock figures depend on the machine's load; report them with it (``os.getloadavg``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mocap.live.setup import LiveOptions

NAME = "live"
HELP = "live mode end to end on rendered synthetic cameras: fps, latency p50/p95/p99, stages; --soak"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per case (default 20)")
    parser.add_argument("--cameras", type=int, default=4, help="cameras (default 4)")
    parser.add_argument("--size", default="640x480", help="WIDTHxHEIGHT (default 640x480)")
    parser.add_argument("--people", type=int, default=2, help="people (default 2)")
    parser.add_argument("--fps", type=float, default=30.0, help="camera frame rate (default 30)")
    parser.add_argument(
        "--detector", choices=("blazepose", "studio", "both"), default=None, help="default: both (soak: studio)"
    )
    parser.add_argument("--device", default="cpu", help="torch device of blazepose (default cpu)")
    parser.add_argument("--fp16", action="store_true", help="blazepose networks in half precision (GPU)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--record", action="store_true", help="also run every case while recording the take")
    parser.add_argument("--codec", choices=("h264", "mjpeg", "ffv1"), default="h264", help="codec when recording")
    parser.add_argument("--soak", type=float, default=None, metavar="S", help="one soak run of S seconds instead")


def _rss_bytes() -> int:
    """Resident memory of this process (Linux ``/proc``; else the peak from ``getrusage``)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _cpu_seconds() -> float:
    """CPU time (user + system) this process used so far, seconds."""
    times = os.times()
    return times.user + times.system


def _load() -> str:
    try:
        return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    except OSError:
        return "load average unknown"


def _options(args: argparse.Namespace, detector: str, record: Path | None) -> LiveOptions:
    from mocap.capture.setup import parse_size
    from mocap.live.setup import LiveOptions

    return LiveOptions(
        cameras=args.cameras,
        people=args.people,
        fps=args.fps,
        size=parse_size(args.size),
        detector=detector,
        device=args.device,
        fp16=args.fp16,
        record=record,
        codec=args.codec,
    )


def _case(args: argparse.Namespace, detector: str, record: bool) -> list[str]:
    from mocap.live.engine import STAGES
    from mocap.live.setup import build_engine

    with tempfile.TemporaryDirectory(prefix="mocap-bench-live-") as folder:
        engine = build_engine(_options(args, detector, Path(folder) / "session" if record else None))
        engine.start()
        cpu, wall = _cpu_seconds(), time.monotonic()
        time.sleep(args.seconds)
        cores = (_cpu_seconds() - cpu) / (time.monotonic() - wall)
        engine.stop()
        engine.latest()  # raises if the run failed
    stats = engine.stats()
    stages = engine.stage_summary()
    label = detector + (f" + {args.codec}" if record else "")
    row = (
        f"{label:18s} {stats.fps:6.1f} {100 * engine.dropped_fraction:6.1f} {stats.latency_p50_ms:7.0f} "
        f"{stats.latency_p95_ms:7.0f} {stats.latency_p99_ms:7.0f} {cores:5.2f}"
    )
    row += "".join(f" {stages[s].mean_ms:7.1f}" if s in stages else f" {'-':>7s}" for s in STAGES)
    return [row]


def _soak(args: argparse.Namespace) -> int:
    import numpy as np

    from mocap.live.setup import build_engine, report_lines

    detector = args.detector if args.detector in ("blazepose", "studio") else "studio"
    engine = build_engine(_options(args, detector, None))
    warmup = max(30.0, 0.1 * args.soak)
    samples: list[tuple[float, int]] = []
    print(f"soak: {args.soak:.0f} s, detector {detector}, {args.cameras} cameras {args.size}, {args.people} people")
    print(f"start: {_load()}")
    engine.start()
    started, cpu = time.monotonic(), _cpu_seconds()
    try:
        while (elapsed := time.monotonic() - started) < args.soak:
            samples.append((elapsed, _rss_bytes()))
            engine.latest()  # stop at once on an error
            time.sleep(min(5.0, max(0.0, args.soak - elapsed)))
    finally:
        engine.stop()
    samples.append((time.monotonic() - started, _rss_bytes()))
    cores = (_cpu_seconds() - cpu) / samples[-1][0]
    print(f"end: {_load()}; this process used {cores:.2f} cores on average")
    for line in report_lines(engine):
        print(line)
    after = [rss for t, rss in samples if t >= warmup]
    base = after[0] if after else samples[0][1]
    growth = 100.0 * (samples[-1][1] - base) / base
    peak = max(rss for _, rss in samples)
    print(
        f"memory: {base / 2**20:.1f} MiB after {warmup:.0f} s warm-up, {samples[-1][1] / 2**20:.1f} MiB at the end, "
        f"peak {peak / 2**20:.1f} MiB: growth {growth:+.2f} % (target < 5 %)"
    )
    minutes = [rss for t, rss in samples if t >= 0][:: max(1, round(60.0 / 5.0))] + [samples[-1][1]]
    print("memory every minute (MiB): " + " ".join(f"{rss / 2**20:.0f}" for rss in minutes))
    late = [(t, rss) for t, rss in samples if t >= args.soak / 2]
    if len(late) >= 3:
        times, values = np.array(late, dtype=np.float64).T
        slope = np.polyfit(times / 60.0, values / 2**20, 1)[0]
        print(f"memory trend over the second half: {slope:+.2f} MiB per minute")
    print(f"dropped frame sets: {100 * engine.dropped_fraction:.2f} % (target < 1 %)")
    return 0


def run(args: argparse.Namespace) -> int:
    from mocap.errors import MocapError
    from mocap.live.engine import STAGES

    if args.seconds <= 0 or (args.soak is not None and args.soak <= 0):
        raise MocapError("--seconds and --soak must be positive")
    if args.threads is not None:
        import torch

        torch.set_num_threads(max(1, args.threads))
    from mocap.live.memory import use_mmap_for_frames

    use_mmap_for_frames()  # as mocap live does (mocap.live.memory)
    if args.soak is not None:
        return _soak(args)
    detectors = ("blazepose", "studio") if args.detector in (None, "both") else (args.detector,)
    print(
        f"live: {args.cameras} rendered cameras {args.size} at {args.fps:g} fps, {args.people} people, "
        f"{args.seconds:g} s per case, device {args.device}; {_load()}"
    )
    header = f"{'case':18s} {'fps':>6s} {'drop%':>6s} {'p50 ms':>7s} {'p95 ms':>7s} {'p99 ms':>7s} {'cores':>5s}"
    print(header + "".join(f" {s[:7]:>7s}" for s in STAGES) + "   (stage columns: mean ms)")
    for detector in detectors:
        for record in (False, True) if args.record else (False,):
            for line in _case(args, detector, record):
                print(line, flush=True)
    print(f"after: {_load()}")
    return 0
