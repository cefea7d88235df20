"""Screenshots of the studio window under Xvfb: the live demo, a calibration result, the review of
a processed take.

    .venv/bin/python tools/screenshots.py --out docs/screenshots

Starts its own Xvfb (1600x1000x24) when no X display is set, drives the real window the way a
user would (the live studio, the calibration wizard on a rendered ChArUco take, the demo session's
processed take in review) and saves ``live_demo.png``, ``calibration_wizard.png``,
``calibration_result.png`` and ``review.png``. Takes a minute or two on two cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def start_xvfb() -> subprocess.Popen[bytes] | None:
    """Start Xvfb on a free display and set ``DISPLAY`` (None when a display is already set)."""
    if os.environ.get("DISPLAY"):
        return None
    binary = shutil.which("Xvfb")
    if binary is None:
        raise SystemExit("screenshots: no X display and no Xvfb; install xvfb (tools/system_deps.sh)")
    read, write = os.pipe()
    process = subprocess.Popen(
        [binary, "-displayfd", str(write), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"], pass_fds=(write,)
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        process.kill()
        raise SystemExit("screenshots: Xvfb did not start")
    os.environ["DISPLAY"] = f":{number}"
    return process


def wait_until(app: object, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Run the event loop until ``condition`` holds; exit with a message after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)


def save(widget: Any, path: Path) -> None:
    """What the X server shows of ``widget`` (includes the GL view's text labels, which
    ``QWidget.grab`` leaves out)."""
    top_left = widget.mapToGlobal(widget.rect().topLeft())
    screen = widget.screen()
    image = screen.grabWindow(0, top_left.x(), top_left.y(), widget.width(), widget.height())
    if not image.save(str(path)):
        raise SystemExit(f"screenshots: cannot write {path}")


def repaint_all(app: Any, window: Any) -> None:
    """Repaint every widget of ``window`` (what a hidden dialog covered is not always exposed again)."""
    from PySide6 import QtWidgets

    window.repaint()
    for child in window.findChildren(QtWidgets.QWidget):
        child.update()
    settle(app, 1.0)


def settle(app: object, seconds: float) -> None:
    """Run the event loop for ``seconds`` (a real loop: timers and paints as in the application)."""
    from PySide6 import QtCore

    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()


def calibrate_real(app: Any, window: Any, out: Path) -> None:
    """The wizard on real videos: 4 USB cameras filming an inverted 4x5 ChArUco board."""
    from mocap.data_paths import caliscope_board, shared_data_dir
    from ui.controllers.display import CALIBRATION

    data = shared_data_dir()
    root = data / "caliscope_charuco" if data is not None else None
    if root is None or not root.is_dir():
        print("screenshots: no ../shared/data/caliscope_charuco; skipping the real calibration")
        return
    board = caliscope_board()
    wizard = window.open_calibration_wizard()
    window.calibration.set_board(board)
    previous = window.calibration.sources
    window.calibration.set_inputs(
        [root / "post_optimization" / "calibration" / "extrinsic"],
        [root / "prerecorded_calibration" / "calibration" / "intrinsic"],
    )
    wait_until(app, lambda: window.calibration.sources is not previous, 30, "the real calibration inputs")
    window.calibration.scan()
    wait_until(app, lambda: len(window.calibration.scans) == 4, 300, "the board scan of the real videos")
    window.calibration.run()
    wait_until(app, lambda: window.calibration.outcome is not None, 900, "the real calibration")
    settle(app, 1.0)
    save(wizard, out / "calibration_real_wizard.png")
    wizard.hide()
    repaint_all(app, window)
    wait_until(app, lambda: window.display.active == CALIBRATION, 10, "the real calibration in the views")
    save(window, out / "calibration_real_result.png")
    print("calibration_real_wizard.png, calibration_real_result.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="folder for the PNGs")
    parser.add_argument(
        "--real",
        action="store_true",
        help="also calibrate the real ChArUco videos of ../shared/data/caliscope_charuco (a few minutes more)",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    xvfb = start_xvfb()
    try:
        code = shoot(args.out, real=args.real)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
    sys.stdout.flush()
    # the QApplication would talk to the X server it lived on while Python tears it down
    os._exit(code)


def shoot(out: Path, *, real: bool = False) -> int:

    from calibration.boards import BoardSpec
    from mocap.synthetic.boards import BoardStudioConfig, generate_board_take, write_board_take
    from ui.app import application
    from ui.controllers.display import CALIBRATION, LIVE, REVIEW
    from ui.demo import DEMO_STUDIO, DEMO_TAKE, build_demo_session
    from ui.main_window import MainWindow

    app = application()
    work = Path(tempfile.mkdtemp(prefix="mocap-shots-"))
    window = MainWindow()
    window.resize(1600, 1000)
    window.show()
    settle(app, 0.5)

    # 1. the live demo: 4 rendered cameras at 640x480, 3 people, 2D overlays and 3D skeletons
    window.live.start()
    wait_until(app, lambda: window.display.active == LIVE and window.live.frames_shown > 60, 60, "the live studio")
    settle(app, 1.0)
    save(window, out / "live_demo.png")
    window.live.stop()
    print("live_demo.png")

    # 2. calibration: a rendered ChArUco take of the demo rig's kind, through the wizard
    board = BoardSpec(
        type="charuco", columns=5, rows=4, square_length_m=0.2, marker_length_m=0.15, dictionary="DICT_4X4_50"
    )
    config = BoardStudioConfig(seed=4, num_cameras=4, board=board, intrinsic_views=6, extrinsic_frames=14)
    files = write_board_take(generate_board_take(config), work / "boards")
    wizard = window.open_calibration_wizard()
    wizard.move(40, 40)
    window.calibration.set_board(board)
    window.calibration.set_inputs([work / "boards" / "extrinsic"], [work / "boards" / "intrinsic"])
    wait_until(app, lambda: window.calibration.sources is not None, 30, "the calibration inputs")
    window.calibration.scan()
    wait_until(app, lambda: len(window.calibration.scans) == 4, 120, "the board scan")
    window.calibration.run()
    wait_until(app, lambda: window.calibration.outcome is not None, 300, "the calibration")
    settle(app, 1.0)
    save(wizard, out / "calibration_wizard.png")
    wizard.hide()  # no window manager under Xvfb: the dialog would cover the window
    repaint_all(app, window)
    wait_until(app, lambda: window.display.active == CALIBRATION, 10, "the calibration result in the views")
    save(window, out / "calibration_result.png")
    print("calibration_wizard.png, calibration_result.png", files.board_path)

    if real:
        calibrate_real(app, window, out)

    # 3. review of a processed take: the demo session's take, half-way through
    root = work / "demo_session"
    window.jobs.submit("demo-session", "making the demo session", lambda c: build_demo_session(root, DEMO_STUDIO, c))
    manifest = root / "takes" / DEMO_TAKE / "derived" / "reconstruct" / "stage.toml"
    wait_until(app, manifest.is_file, 300, "the demo session")
    window.jobs.wait(60_000)
    window.session.open(root)
    wait_until(app, lambda: window.session.summary is not None, 30, "the session")
    window.session.set_current(DEMO_TAKE)
    window.session.select_take(DEMO_TAKE)
    wait_until(app, lambda: window.review.take is not None, 60, "the take")
    window.playback.seek(75)
    wait_until(app, lambda: window.display.active == REVIEW, 10, "review")
    tiles = window.camera_grid.tiles
    wait_until(app, lambda: all(t.tile is not None and t.tile.image is not None for t in tiles), 30, "the images")
    settle(app, 1.0)
    save(window, out / "review.png")
    print("review.png")
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
