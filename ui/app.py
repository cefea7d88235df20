"""The Qt application: ``mocap gui [SESSION]`` and ``mocap gui --demo``.

``--demo`` starts the live synthetic studio (4 cameras at 640x480, 3 people; in a child process,
:mod:`ui.live_sources`) and builds the demo session (:mod:`ui.demo`) in a job that runs it in a
worker process (:mod:`ui.subprocess_jobs`): in SESSION when given and empty, else in a new
temporary folder; an existing session given with ``--demo`` is opened as it is.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from ui.main_window import MainWindow
from ui.qt_compat import guard_emit_refcount_bug

log = logging.getLogger(__name__)


def application() -> QtWidgets.QApplication:
    """The QApplication (created once; GL widgets share one context group)."""
    existing = QtWidgets.QApplication.instance()
    if isinstance(existing, QtWidgets.QApplication):
        return existing
    # pyqtgraph caches some shader programs per class: all GL widgets must share resources
    QtCore.QCoreApplication.setAttribute(QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("mocap studio")
    guard_emit_refcount_bug()
    return app


def demo_root(session: Path | None) -> Path:
    """Where the demo session goes: ``session`` when given, else a new temporary folder."""
    if session is not None:
        return session
    return Path(tempfile.mkdtemp(prefix="mocap-demo-")) / "demo_session"


def start_demo(window: MainWindow, root: Path, config: object = None) -> None:
    """Start the live studio and open (or build, in a job) the demo session at ``root``.

    ``config`` is the demo take's StudioConfig (default :data:`ui.demo.DEMO_STUDIO`).
    """
    from ui.demo import DEMO_STUDIO, build_demo_session
    from ui.subprocess_jobs import in_subprocess

    window.live.start()
    if (root / "session.toml").is_file():
        window.session.open(root)
        return
    window.messages.info(f"making the demo session in {root}")
    window.jobs.submit(
        "demo-session",
        "making the demo session",
        # in a worker process: rendering the take's videos on a thread of the GUI process would
        # hold the GIL the live view needs to draw
        lambda cancel: in_subprocess(build_demo_session, root, config or DEMO_STUDIO, cancel=cancel),
        on_result=window.session.set_summary,
    )


def run_app(session: Path | None = None, *, demo: bool = False) -> int:
    """Show the window and run the event loop; returns the exit code."""
    from ui.subprocess_jobs import warm_up

    warm_up()  # the fork server of processing jobs, started while the GUI process is still small
    app = application()
    window = MainWindow()
    window.show()
    if demo:
        start_demo(window, demo_root(session))
    elif session is not None:
        window.session.open(session)
    return int(app.exec())
