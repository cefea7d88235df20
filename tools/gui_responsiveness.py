"""Measure the GUI's responsiveness (issue 10, acceptance 3) and print the numbers.

    .venv/bin/python tools/gui_responsiveness.py [--seconds 5] [--frames 300] [--pin] [--feed-alone] [--live NAME ...]

1. **Live drawing rate**: the main window's live view with 4 cameras at 640x480 and 3 people
   (camera images, 2D overlays, 3D skeletons and trails) at a 30 fps feed; counts the frame sets
   presented, the paints of the camera tiles and the 3D view, the frame sets the window skipped,
   and the CPU time of the GUI process and of the feed's child process per frame set. Feeds
   (``--live``, all by default):

   * ``replay``: a :class:`~ui.responsiveness.ReplayFeed` of frames the synthetic studio made
     beforehand, on a thread of the GUI process (the cost of drawing alone);
   * ``replay-child``: the same in a child process (:class:`~ui.live_process.ProcessFeed`):
     drawing plus the hand-over through shared memory;
   * ``demo``: the demo studio as ``mocap gui --demo`` runs it (:func:`ui.live_sources.demo_feed`:
     rendering four images and reconstructing the people in a child process);
   * ``demo-no-images``: the same without camera images;
   * ``engine``: the live engine of :mod:`mocap.live` on the rendered studio (capture threads,
     detection from the frames, tracking, triangulation) in a child process.

   ``--pin`` puts the GUI process (and Xvfb) on CPU 0 and the feed's child process on CPU 1, to
   see whether each fits on one core (the numbers then do not depend on how the operating system
   spreads the work over the two cores). ``--feed-alone`` first measures each feed without the
   window (read 60 times a second, nothing drawn): the rate the feed itself keeps on this machine.
2. **Event-loop latency while a take processes** (``--frames`` > 0): a take of ``--frames``
   frames (4 cameras, 3 people) is processed by the processing controller (association,
   triangulation, filtering in a job) while :class:`~ui.responsiveness.EventLoopProbe` times a
   10 ms timer on the GUI thread.

Needs an X display for the 3D view (starts its own Xvfb when none is set, like tools/screenshots.py).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from screenshots import settle, start_xvfb, wait_until  # noqa: E402

LIVE_FEEDS = ("replay", "replay-child", "demo", "demo-no-images", "engine")


def feed_factory(name: str):  # type: ignore[no-untyped-def]
    """The feed factory of ``name`` (see the module docstring)."""
    from ui.live_process import ProcessFeed
    from ui.live_sources import DEMO_LIVE_STUDIO as config
    from ui.live_sources import demo_feed, engine_feed, synthetic_studio
    from ui.responsiveness import replay_feed

    if name == "replay":
        feed = replay_feed(config, 60)
        return lambda: feed
    if name == "replay-child":
        return functools.partial(ProcessFeed, functools.partial(replay_feed, config, 60))
    if name == "demo":
        return demo_feed
    if name == "demo-no-images":
        return functools.partial(ProcessFeed, functools.partial(synthetic_studio, config, False))
    if name == "engine":
        return engine_feed
    raise ValueError(name)


def process_cpu_s(pid: int) -> float:
    """CPU time (user + system) of every thread of process ``pid`` so far, seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pin(pid: int, cpus: set[int]) -> None:
    """Put every thread of process ``pid`` on ``cpus`` (threads it starts later inherit it)."""
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            os.sched_setaffinity(int(task), cpus)


def measure_feed_alone(name: str, seconds: float, pin_child: bool) -> str:
    """The feed ``name`` without the window: read 60 times a second as the window does, nothing
    drawn (whether the feed itself keeps its rate on this machine, e.g. on one core with ``--pin``)."""
    feed = feed_factory(name)()
    child = getattr(feed, "pid", None)
    if pin_child and child is not None:
        pin(child, {1})
    feed.start()
    try:

        def read_until(end: float) -> None:  # as the window's timer does: frames are read as they come
            while time.monotonic() < end:
                feed.latest()
                time.sleep(0.016)

        deadline = time.monotonic() + 30.0
        while feed.latest() is None and time.monotonic() < deadline:
            time.sleep(0.016)
        read_until(time.monotonic() + 2.0)  # past the start-up
        first, cpu, start = feed.stats(), process_cpu_s(child) if child is not None else 0.0, time.perf_counter()
        read_until(time.monotonic() + seconds)
        feed.latest()
        elapsed = time.perf_counter() - start
        last = feed.stats()
        cpu = (process_cpu_s(child) if child is not None else 0.0) - cpu
    finally:
        feed.stop()
    published = last.published - first.published
    child_ms = f", {1000 * cpu / max(1, published):.1f} ms of CPU per frame set in its process" if child else ""
    return (
        f"feed {published / elapsed:.1f} fps ({last.dropped - first.dropped} dropped){child_ms}; "
        f"load {os.getloadavg()[0]:.1f}"
    )


def measure_live(app: object, window: object, seconds: float, pin_child: bool) -> str:
    live, display, grid, scene = window.live, window.display, window.camera_grid, window.scene3d  # type: ignore[attr-defined]
    live.start()
    wait_until(app, lambda: live.running and live.frames_shown > 10, 180, "the live view")
    child = getattr(live.feed, "pid", None)
    if pin_child and child is not None:
        pin(child, {1})
    settle(app, 1.0)
    feed = live.feed

    def sample() -> tuple[float, ...]:
        stats = feed.stats()
        return (
            time.perf_counter(),
            display.frames_presented,
            grid.paint_count,
            scene.paint_count,
            time.process_time(),
            process_cpu_s(child) if child is not None else 0.0,
            stats.published,
            stats.dropped,
            live.dropped,
        )

    start = sample()
    settle(app, seconds)
    end = sample()
    delta = [b - a for a, b in zip(start, end, strict=True)]
    elapsed, shown = delta[0], max(1, int(delta[1]))
    published, feed_dropped, gaps = int(delta[6]), int(delta[7]), int(delta[8])
    tiles = delta[2] / elapsed / max(1, len(grid.tiles))
    child_ms = f", child process {1000 * delta[5] / max(1, published):.1f} ms" if child is not None else ""
    line = (
        f"feed {published / elapsed:.1f} fps ({feed_dropped} dropped by the feed) -> presented "
        f"{delta[1] / elapsed:.1f} fps ({max(0, gaps - feed_dropped)} skipped by the window), each camera tile "
        f"painted {tiles:.1f} fps, 3D view painted {delta[3] / elapsed:.1f} fps ({len(grid.tiles)} cameras); "
        f"CPU per frame set: GUI process {1000 * delta[4] / shown:.1f} ms{child_ms}; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    live.stop()
    window.jobs.wait(30_000)  # type: ignore[attr-defined]
    settle(app, 0.5)
    return line


def measure_processing(app: object, window: object, frames: int) -> str:
    from calibration.files import ensure_folder
    from mocap.session.schema import CameraEntry
    from mocap.session.store import Session
    from mocap.synthetic.studio import generate_take
    from ui.live_sources import DEMO_LIVE_STUDIO
    from ui.responsiveness import EventLoopProbe

    take = generate_take(DEMO_LIVE_STUDIO.model_copy(update={"num_frames": frames}))
    root = Path(tempfile.mkdtemp(prefix="mocap-latency-")) / "session"
    session = Session.create(root, "latency")
    session.set_calibration(take.rig)
    entries = [CameraEntry(name=n, video=f"{n}.mkv", size=(640, 480), frames=frames) for n in take.rig.names]
    stored = session.new_take(entries, 30.0, name="take_001", status="complete", synthetic={"num_people": 3})
    take.detections.save(ensure_folder(stored.derived_dir / "imported") / "keypoints2d.npz")
    processing = window.processing  # type: ignore[attr-defined]
    processing.set_take(root, "take_001")
    wait_until(app, lambda: processing.available, 30, "the processing check")
    probe = EventLoopProbe(10)
    ended: list[float] = []

    def stop(running: bool) -> None:  # runs before the result is shown (review loads it after)
        if not running and not ended:
            ended.append(time.perf_counter())
            probe.stop()

    processing.running_changed.connect(stop)
    probe.start()
    started = time.perf_counter()
    processing.process()
    wait_until(app, lambda: bool(ended), 600, "the processing")
    seconds = ended[0] - started
    latency = probe.summary()
    shown = EventLoopProbe(10)
    shown.start()
    settle(app, 2.0)  # the window shows the processed take in review (stage, plots, first GL paint)
    after = shown.stop()
    result = processing.last_result
    done = result.summary() if result is not None else "failed"
    return (
        f"processing {frames} frames x 4 cameras x 3 people took {seconds:.1f} s ({done}); while it ran: {latency}; "
        f"the 2 s after, while the window shows the result: {after}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of live drawing measured")
    parser.add_argument("--frames", type=int, default=300, help="frames of the processed take (0: skip)")
    parser.add_argument("--live", nargs="*", choices=LIVE_FEEDS, default=list(LIVE_FEEDS), help="live feeds measured")
    parser.add_argument("--pin", action="store_true", help="GUI (and Xvfb) on CPU 0, the feed's process on CPU 1")
    parser.add_argument("--feed-alone", action="store_true", help="also measure each feed without the window")
    args = parser.parse_args()
    if args.pin:
        os.sched_setaffinity(0, {0})  # before any thread or process starts: they inherit it
    xvfb = start_xvfb()
    code = 0
    try:
        from ui.app import application
        from ui.main_window import MainWindow
        from ui.subprocess_jobs import warm_up

        warm_up()  # as `mocap gui` does at start
        app = application()
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs" + (", pinned" if args.pin else ""))
        window = MainWindow()
        window.resize(1600, 1000)
        window.show()
        settle(app, 0.5)
        for name in args.live if args.feed_alone else ():
            print(f"feed alone, {name}:", measure_feed_alone(name, args.seconds, args.pin), flush=True)
        for name in args.live:
            window.live.set_feed_factory(feed_factory(name))
            print(f"live, {name}:", measure_live(app, window, args.seconds, args.pin), flush=True)
        if args.frames > 0:
            print(measure_processing(app, window, args.frames), flush=True)
        window.close()
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    raise SystemExit(main())
