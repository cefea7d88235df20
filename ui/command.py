"""``mocap gui [SESSION] [--demo]``: the studio window (a plugin of the ``mocap`` CLI).

Registered through the ``mocap.commands`` entry point, so ``mocap`` never imports ``ui``. Qt is
imported only when the command runs, which keeps ``mocap --help`` fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "gui"
HELP = "open the studio window (live views, calibration, recording, review, export)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", type=Path, nargs="?", default=None, help="session folder to open")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="live synthetic studio (4 cameras, 3 people) and a demo session with one processed take "
        "(in SESSION when given, else in a temporary folder)",
    )


def run(args: argparse.Namespace) -> int:
    from mocap.errors import MissingFileError

    session = args.session
    if session is not None and not args.demo and not (session / "session.toml").is_file():
        raise MissingFileError(
            f"{session}: not a session (no session.toml); create one in the window or with mocap record"
        )
    in_use = session is not None and session.exists() and any(session.iterdir())
    if args.demo and in_use and not (session / "session.toml").is_file():
        raise MissingFileError(f"{session}: exists and is not a session; give an empty or new folder for --demo")
    from ui.app import run_app

    return run_app(session, demo=args.demo)
