"""Measure the GUI's responsiveness (issue 10, acceptance 3) and print the numbers.

    .venv/bin/python tools/gui_responsiveness.py [--seconds 5] [--frames 300]

1. **Live drawing rate**: the main window's live view with 4 cameras at 640x480 and 3 people
   (camera images, 2D overlays, 3D skeletons and trails), fed at 30 fps by a
   :class:`~ui.responsiveness.ReplayFeed` of frames the synthetic studio made beforehand; counts
   the frames presented and the paints of the camera tiles and the 3D view. Then the same with the
   synthetic studio itself as the feed (it renders four images per frame on the same cores: the
   feed, not the window, is then the limit), and with the live engine of :mod:`mocap.live` on the
   rendered studio (capture threads, detection from the frames, tracking, triangulation).
2. **Event-loop latency while a take processes**: a take of ``--frames`` frames (4 cameras,
   3 people) is processed by the processing controller (association, triangulation, filtering in
   a job) while :class:`~ui.responsiveness.EventLoopProbe` times a 10 ms timer on the GUI thread.

Needs an X display for the 3D view (starts its own Xvfb when none is set, like tools/screenshots.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from screenshots import settle, start_xvfb, wait_until  # noqa: E402

DEMO: dict[str, object] = {
    "seed": 7,
    "num_cameras": 4,
    "resolution": (640, 480),
    "num_people": 3,
    "noise_px": 1.5,
    "missed_rate": 0.03,
    "fps": 30.0,
}


def replay_factory(frames: int = 60):  # type: ignore[no-untyped-def]
    from mocap.live.synthetic_feed import SyntheticLiveFeed
    from mocap.synthetic.studio import StudioConfig
    from ui.responsiveness import ReplayFeed

    source = SyntheticLiveFeed(StudioConfig(**DEMO), render_images=True)  # type: ignore[arg-type]
    made = [source.process(i, 0.0) for i in range(frames)]
    return lambda: ReplayFeed(source.rig, source.layout, made, 30.0)


def plain_feed():  # type: ignore[no-untyped-def]
    from mocap.live.synthetic_feed import SyntheticLiveFeed
    from mocap.synthetic.studio import StudioConfig

    return SyntheticLiveFeed(StudioConfig(**DEMO))  # type: ignore[arg-type]


def measure_live(app: object, window: object, seconds: float) -> str:
    live, display, grid, scene = window.live, window.display, window.camera_grid, window.scene3d  # type: ignore[attr-defined]
    live.start()
    wait_until(app, lambda: live.running and live.frames_shown > 10, 120, "the live view")
    settle(app, 1.0)
    start = (time.perf_counter(), display.frames_presented, grid.paint_count, scene.paint_count, time.process_time())
    settle(app, seconds)
    elapsed = time.perf_counter() - start[0]
    cpu_ms = (time.process_time() - start[4]) * 1000.0 / max(1, display.frames_presented - start[1])
    presented = (display.frames_presented - start[1]) / elapsed
    tiles = (grid.paint_count - start[2]) / elapsed / max(1, len(grid.tiles))
    gl = (scene.paint_count - start[3]) / elapsed
    feed = live.feed.stats().fps
    live.stop()
    settle(app, 0.5)
    return (
        f"feed {feed:.1f} fps -> presented {presented:.1f} fps, each camera tile painted {tiles:.1f} fps, "
        f"3D view painted {gl:.1f} fps ({len(grid.tiles)} cameras); "
        f"{cpu_ms:.0f} ms of CPU (all threads of the process) per presented frame"
    )


def measure_processing(app: object, window: object, frames: int) -> str:
    from calibration.files import ensure_folder
    from mocap.session.schema import CameraEntry
    from mocap.session.store import Session
    from mocap.synthetic.studio import StudioConfig, generate_take
    from ui.responsiveness import EventLoopProbe

    take = generate_take(StudioConfig(**{**DEMO, "num_frames": frames}))  # type: ignore[arg-type]
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
    parser.add_argument("--frames", type=int, default=300, help="frames of the processed take")
    args = parser.parse_args()
    xvfb = start_xvfb()
    code = 0
    try:
        from ui.app import application
        from ui.controllers.live import demo_feed, engine_feed
        from ui.main_window import MainWindow
        from ui.subprocess_jobs import warm_up

        warm_up()  # as `mocap gui` does at start
        app = application()
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        window = MainWindow(feed_factory=replay_factory())
        window.resize(1600, 1000)
        window.show()
        settle(app, 0.5)
        print("live, replayed frames:", measure_live(app, window, args.seconds), flush=True)
        window.live.set_feed_factory(demo_feed)  # the synthetic studio rendering its images live
        print("live, synthetic studio:", measure_live(app, window, args.seconds), flush=True)
        window.live.set_feed_factory(plain_feed)  # the same without camera images
        print("live, synthetic studio without images:", measure_live(app, window, args.seconds), flush=True)
        window.live.set_feed_factory(engine_feed)  # mocap.live's engine on the rendered studio
        print("live, live engine:", measure_live(app, window, args.seconds), flush=True)
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
