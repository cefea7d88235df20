"""``mocap export``: poses3d.npz (or a take folder) -> BVH, FBX, TRC, C3D, CSV or NPZ."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "export"
HELP = "export 3D poses as BVH/FBX skeleton animation or TRC/C3D/CSV markers"
FORMATS = ("bvh", "fbx", "trc", "c3d", "csv", "npz")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="a poses3d.npz file, or a processed take folder")
    parser.add_argument("--format", choices=FORMATS, help="output format (default: from the --out suffix)")
    parser.add_argument("--out", type=Path, required=True, help="output file (several people: see the format's rule)")
    parser.add_argument(
        "--person", type=int, action="append", help="person id to export (repeatable; default: every person)"
    )
    parser.add_argument("--units", choices=("m", "cm", "mm"), help="length unit (default: the format's)")
    parser.add_argument("--up", choices=("z", "y"), help="up axis of the file (default: the format's)")
    parser.add_argument("--rotation-order", default="ZXY", help="BVH Euler channel order (default ZXY)")
    parser.add_argument(
        "--positions",
        choices=("keypoints", "skeleton"),
        default="keypoints",
        help="TRC/C3D/CSV: input keypoints or solved skeleton joints (default keypoints)",
    )


def resolve_input(path: Path) -> Path:
    """The poses3d.npz behind ``path``: the file itself; for a take of a session (``take.toml``),
    the 3D poses of its last finished processing stage; else ``<folder>/derived/poses3d.npz``.

    Raises:
        MissingFileError: none of these exists.
    """
    from mocap.errors import MissingFileError
    from mocap.pipeline.run import final_poses_path
    from mocap.session.store import TAKE_FILE, Take

    if path.is_dir():
        if (path / TAKE_FILE).is_file():
            processed = final_poses_path(Take.open(path))
            if processed is None:
                raise MissingFileError(f"{path}: the take has no 3D poses yet; run `mocap process {path}` first")
            return processed
        candidate = path / "derived" / "poses3d.npz"
        if not candidate.is_file():
            raise MissingFileError(f"{path}: a folder without derived/poses3d.npz; reconstruct the take first")
        return candidate
    if not path.exists():
        raise MissingFileError(f"{path}: no such file; give a poses3d.npz or a take folder")
    return path


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from mocap.errors import ExportError
    from mocap.export import ExportOptions, export_poses, get_exporter
    from mocap.poses3d import Poses3D

    source = resolve_input(args.input)
    fmt = args.format or args.out.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ExportError(f"cannot tell the format from {args.out.name!r}; pass --format ({', '.join(FORMATS)})")
    try:
        options = ExportOptions(
            units=args.units, up=args.up, rotation_order=args.rotation_order, positions=args.positions
        )
    except ValidationError as exc:
        raise ExportError(f"bad option: {exc.errors()[0]['msg']}") from None
    poses = Poses3D.load(source)
    written = export_poses(poses, args.out, fmt, person_ids=args.person, options=options)
    exporter = get_exporter(fmt)
    print(f"{exporter.description}: {poses.num_frames} frames at {poses.fps:g} fps")
    for path in written:
        print(f"  {path}")
    return 0
