"""Command-line options shared by the commands that open cameras (``mocap record``, ``mocap live``).

The leading underscore keeps this module out of command discovery (:mod:`mocap.plugins`).
"""

from __future__ import annotations

import argparse


def add_capture_arguments(parser: argparse.ArgumentParser, *, default_source: str | None = None) -> None:
    """``--source`` (repeatable), ``--cameras``, ``--people``, ``--seconds``, ``--fps``, ``--size``, ``--mjpg``."""
    default = f"; default {default_source}" if default_source else ""
    parser.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="SPEC",
        help=f"synthetic | device:N | device:PATH | file:PATH (repeat for several cameras{default})",
    )
    parser.add_argument("--cameras", type=int, default=4, help="synthetic cameras (default 4)")
    parser.add_argument("--people", type=int, default=2, help="synthetic people (default 2)")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds (default: Ctrl-C)")
    parser.add_argument("--fps", type=float, default=30.0, help="camera frame rate (default 30)")
    parser.add_argument("--size", default=None, help="WIDTHxHEIGHT (synthetic default 640x480; devices: as set)")
    parser.add_argument("--mjpg", action="store_true", help="ask devices for MJPG")
