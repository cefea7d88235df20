"""End to end through the window: open the demo session -> play -> export a BVH.

The demo session is built the way ``mocap gui --demo`` builds it (rendered videos, timestamps,
processed results), on a smaller studio so the test stays quick.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

from mocap.formats.bvh_reader import read_bvh
from mocap.live.synthetic_feed import SyntheticLiveFeed
from mocap.poses3d import Poses3D
from mocap.synthetic.studio import StudioConfig
from ui.app import start_demo
from ui.controllers.display import LIVE, REVIEW
from ui.main_window import MainWindow

pytestmark = pytest.mark.gui

DEMO = StudioConfig(
    seed=7, num_cameras=4, resolution=(320, 240), num_people=3, num_frames=45, noise_px=1.0, motion="procedural"
)


def small_feed():
    return SyntheticLiveFeed(
        StudioConfig(seed=2, num_cameras=4, resolution=(320, 240), num_people=3, motion="procedural")
    )


def test_open_demo_session_play_and_export_bvh(qtbot, tmp_path):
    opened = []
    window = MainWindow(feed_factory=small_feed, open_folder=opened.append)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)

    # open the demo session: the live studio starts, the demo take is made in a job
    start_demo(window, tmp_path / "demo", DEMO)
    qtbot.waitUntil(lambda: window.session.summary is not None, timeout=60_000)
    assert window.display.active == LIVE
    qtbot.waitUntil(lambda: window.live.frames_shown >= 3, timeout=10_000)
    assert window.session_browser.take_names() == ["demo_001"]
    take = window.session.summary.take("demo_001")
    assert take.status == "complete" and take.results == "2D + 3D" and len(take.cameras) == 4

    # pick the take: review loads its videos and results
    item = window.session_browser.takes.topLevelItem(0)
    window.session_browser.takes.itemActivated.emit(item, 0)
    qtbot.waitUntil(lambda: window.review.take is not None, timeout=20_000)
    assert window.display.active == REVIEW
    assert window.playback.num_frames == DEMO.num_frames
    qtbot.waitUntil(lambda: window.camera_grid.tiles[0].tile is not None, timeout=10_000)
    qtbot.waitUntil(lambda: window.camera_grid.tiles[0].tile.image is not None, timeout=10_000)
    assert window.camera_grid.tiles[0].tile.image.shape == (240, 320, 3)  # decoded from the take's video

    # play with the space bar until a second of the take has gone by, then pause
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert window.playback.playing
    qtbot.waitUntil(lambda: window.playback.frame >= 30, timeout=10_000)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert not window.playback.playing
    shown = window.display.frame()
    assert shown.index == window.playback.frame or window.jobs.running("review-images")
    assert len(window.scene3d.person_labels()) >= 2

    # export person 0's frames 5..40 as BVH
    assert window.export_action.isEnabled()
    dialog = window.open_export_dialog()
    dialog.select_format("bvh")
    dialog.person_box.setCurrentIndex(dialog.person_box.findData(0))
    dialog.first_frame.setValue(5)
    dialog.last_frame.setValue(40)
    with qtbot.waitSignal(window.export.exported, timeout=60_000) as done:
        dialog.export_button.click()
    (path,) = done.args[0]
    assert path.parent == tmp_path / "demo" / "takes" / "demo_001" / "exports"
    assert opened == [path.parent]  # the output folder is opened
    motion = read_bvh(path)
    assert motion.num_frames == 36 and motion.fps == pytest.approx(30.0)
    # the BVH root (Y-up metres) follows person 0's hips (Z-up world) frame by frame
    poses = Poses3D.load(next((tmp_path / "demo" / "takes" / "demo_001" / "derived").rglob("poses3d.npz")))
    person = poses.person(0).xyz[5:41, 0]  # (36, J, 3)
    names = poses.layout.joint_names
    hips = 0.5 * (person[:, names.index("left_hip")] + person[:, names.index("right_hip")])
    positions, _ = motion.forward_kinematics()
    root_world = positions[:, 0] @ np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]).T  # Y-up -> Z-up
    both = np.isfinite(hips[:, 0])
    assert both.sum() > 30
    assert np.median(np.linalg.norm(root_world[both] - hips[both], axis=1)) < 0.05
    assert "wrote" in dialog.status.text()
    window.close()
