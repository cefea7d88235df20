"""``mocap reconstruct``: 2D detections + a calibrated rig -> ``poses3d.npz``.

``--detections`` is a ``keypoints2d.npz`` or a folder holding one OpenPose-JSON folder per camera;
its cameras are matched to the rig's by name (case, ``_``, ``-`` and a ``_json`` suffix do not
matter). Runs :func:`mocap.triangulation.pipeline.reconstruct_iter` with a progress bar: with
``--people 1`` (the default) the single-person rule picks the best detection per view; with more,
multi-person association and tracking (:class:`mocap.association.associate.MultiPersonAssociator`)
gives every person a stable ``person_id``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from mocap.errors import MocapError

if TYPE_CHECKING:
    from calibration.rig import CameraRig
    from mocap.detections2d import Detections2D
    from mocap.triangulation.pipeline import ReconstructConfig

NAME = "reconstruct"
HELP = "triangulate and filter 2D keypoints (keypoints2d.npz or OpenPose JSON folders) into poses3d.npz"

log = logging.getLogger(__name__)


class SettingsError(MocapError, ValueError):
    """A command-line setting out of range (the message names the option)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rig", type=Path, required=True, help="calibrated rig (anipose-style TOML)")
    parser.add_argument(
        "--detections",
        type=Path,
        required=True,
        help="keypoints2d.npz, or a folder with one OpenPose JSON folder per camera (cam01_json, ...)",
    )
    parser.add_argument("--out", type=Path, required=True, help="poses3d.npz to write")
    parser.add_argument("--layout", help="keypoint layout when the files do not say it (e.g. body25, body25b)")
    parser.add_argument("--fps", type=float, help="frame rate of OpenPose folders (default 30; npz files carry it)")
    parser.add_argument(
        "--people",
        type=int,
        default=1,
        help="1 (default): one person, the best detection per view; more: associate and track several people",
    )
    tri = parser.add_argument_group("triangulation")
    tri.add_argument("--method", choices=["robust", "dlt"], default="robust", help="default: robust")
    tri.add_argument("--threshold-px", type=float, default=20.0, help="outlier threshold, pixels (default 20)")
    tri.add_argument("--fixed-threshold", action="store_true", help="do not adapt the threshold to the noise")
    tri.add_argument("--min-views", type=int, default=2, help="views a joint needs (default 2)")
    tri.add_argument("--min-score", type=float, default=0.0, help="ignore keypoints scored at or below this")
    tri.add_argument("--no-refine", action="store_true", help="skip the Gauss-Newton refinement")
    tri.add_argument("--accept-contested", action="store_true", help="keep points two views make against the rest")
    tri.add_argument("--guide-max-gap", type=int, default=10, help="frames a temporal prior may span (0: off)")
    filt = parser.add_argument_group("filtering")
    filt.add_argument("--no-filter", action="store_true", help="write the triangulated points as they are")
    filt.add_argument("--max-gap", type=int, default=10, help="longest gap to interpolate, frames (default 10)")
    filt.add_argument("--gap-method", choices=["cubic", "linear"], default="cubic")
    filt.add_argument("--cutoff-hz", type=float, default=6.0, help="Butterworth cutoff, Hz (0: no smoothing)")
    filt.add_argument("--order", type=int, default=4, help="Butterworth order (default 4)")
    filt.add_argument("--bone-stiffness", type=float, default=0.0, help="pull to median bone lengths, 0..1")


def _config(args: argparse.Namespace) -> ReconstructConfig:
    from pydantic import ValidationError

    from mocap.filtering.pipeline import FilterConfig
    from mocap.triangulation.pipeline import ReconstructConfig
    from mocap.triangulation.triangulate import TriangulationConfig

    try:
        triangulation = TriangulationConfig(
            method=args.method,
            min_views=args.min_views,
            min_score=args.min_score,
            threshold_px=args.threshold_px,
            adaptive_threshold=not args.fixed_threshold,
            refine=not args.no_refine,
            accept_contested=args.accept_contested,
            guide_max_gap=args.guide_max_gap,
        )
        filtering = None
        if not args.no_filter:
            filtering = FilterConfig(
                max_gap_frames=args.max_gap,
                gap_method=args.gap_method,
                cutoff_hz=args.cutoff_hz if args.cutoff_hz > 0 else None,
                order=args.order,
                bone_stiffness=args.bone_stiffness,
            )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "--" + str(first["loc"][-1]).replace("_", "-")
        raise SettingsError(f"{field}: {first['msg']}") from None
    return ReconstructConfig(triangulation=triangulation, filtering=filtering)


def load_detections(path: Path, rig: CameraRig, layout: str | None, fps: float | None) -> Detections2D:
    """Detections from a ``keypoints2d.npz`` or an OpenPose take folder, views matched to the rig.

    Raises:
        MissingFileError, FileFormatError, LayoutError, MismatchError: one line naming the problem.
    """
    from mocap.camera_matching import align_to_rig
    from mocap.detections2d import Detections2D
    from mocap.errors import LayoutError, MissingFileError
    from mocap.formats.openpose_json import read_openpose_take

    if path.is_dir():
        return read_openpose_take(path, rig.names, layout, 30.0 if fps is None else fps)
    if not path.exists():
        raise MissingFileError(f"{path}: no such file or folder (expected keypoints2d.npz or OpenPose JSON folders)")
    detections = Detections2D.load(path)
    if layout is not None and layout != detections.layout.name:
        raise LayoutError(f"{path}: holds layout {detections.layout.name}, not {layout} as --layout says")
    if fps is not None and fps != detections.fps:
        log.warning("%s records %g fps; --fps %g is ignored", path, detections.fps, fps)
    return align_to_rig(detections, rig.names)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from calibration.files import check_writable
    from calibration.rig_toml import load_rig
    from mocap.cli_progress import run_with_bar
    from mocap.triangulation.pipeline import reconstruct_iter

    if args.people < 1:
        raise SettingsError(f"--people: must be at least 1, got {args.people}")
    config = _config(args)
    check_writable(args.out)
    rig = load_rig(args.rig)
    detections = load_detections(args.detections, rig, args.layout, args.fps)
    if args.people == 1:
        result = run_with_bar(reconstruct_iter(rig, detections, config))
    else:
        from mocap.association.associate import MultiPersonAssociator

        result = run_with_bar(reconstruct_iter(rig, detections, config, associate=MultiPersonAssociator()))
    result.poses.save(args.out)
    raw, poses = result.raw, result.poses
    print(
        f"cameras: {', '.join(rig.names)}; {poses.num_frames} frames at {poses.fps:g} fps, layout {poses.layout.name}"
    )
    if args.people > 1:
        print(f"people found: {poses.num_people} (ids {', '.join(str(int(i)) for i in poses.person_id)})")
    threshold = f", outlier threshold {raw.threshold_px:.1f} px" if np.isfinite(raw.threshold_px) else ""
    print(f"triangulated: {raw.valid.mean() * 100:.1f} % of joints ({config.triangulation.method}{threshold})")
    print(f"not triangulated: {raw.describe_failures()}")
    median = float(np.nanmedian(raw.reprojection_error_px)) if raw.valid.any() else float("nan")
    print(f"median reprojection error: {median:.2f} px")
    if config.filtering is not None:
        print(f"after gap filling and filtering: {poses.valid.mean() * 100:.1f} % of joints")
    print(f"wrote {args.out} in {result.seconds:.1f} s")
    return 0
