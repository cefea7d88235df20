"""The GUI's live controller driven by the live engine (not only by the synthetic feed)."""

from __future__ import annotations

import pytest

from mocap.live.engine import LiveConfig, LiveEngine

pytestmark = pytest.mark.gui


def small_engine() -> LiveEngine:
    from mocap.capture.setup import synthetic_capture
    from mocap.live.studio_detector import StudioDetector

    capture = synthetic_capture(2, fps=15.0, size=(320, 240), num_people=1, seed=2, free_running=False)
    detector = StudioDetector(capture.renderer, capture.sources, noise_px=0.5)
    return LiveEngine(capture.sources, capture.rig, detector, LiveConfig(fps=15.0))


def test_the_live_controller_shows_the_engine_frames(qtbot):
    from ui.controllers.display import LIVE, DisplayController
    from ui.controllers.live import LiveController
    from ui.jobs import JobRunner
    from ui.qt_compat import guard_emit_refcount_bug

    guard_emit_refcount_bug()  # PySide6 6.12.0 on Python 3.11 (see ui.qt_compat)
    jobs = JobRunner(max_threads=2)
    display = DisplayController()
    live = LiveController(display, jobs, small_engine)
    try:
        with qtbot.waitSignal(live.running_changed, timeout=20_000) as started:
            live.start()
        assert started.args == [True] and display.active == LIVE
        qtbot.waitUntil(lambda: live.frames_shown >= 3, timeout=20_000)
        qtbot.waitUntil(lambda: len(display.frame().person_ids) == 1, timeout=20_000)
        frame = display.frame()
        assert frame.poses.shape == (1, live.feed.layout.num_joints, 3)
        with qtbot.waitSignal(live.running_changed, timeout=10_000) as stopped:
            live.stop()
        assert stopped.args == [False]
    finally:
        jobs.cancel_all()
        jobs.wait(20_000)
        qtbot.wait(10)
