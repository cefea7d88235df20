"""Recording and processing: controller state -> panel, real takes written and processed."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.files import ensure_folder
from mocap.poses3d import Poses3D
from mocap.session.schema import CameraEntry
from mocap.session.store import Session
from ui.controllers.display import DisplayController
from ui.controllers.processing import ProcessingController
from ui.controllers.recording import RECORDING, RecordingController, format_status
from ui.recording import MonitorSnapshot, RecordingMonitor, camera_devices
from ui.views.camera_grid import CameraGridView
from ui.views.processing_panel import ProcessingPanel
from ui.views.recording_panel import RecordingPanel

pytestmark = pytest.mark.gui


def _session_with_take(root, synthetic, *, keypoints=True, calibrated=True):
    session = Session.create(root, "test")
    if calibrated:
        session.set_calibration(synthetic.rig)
    width, height = synthetic.rig.cameras[0].image_size
    frames = synthetic.detections.num_frames
    entries = [CameraEntry(name=n, video=f"{n}.mkv", size=(width, height), frames=frames) for n in synthetic.rig.names]
    take = session.new_take(
        entries, synthetic.detections.fps, name="take_001", status="complete", synthetic={"num_people": 2}
    )
    if keypoints:  # detected elsewhere (mocap detect): the pipeline's detect stage replays them
        synthetic.detections.save(ensure_folder(take.derived_dir / "imported") / "keypoints2d.npz")
    return take


# ---------------------------------------------------------------------- processing


def test_processing_runs_writes_results_and_the_panel_follows(qtbot, jobs, tmp_path, small_synthetic):
    take = _session_with_take(tmp_path / "s", small_synthetic)
    controller = ProcessingController(jobs)
    panel = ProcessingPanel(controller)
    qtbot.addWidget(panel)
    assert not panel.process_button.isEnabled()
    assert "highlight a take" in panel.process_button.toolTip()

    controller.set_take(tmp_path / "s", "take_001")
    qtbot.waitUntil(lambda: controller.available, timeout=10_000)
    assert panel.process_button.isEnabled()

    with qtbot.waitSignal(controller.processed, timeout=60_000) as finished:
        panel.process_button.click()
        assert controller.running and panel.cancel_button.isEnabled() and not panel.process_button.isEnabled()
    result = finished.args[0]
    assert not controller.running and not panel.cancel_button.isEnabled()
    assert panel.bar.value() == 1000 and "2 people" in panel.stage.text()
    for stage in ("detect", "triangulate", "filter"):  # the pipeline's stages, each with its manifest
        assert (take.derived_dir / stage / "stage.toml").is_file()
    poses = Poses3D.load(take.derived_dir / "filter" / "poses3d.npz")
    assert poses.num_frames == small_synthetic.detections.num_frames and result.people == 2
    # the people are where the studio put them: centres within 10 cm of ground truth
    truth = np.nanmean(small_synthetic.poses.xyz, axis=2)  # (T, P, 3)
    found = np.nanmean(poses.xyz, axis=2)
    nearest = [
        min(float(np.nanmean(np.linalg.norm(found[:, p] - truth[:, q], axis=-1))) for q in range(2)) for p in range(2)
    ]
    assert max(nearest) < 0.10
    assert 0 < result.median_error_px < 5


def test_processing_is_disabled_with_the_reason(qtbot, jobs, tmp_path, small_synthetic):
    _session_with_take(tmp_path / "a", small_synthetic, keypoints=False)
    _session_with_take(tmp_path / "b", small_synthetic, calibrated=False)
    controller = ProcessingController(jobs)
    panel = ProcessingPanel(controller)
    qtbot.addWidget(panel)
    controller.set_take(tmp_path / "a", "take_001")
    qtbot.waitUntil(lambda: "no 2D keypoints and no video" in panel.process_button.toolTip(), timeout=10_000)
    assert not panel.process_button.isEnabled()
    controller.set_take(tmp_path / "b", "take_001")
    qtbot.waitUntil(lambda: "calibration" in panel.process_button.toolTip(), timeout=10_000)
    assert not panel.process_button.isEnabled()
    controller.set_take(tmp_path / "missing", "take_001")
    qtbot.waitUntil(lambda: "missing" in panel.process_button.toolTip(), timeout=10_000)
    assert not controller.available


def test_processing_cancel_leaves_no_results(qtbot, jobs, tmp_path, small_synthetic):
    take = _session_with_take(tmp_path / "s", small_synthetic)
    controller = ProcessingController(jobs)
    panel = ProcessingPanel(controller)
    qtbot.addWidget(panel)
    controller.set_take(tmp_path / "s", "take_001")
    qtbot.waitUntil(lambda: controller.available, timeout=10_000)
    controller.process()
    with qtbot.waitSignal(controller.running_changed, timeout=30_000):
        panel.cancel_button.click()
    assert controller.last_result is None and panel.stage.text() == "cancelled"
    assert not (take.derived_dir / "filter" / "stage.toml").exists()
    assert controller.available  # it can run again


# ---------------------------------------------------------------------- recording


def test_recording_monitor_and_status_line(tmp_path):
    class Usage:
        free = 12_300_000_000

    class Frame:
        image = np.zeros((4, 4, 3), np.uint8)

    class Set:
        def __init__(self, index, t, complete):
            self.index, self.timestamp_s, self.complete = index, t, complete
            self.frames = (Frame(), Frame() if complete else None)

    monitor = RecordingMonitor(tmp_path, lambda _path: Usage())
    assert monitor.snapshot().frame_sets == 0 and monitor.snapshot().free_bytes == -1
    for k in range(31):
        monitor.on_set(Set(k, 5.0 + k / 30.0, k != 3))
    snap = monitor.snapshot()
    assert snap.frame_sets == 31 and snap.incomplete == 1 and snap.set_index == 30
    assert snap.elapsed_s == pytest.approx(31 / 30.0)
    assert snap.images[1] is not None and snap.free_bytes == Usage.free
    assert format_status(snap) == "● REC 00:01.0 · 31 sets · 1 incomplete · 12.3 GB free"
    assert format_status(MonitorSnapshot(75.5, 0, 0, -1)) == "● REC 01:15.5 · 0 sets · 0 incomplete · disk: measuring"


def test_camera_devices_are_found_by_number(tmp_path):
    for name in ("video10", "video2", "video0", "videoX", "other"):
        (tmp_path / name).touch()
    assert camera_devices(tmp_path) == ["device:0", "device:2", "device:10"]


def test_recording_a_take_from_the_synthetic_studio(qtbot, jobs, tmp_path):
    Session.create(tmp_path / "s", "rec")
    display = DisplayController()
    grid = CameraGridView()
    qtbot.addWidget(grid)
    display.stage_changed.connect(grid.set_stage)
    display.frame_changed.connect(grid.show_frame)
    controller = RecordingController(display, jobs, num_people=1)
    controller.num_cameras, controller.size = 2, (320, 240)
    panel = RecordingPanel(controller)
    qtbot.addWidget(panel)
    assert not panel.record_button.isEnabled() and "session" in panel.record_button.toolTip()

    controller.set_session(tmp_path / "s")
    assert panel.record_button.isEnabled()
    panel.record_button.click()
    assert controller.running and panel.record_button.text() == "■ Stop" and not panel.source.isEnabled()
    qtbot.waitUntil(
        lambda: controller.last_snapshot is not None and controller.last_snapshot.frame_sets >= 10, timeout=30_000
    )
    assert display.active == RECORDING and len(grid.tiles) == 2
    qtbot.waitUntil(lambda: grid.tiles[0].tile is not None and grid.tiles[0].tile.image is not None, timeout=10_000)
    assert grid.tiles[0].tile.image.shape == (240, 320, 3)
    assert "● REC" in panel.status.text() and "GB free" in panel.status.text()

    with qtbot.waitSignal(controller.recorded, timeout=30_000) as done:
        panel.record_button.click()  # Stop
    result = done.args[0]
    assert result.status == "complete" and result.frame_sets >= 10 and result.stop_reason == "stopped by the user"
    assert panel.record_button.text() == "● Record" and panel.status.text().startswith(result.take_name)
    session = Session.open(tmp_path / "s")
    assert session.rig_path is not None  # the studio's rig became the calibration
    take = session.take(result.take_name)
    assert take.info.status == "complete" and take.info.frame_sets == result.frame_sets
    assert all(take.video_path(n).stat().st_size > 0 for n in take.camera_names)
