"""Fixtures of the GUI tests: a job runner that is drained after each test, small synthetic takes.

Qt tests run under Xvfb (pytest-xvfb starts it): the 3D view needs a real OpenGL context.
"""

from __future__ import annotations

import pytest
from PySide6 import QtCore

from mocap.association.associate import associate_take
from mocap.synthetic.studio import StudioConfig, SyntheticTake, generate_take
from ui.qt_compat import guard_emit_refcount_bug

# pyqtgraph caches some shader programs per class: every GL widget must share one context group
# (set before the QApplication exists; the application does the same in ui.app).
QtCore.QCoreApplication.setAttribute(QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
guard_emit_refcount_bug()  # PySide6 6.12.0 on Python 3.11 (see ui.qt_compat)


@pytest.fixture
def jobs(qtbot):
    from ui.jobs import JobRunner

    runner = JobRunner(max_threads=2)
    yield runner
    runner.cancel_all()
    runner.wait(10_000)
    qtbot.wait(10)  # deliver the queued answers before the runner goes


SMALL = StudioConfig(
    seed=3, num_cameras=3, resolution=(320, 240), num_people=2, num_frames=40, noise_px=1.0, motion="procedural"
)


@pytest.fixture(scope="session")
def small_synthetic() -> SyntheticTake:
    """A 3-camera, 2-person, 40-frame synthetic take (procedural motion: fast to make)."""
    return generate_take(SMALL)


@pytest.fixture(scope="session")
def small_take(small_synthetic):
    """:class:`ui.takes.TakeData` of ``small_synthetic`` reconstructed by the association stage."""
    from ui.takes import make_take_data

    result = associate_take(small_synthetic.rig, small_synthetic.detections)
    return make_take_data(
        "small take", small_synthetic.rig, small_synthetic.detections, result.poses, slot_person=result.slot_person
    )
