"""``mocap calibrate``: board videos or image folders -> a calibrated rig TOML with its quality report.

Camera names come from the file stems or folder names; intrinsic inputs are matched to extrinsic
ones by name (:mod:`calibration.calibrate_sources`). The board is a TOML file
(:mod:`calibration.boards`) or given with ``--board-type/--columns/...``. Nothing is written unless
calibration succeeds; the rig is written atomically.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calibration.boards import BoardSpec

NAME = "calibrate"
HELP = "calibrate a camera rig from ChArUco or checkerboard videos and write rig.toml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--board", type=Path, help="board TOML (type, columns, rows, square_length_m, ...)")
    parser.add_argument("--board-type", choices=("charuco", "checkerboard"), help="board kind (without --board)")
    parser.add_argument("--columns", type=int, help="squares along the board's x (without --board)")
    parser.add_argument("--rows", type=int, help="squares along the board's y (without --board)")
    parser.add_argument("--square", type=float, help="square side in metres (without --board)")
    parser.add_argument("--marker", type=float, help="ChArUco marker side in metres (without --board)")
    parser.add_argument("--dictionary", default="DICT_4X4_50", help="ChArUco dictionary (default DICT_4X4_50)")
    parser.add_argument("--inverted", action="store_true", help="board printed white on black")
    parser.add_argument("--legacy", action="store_true", help="ChArUco layout of OpenCV < 4.6")
    parser.add_argument(
        "--intrinsic", nargs="+", type=Path, default=[], metavar="VIDEO_OR_DIR", help="intrinsic inputs per camera"
    )
    parser.add_argument(
        "--extrinsic",
        nargs="+",
        type=Path,
        required=True,
        metavar="VIDEO_OR_DIR",
        help="synchronized extrinsic inputs, one per camera",
    )
    parser.add_argument("--out", type=Path, default=Path("rig.toml"), help="output rig TOML (default rig.toml)")
    parser.add_argument("--floor-frame", type=int, help="extrinsic frame where the board lies face up on the floor")
    parser.add_argument("--known-points", type=Path, help="TOML of known world points and their pixels")
    parser.add_argument("--extrinsic-step", type=int, default=1, help="search every N-th extrinsic frame (default 1)")
    parser.add_argument(
        "--fixed-intrinsics",
        action="store_true",
        help="keep each camera's intrinsics from its own calibration (default: adjust them in the bundle adjustment)",
    )
    parser.add_argument(
        "--lens-prior",
        type=_non_negative,
        default=1.0,
        metavar="WEIGHT",
        help="pull of the adjusted lenses towards their intrinsic calibration, in units of its uncertainty "
        "(default 1; 0 lets them drift where the synchronized views say little)",
    )
    parser.add_argument(
        "--joint-close-ups",
        action="store_true",
        help="also put the intrinsic close-ups into the bundle adjustment (slower; by default they enter through "
        "the lens prior)",
    )


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} is negative; give 0 or more")
    return value


def _board(args: argparse.Namespace) -> BoardSpec:
    from calibration.boards import board_from_mapping, load_board
    from calibration.errors import FileFormatError

    if args.board is not None:
        return load_board(args.board)
    if args.board_type is None:
        raise FileFormatError("--board", "", "give a board TOML with --board, or --board-type with its sizes")
    values = {
        "type": args.board_type,
        "columns": args.columns,
        "rows": args.rows,
        "square_length_m": args.square,
        "marker_length_m": args.marker,
        "dictionary": args.dictionary,
        "inverted": args.inverted,
        "legacy": args.legacy,
    }
    return board_from_mapping({k: v for k, v in values.items() if v is not None}, "command line")


def run(args: argparse.Namespace) -> int:
    from calibration.bundle_adjustment import BundleOptions
    from calibration.calibrate import CalibrationOptions, KnownPoints, calibrate_iter
    from calibration.calibrate_sources import camera_sources, match_sources
    from calibration.files import check_writable
    from calibration.floor import load_known_points
    from calibration.rig_toml import save_rig
    from mocap.cli_progress import run_with_bar

    check_writable(args.out)
    board = _board(args)
    extrinsic = camera_sources(args.extrinsic, "extrinsic")
    intrinsic = match_sources(camera_sources(args.intrinsic, "intrinsic"), extrinsic) if args.intrinsic else {}
    known = None
    if args.known_points is not None:
        world, pixels = load_known_points(args.known_points)
        known = KnownPoints(world, tuple(pixels))
    options = CalibrationOptions(
        floor_frame=args.floor_frame,
        extrinsic_step=max(1, args.extrinsic_step),
        bundle=BundleOptions(refine_intrinsics=not args.fixed_intrinsics, prior_weight=args.lens_prior),
        joint_close_ups=args.joint_close_ups,
    )
    result = run_with_bar(calibrate_iter(board, extrinsic, intrinsic, options=options, known_points=known))
    save_rig(result.rig, args.out)
    print(result.report.format_table())
    print(f"wrote {args.out} ({len(result.rig)} cameras, {result.report.seconds:.1f} s)")
    return 0
