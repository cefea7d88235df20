"""The remaining controller/view pairs: session browser, joint plots, export dialog, job status and
messages. Each test changes the controller's state and checks what the view shows."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.progress import Progress
from mocap.formats.bvh_reader import read_bvh
from mocap.session.schema import CameraEntry
from mocap.session.store import Session
from ui.controllers.display import DisplayController
from ui.controllers.export import ExportController
from ui.controllers.playback import PlaybackController
from ui.controllers.plots import PlotsController
from ui.controllers.review import ReviewController
from ui.controllers.session import SessionController
from ui.views.export_dialog import ExportDialog
from ui.views.jobs_status import JobStatusView
from ui.views.messages import MessageBanner, MessageLog
from ui.views.plots import JointPlotsView
from ui.views.session_browser import SessionBrowserView

pytestmark = pytest.mark.gui


def test_session_browser_lists_takes_and_follows_the_highlight(qtbot, jobs, tmp_path, small_synthetic):
    session = Session.create(tmp_path / "s", "studio day")
    session.set_calibration(small_synthetic.rig)
    for name, status in (("take_002", "complete"), ("take_010", "stopped"), ("take_001", "recording")):
        entries = [CameraEntry(name=n, video=f"{n}.mkv", size=(320, 240)) for n in small_synthetic.rig.names]
        session.new_take(entries, 30.0, name=name, status=status)
    controller = SessionController(jobs)
    view = SessionBrowserView(controller)
    qtbot.addWidget(view)
    assert view.title.text() == "no session open" and not view.refresh_button.isEnabled()

    with qtbot.waitSignal(controller.session_changed, timeout=10_000):
        controller.open(tmp_path / "s")
    assert "studio day" in view.title.text() and "rig.toml" in view.calibration.text()
    assert view.take_names() == ["take_001", "take_002", "take_010"]  # natural order, not string sort
    statuses = [view.takes.topLevelItem(i).text(1) for i in range(3)]
    assert statuses[1:] == ["complete", "stopped"]
    assert statuses[0] == "interrupted"  # a recording nobody holds is recovered when read
    assert view.refresh_button.isEnabled()

    highlighted = []
    controller.current_changed.connect(lambda root, name: highlighted.append(name))
    view.takes.setCurrentItem(view.takes.topLevelItem(2))
    assert controller.current_take == "take_010" and highlighted[-1] == "take_010"
    with qtbot.waitSignal(controller.session_changed, timeout=10_000):
        view.refresh_button.click()
    assert controller.current_take == "take_010" and view.takes.currentItem().text(0) == "take_010"

    with qtbot.waitSignal(controller.error, timeout=10_000) as failed:
        controller.open(tmp_path / "nothing")
    assert "nothing" in failed.args[0]


def _review(qtbot, jobs, small_take):
    display = DisplayController()
    playback = PlaybackController()
    review = ReviewController(display, playback, jobs)
    return review, playback


def test_joint_plots_follow_the_take_and_the_choice(qtbot, jobs, small_take):
    review, playback = _review(qtbot, jobs, small_take)
    plots = PlotsController(review, jobs)
    view = JointPlotsView(plots, playback)
    qtbot.addWidget(view)
    assert view.person_box.count() == 0
    with qtbot.waitSignal(plots.series_changed, timeout=10_000):
        review.set_take(small_take)
    assert view.person_box.count() == len(small_take.person_ids) == 2
    assert view.joint_box.count() == small_take.layout.num_joints
    x, y = view.curves["x"].getData()
    assert len(x) == small_take.num_frames and np.isfinite(y).mean() > 0.9
    with qtbot.waitSignal(plots.series_changed, timeout=10_000):
        view.joint_box.setCurrentIndex(0)
        view.joint_box.activated.emit(0)  # what a user's pick sends
    assert plots.joint == 0 and plots.series is not None
    error_x, error_y = view.joint_error.getData()
    assert len(error_x) == small_take.num_frames and np.nanmax(error_y) < 20  # pixels
    with qtbot.waitSignal(plots.series_changed, timeout=10_000):
        plots.set_take(None)
    assert view.person_box.count() == 0 and "no 3D poses" in view.message.text()


def test_export_dialog_writes_the_chosen_person_and_frames(qtbot, jobs, small_take, tmp_path):
    review, _playback = _review(qtbot, jobs, small_take)
    opened = []
    export = ExportController(review, jobs, opener=opened.append)
    dialog = ExportDialog(export)
    qtbot.addWidget(dialog)
    dialog.refresh()
    assert not dialog.export_button.isEnabled() and "load a take" in dialog.export_button.toolTip()
    review.set_take(small_take)
    dialog.refresh()
    assert dialog.export_button.isEnabled()
    dialog.select_format("bvh")
    dialog.person_box.setCurrentIndex(dialog.person_box.findData(small_take.person_ids[1]))
    dialog.first_frame.setValue(5)
    dialog.last_frame.setValue(24)
    dialog.path_edit.setText(str(tmp_path / "out" / "person.bvh"))
    with qtbot.waitSignal(export.exported, timeout=30_000) as done:
        dialog.export_button.click()
    written = done.args[0]
    assert written == [tmp_path / "out" / "person.bvh"] and "wrote" in dialog.status.text()
    motion = read_bvh(written[0])
    assert motion.num_frames == 20
    assert opened == [tmp_path / "out"]

    dialog.first_frame.setValue(30)
    dialog.last_frame.setValue(10)  # an empty range: a readable error, no file
    dialog.path_edit.setText(str(tmp_path / "out" / "bad.bvh"))
    with qtbot.waitSignal(export.error, timeout=30_000):
        dialog.export_button.click()
    assert "export failed" in dialog.status.text() and not (tmp_path / "out" / "bad.bvh").exists()


def test_job_status_shows_progress_and_cancels(qtbot, jobs):
    import threading

    view = JobStatusView(jobs)
    qtbot.addWidget(view)
    view.show()
    assert not view.bar.isVisible()
    release = threading.Event()

    def work(cancel):
        yield Progress("counting", 3, 10, "item 3")
        while not cancel.cancelled and not release.wait(0.01):
            pass
        return 1

    cancelled = []
    jobs.submit("t", "a long job", work, on_cancelled=lambda: cancelled.append(True))
    qtbot.waitUntil(lambda: view.bar.isVisible(), timeout=5000)
    assert view.label.text() == "a long job: counting — item 3" and view.bar.value() == 3
    view.cancel_button.click()
    qtbot.waitUntil(lambda: bool(cancelled), timeout=5000)
    assert not view.bar.isVisible()


def test_errors_reach_the_banner_and_the_log(qtbot):
    banner = MessageBanner()
    log = MessageLog(banner)
    qtbot.addWidget(banner)
    qtbot.addWidget(log)
    log.info("recorded take_001")
    assert banner.isHidden()
    log.error("cam_2: the board was never found")
    assert not banner.isHidden() and "cam_2" in banner.text.text()
    assert [m for m in log.messages() if "cam_2" in m]
