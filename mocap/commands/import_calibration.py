"""``mocap import-calibration``: another tool's calibration file -> our rig TOML (anipose layout)."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "import-calibration"
HELP = "convert an anipose/Pose2Sim, Qualisys, CMU Panoptic, EasyMocap or caliscope calibration to rig.toml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="the calibration file (EasyMocap: the folder with intri/extri.yml)")
    parser.add_argument(
        "--from",
        dest="fmt",
        choices=("anipose", "qualisys", "panoptic", "easymocap", "caliscope"),
        help="its format (default: from the file name)",
    )
    parser.add_argument("--out", type=Path, default=Path("rig.toml"), help="output rig TOML (default rig.toml)")
    parser.add_argument("--panoptic-type", action="append", help="Panoptic: keep cameras of this type (hd, vga, ...)")
    parser.add_argument("--image-size", help="EasyMocap: WIDTHxHEIGHT when the files do not give it")


def _size(text: str | None) -> tuple[int, int] | None:
    from calibration.errors import ShapeError

    if text is None:
        return None
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise ShapeError("--image-size", "WIDTHxHEIGHT such as 1920x1080", repr(text))
    return int(parts[0]), int(parts[1])


def run(args: argparse.Namespace) -> int:
    from calibration.files import check_writable
    from calibration.importers import guess_format, import_rig
    from calibration.importers.easymocap import load_easymocap
    from calibration.importers.panoptic import load_panoptic
    from calibration.rig_toml import save_rig

    check_writable(args.out)
    fmt = args.fmt or guess_format(args.input)
    size = _size(args.image_size)
    if fmt == "panoptic" and args.panoptic_type:
        rig = load_panoptic(args.input, types=args.panoptic_type)
    elif fmt == "easymocap":
        rig = load_easymocap(args.input, image_size=size)
    else:
        rig = import_rig(args.input, fmt)
    save_rig(rig, args.out)
    print(f"wrote {args.out}: {len(rig)} cameras ({', '.join(rig.names)}) from {fmt} {args.input}")
    return 0
