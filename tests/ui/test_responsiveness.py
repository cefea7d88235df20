"""Responsiveness of the window (issue 10, acceptance 3), measured with a timer on the GUI thread.

The full measurement with the numbers reported is ``tools/gui_responsiveness.py``; these tests keep
the property from regressing: the event loop keeps ticking while a take processes, and the live
view draws what a 30 fps feed of 4 cameras at 640x480 publishes. Bounds leave room for a loaded CI
machine (two shared cores, software OpenGL): the 99th percentile of the timer's lateness, not its
maximum, which a busy operating system alone can push past 50 ms.
"""

from __future__ import annotations

import numpy as np
import pytest

from calibration.files import ensure_folder
from mocap.live.synthetic_feed import SyntheticLiveFeed
from mocap.session.schema import CameraEntry
from mocap.session.store import Session
from mocap.synthetic.studio import StudioConfig, generate_take
from ui.main_window import MainWindow
from ui.responsiveness import EventLoopProbe, ReplayFeed
from ui.subprocess_jobs import warm_up

pytestmark = pytest.mark.gui

STUDIO = StudioConfig(seed=7, num_cameras=4, resolution=(640, 480), num_people=3, noise_px=1.5, fps=30.0)


def test_probe_measures_a_blocked_event_loop(qtbot):
    import time

    probe = EventLoopProbe(10)
    probe.start()
    qtbot.wait(100)
    time.sleep(0.12)  # the GUI thread is busy: the next tick is ~110 ms late
    qtbot.wait(50)
    latency = probe.stop()
    assert latency.samples >= 5 and latency.max_ms > 90 and latency.p50_ms < 30


def test_event_loop_keeps_ticking_while_a_take_processes(qtbot, tmp_path):
    take = generate_take(STUDIO.model_copy(update={"num_frames": 150}))
    session = Session.create(tmp_path / "s", "latency")
    session.set_calibration(take.rig)
    entries = [CameraEntry(name=n, video=f"{n}.mkv", size=(640, 480), frames=150) for n in take.rig.names]
    stored = session.new_take(entries, 30.0, name="take_001", status="complete", synthetic={"num_people": 3})
    take.detections.save(ensure_folder(stored.derived_dir / "imported") / "keypoints2d.npz")
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    warm_up()  # as `mocap gui` does at start: the fork server of processing jobs
    window.session.open(tmp_path / "s")
    qtbot.waitUntil(lambda: window.session.summary is not None, timeout=10_000)
    assert window.session.summary.take("take_001").results == "2D"  # keypoints made elsewhere
    window.session_browser.takes.setCurrentItem(window.session_browser.takes.topLevelItem(0))
    qtbot.waitUntil(lambda: window.processing.available, timeout=10_000)  # it follows the highlighted take

    probe = EventLoopProbe(10)
    window.processing.running_changed.connect(lambda running: running or probe.stop())
    probe.start()
    window.processing.process()
    qtbot.waitUntil(lambda: window.processing.last_result is not None, timeout=120_000)
    latency = probe.summary()
    print(latency)
    assert latency.samples > 50
    assert latency.p99_ms < 50.0
    # the window then shows the processed take: the session lists its results, review loads it
    qtbot.waitUntil(lambda: window.review.take is not None, timeout=30_000)
    assert window.review.take.poses.num_people == 3 and window.review.take.num_frames == 150
    qtbot.waitUntil(lambda: window.session.summary.take("take_001").results == "2D + 3D", timeout=10_000)


def test_live_view_draws_a_30_fps_feed_of_four_cameras(qtbot):
    source = SyntheticLiveFeed(STUDIO, render_images=True)
    frames = [source.process(i, 0.0) for i in range(12)]
    assert frames[0].images[0].shape == (480, 640, 3)
    window = MainWindow(feed_factory=lambda: ReplayFeed(source.rig, source.layout, frames, 30.0))
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    window.live.start()
    qtbot.waitUntil(lambda: window.live.frames_shown > 5, timeout=20_000)
    import time

    start = (time.perf_counter(), window.display.frames_presented, window.camera_grid.paint_count)
    qtbot.wait(3000)
    elapsed = time.perf_counter() - start[0]
    presented = (window.display.frames_presented - start[1]) / elapsed
    painted = (window.camera_grid.paint_count - start[2]) / elapsed / 4
    window.live.stop()
    print(f"presented {presented:.1f} fps, tiles painted {painted:.1f} fps")
    # every presented frame is painted (no paint backlog). The rate itself is measured, not
    # asserted (it depends on the machine's load): on an idle 2-core machine both reach 30 fps,
    # see `make gui-responsiveness` and BENCHMARKS.md.
    assert presented > 0
    assert painted == pytest.approx(presented, rel=0.25)
    assert np.all([t.tile.image is not None for t in window.camera_grid.tiles])
