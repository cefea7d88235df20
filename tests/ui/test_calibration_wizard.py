"""The calibration wizard: board -> inputs -> scan (overlay, coverage) -> calibrate -> frusta and errors -> save."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.boards import BoardSpec
from mocap.session.store import Session
from ui.controllers.calibration import CalibrationController
from ui.controllers.display import CALIBRATION, DisplayController
from ui.scene import rig_errors
from ui.views.calibration_wizard import CalibrationWizard

pytestmark = pytest.mark.gui

BOARD = BoardSpec(
    type="charuco", columns=5, rows=4, square_length_m=0.2, marker_length_m=0.15, dictionary="DICT_4X4_50"
)


@pytest.fixture(scope="module")
def board_take(tmp_path_factory):
    """3 synthetic cameras (480x360): 5 close-ups each and 10 synchronized frames, as image folders."""
    from mocap.synthetic.boards import BoardStudioConfig, generate_board_take, write_board_take

    config = BoardStudioConfig(
        seed=1,
        num_cameras=3,
        resolution=(480, 360),
        board=BOARD,
        intrinsic_views=5,
        extrinsic_frames=10,
        supersample=2,
        pixels_per_square=48,
    )
    take = generate_board_take(config)
    folder = tmp_path_factory.mktemp("boards")
    write_board_take(take, folder)
    return take, folder


def _wizard(qtbot, jobs):
    display = DisplayController()
    controller = CalibrationController(display, jobs)
    wizard = CalibrationWizard(controller)
    qtbot.addWidget(wizard)
    return display, controller, wizard


def test_wizard_scans_calibrates_shows_errors_and_saves(qtbot, jobs, board_take, tmp_path):
    take, folder = board_take
    display, controller, wizard = _wizard(qtbot, jobs)
    assert not wizard.scan_button.isEnabled() and wizard.scan_button.toolTip() == "choose the board first"

    # 1 board from the fields
    wizard.columns.setValue(5), wizard.rows.setValue(4), wizard.square_mm.setValue(200), wizard.marker_mm.setValue(150)
    wizard.apply_board.click()
    assert controller.board == BOARD and "charuco 5x4" in wizard.board_label.text()
    assert wizard.scan_button.toolTip() == "choose the extrinsic videos first"

    # 2 inputs and scan: the overlay image and the coverage of every camera
    controller.set_inputs([folder / "extrinsic"], [folder / "intrinsic"])
    qtbot.waitUntil(lambda: controller.sources is not None, timeout=10_000)
    assert list(controller.sources.extrinsic) == list(take.rig.names)
    assert list(controller.sources.intrinsic) == list(take.rig.names)
    assert wizard.scan_button.isEnabled() and "3 cameras" in wizard.sources_label.text()
    with qtbot.waitSignal(controller.scans_changed, timeout=60_000):
        wizard.scan_button.click()
    assert len(wizard.tiles) == 3
    for scan, tile in zip(controller.scans, wizard.tiles, strict=True):
        assert scan.frames_scanned == 10 and scan.frames_found >= 2 and 0 < scan.coverage < 1
        assert tile.tile.image.shape == (360, 480, 3) and tile.tile.xy.shape == (1, len(scan.image_corners), 2)
        # the corners drawn lie on the board: darker and brighter pixels around them (not the flat background)
        x, y = np.round(scan.image_corners[0]).astype(int)
        patch = scan.image[y - 3 : y + 4, x - 3 : x + 4, 0].astype(float)
        assert patch.max() - patch.min() > 60

    # 3 floor: levelled from the cameras; 4 run
    assert not wizard.save_button.isEnabled() and wizard.save_button.toolTip() == "run the calibration first"
    with qtbot.waitSignal(controller.result_changed, timeout=120_000):
        wizard.run_button.click()
        assert wizard.cancel_button.isEnabled() and not wizard.run_button.isEnabled()
    rows = wizard.report_rows()
    assert [r[0] for r in rows] == list(take.rig.names)
    assert all(float(r[1]) < 1.0 for r in rows)  # rms px
    # predicted rotation error, degrees: ~1.2 from this take's 4-6 board views of 34-69 corners
    assert all(0.0 < float(r[6].rstrip("°")) < 5.0 for r in rows)
    rig = controller.outcome.result.rig
    truth = take.rig.centers_world
    found = rig.centers_world
    # the world frame is a choice (levelled from the cameras); distances between cameras are not
    for a in range(3):
        for b in range(a + 1, 3):
            assert np.linalg.norm(found[a] - found[b]) == pytest.approx(np.linalg.norm(truth[a] - truth[b]), abs=0.03)
    # the frusta reach the 3D view through the display's calibration source, with their errors
    assert display.active == CALIBRATION
    stage = display.stage()
    assert stage.camera_names == take.rig.names
    assert all(np.isfinite(c.error_px) and c.error_px < 1.0 for c in stage.cameras)
    np.testing.assert_allclose(stage.cameras[0].frustum_world[0, 0], found[0])
    assert display.frame().tiles[0].image is not None

    # save into a session
    assert wizard.save_button.toolTip() == "open or create a session first"
    Session.create(tmp_path / "s", "cal")
    controller.set_session(tmp_path / "s")
    assert wizard.save_button.isEnabled()
    with qtbot.waitSignal(controller.saved, timeout=10_000) as saved:
        wizard.save_button.click()
    assert saved.args[0].is_file()
    saved_rig = Session.open(tmp_path / "s").load_rig()
    assert saved_rig.names == take.rig.names
    # a reviewed take of this session shows the same per-camera errors (read from the saved report)
    np.testing.assert_allclose(rig_errors(saved_rig), [c.error_px for c in stage.cameras], atol=1e-5)


def test_wizard_reports_a_bad_board_and_cancels(qtbot, jobs, board_take):
    _take, folder = board_take
    _display, controller, wizard = _wizard(qtbot, jobs)
    controller.set_board(BOARD.model_copy(update={"dictionary": "DICT_5X5_50"}))  # not the printed one
    controller.set_inputs([folder / "extrinsic"])
    qtbot.waitUntil(lambda: controller.sources is not None, timeout=10_000)
    with qtbot.waitSignal(controller.error, timeout=60_000) as failed:
        wizard.run_button.click()
    assert "never found" in failed.args[0] and "never found" in wizard.result_label.text()
    assert wizard.run_button.isEnabled() and controller.outcome is None

    controller.set_board(BOARD)
    wizard.scan_button.click()
    assert controller.running
    wizard.cancel_button.click()
    qtbot.waitUntil(lambda: not controller.running, timeout=60_000)
    assert wizard.stage_label.text() == "cancelled" and controller.scans == () and wizard.scan_button.isEnabled()

    missing = folder / "nothing-here"
    with qtbot.waitSignal(controller.error, timeout=10_000) as failed:
        controller.set_inputs([missing])
    assert "nothing-here" in failed.args[0]


def test_wizard_uses_a_recorded_take_of_the_board(qtbot, jobs, board_take, tmp_path):
    """Record the board (here: the rendered frames written as the take's videos), highlight the
    take, use its videos: the scan finds the board in every camera's video."""
    import cv2

    from mocap.capture.video import VideoWriter
    from mocap.session.schema import CameraEntry

    take, folder = board_take
    session = Session.create(tmp_path / "s", "board")
    entries = [CameraEntry(name=n, video=f"{n}.mkv", size=(480, 360), frames=10) for n in take.rig.names]
    stored = session.new_take(entries, 30.0, name="board_001", status="complete")
    for name in take.rig.names:
        writer = VideoWriter(stored.video_path(name), (480, 360), 30.0, quality=12)
        for k in range(10):
            writer.write(cv2.imread(str(folder / "extrinsic" / name / f"{k:04d}.png"), cv2.IMREAD_COLOR))
        writer.close()
    _display, controller, wizard = _wizard(qtbot, jobs)
    controller.set_board(BOARD)
    assert not wizard.take_button.isEnabled() and "recording panel" in wizard.take_button.toolTip()
    controller.set_session(tmp_path / "s")
    controller.set_current_take(tmp_path / "s", "board_001")
    assert wizard.take_button.isEnabled()
    wizard.take_button.click()
    qtbot.waitUntil(lambda: controller.sources is not None, timeout=10_000)
    assert controller.sources.extrinsic == {n: stored.video_path(n) for n in take.rig.names}
    with qtbot.waitSignal(controller.scans_changed, timeout=60_000):
        wizard.scan_button.click()
    assert [s.frames_scanned for s in controller.scans] == [10, 10, 10]
    assert all(s.frames_found >= 2 for s in controller.scans)


def test_new_inputs_make_a_running_scan_stale(qtbot, jobs, board_take):
    _take, folder = board_take
    _display, controller, wizard = _wizard(qtbot, jobs)
    controller.set_board(BOARD)
    controller.set_inputs([folder / "extrinsic"])
    qtbot.waitUntil(lambda: controller.sources is not None, timeout=10_000)
    wizard.scan_button.click()
    assert controller.running
    controller.set_board(BOARD.model_copy(update={"square_length_m": 0.21}))  # another board: the scan is stale
    qtbot.waitUntil(lambda: not controller.running, timeout=60_000)
    jobs.wait(10_000)
    qtbot.wait(50)
    assert controller.scans == () and wizard.tiles == [] and wizard.stage_label.text() == "cancelled"
