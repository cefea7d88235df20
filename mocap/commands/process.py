"""``mocap process TAKE``: detect -> triangulate -> filter -> export on a take, each stage cached.

``TAKE`` is a take folder (``SESSION/takes/NAME``) or a session folder (then ``--take`` or its
last take). Settings start from the session's ``[pipeline]`` table and are overridden by the
options given here; stages whose settings and inputs did not change are reused from ``derived/``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mocap.pipeline.config import PipelineConfig
    from mocap.session.store import Take

NAME = "process"
HELP = "process a take: detect, triangulate, filter and export BVH/FBX (stages cached and resumable)"


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("take", type=Path, help="take folder, or a session folder (with --take, default its last take)")
    parser.add_argument("--take", dest="take_name", help="take name inside a session folder")
    parser.add_argument(
        "--stages",
        type=_names,
        default=None,
        help="comma-separated stages to compute: detect,triangulate,filter,export (default all); "
        "the others are taken from the cache",
    )
    parser.add_argument("--force", action="store_true", help="recompute the selected stages even when cached")
    parser.add_argument("--rig", type=Path, help="calibration TOML (default: the session's calibration)")
    parser.add_argument("--people", type=int, help="people in the take (default 1)")
    parser.add_argument("--backend", help="detector backend (default blazepose)")
    parser.add_argument("--device", help="torch device of the detector: cpu, cuda, cuda:N")
    parser.add_argument("--fp16", action="store_true", help="detector networks in half precision")
    parser.add_argument("--threads", type=int, help="torch CPU threads (not part of the cache key)")
    parser.add_argument(
        "--sync",
        choices=("none", "keypoints", "audio"),
        help="videos recorded without sync: estimate clock offsets from keypoint motion or sound (default none)",
    )
    parser.add_argument("--method", choices=("robust", "dlt"), help="triangulation method (default robust)")
    parser.add_argument("--no-filter", action="store_true", help="no gap filling or smoothing")
    parser.add_argument("--cutoff-hz", type=float, help="smoothing cutoff, Hz (default 6)")
    parser.add_argument("--formats", type=_names, help="export formats, comma-separated (default bvh,fbx)")


def resolve_take(path: Path, name: str | None) -> Take:
    """The take named by the command line (see the module docstring).

    Raises:
        MissingFileError: neither a take nor a session there, or the session has no takes.
    """
    from mocap.errors import MissingFileError
    from mocap.session.store import SESSION_FILE, TAKE_FILE, Session, Take

    if (path / TAKE_FILE).is_file() and name is None:
        return Take.open(path)
    if (path / SESSION_FILE).is_file():
        session = Session.open(path)
        names = session.take_names()
        if name is None and not names:
            raise MissingFileError(f"{path}: the session has no takes; record or import one first")
        return session.take(name or names[-1])
    raise MissingFileError(f"{path}: neither a take (no take.toml) nor a session (no session.toml)")


def build_config(args: argparse.Namespace, base: dict[str, Any]) -> PipelineConfig:
    """The session's ``[pipeline]`` settings with the command line's overrides.

    Raises:
        SettingsError: an invalid setting (named).
    """
    from pydantic import ValidationError

    from mocap.commands.reconstruct import SettingsError
    from mocap.pipeline.config import PipelineConfig

    try:
        config = PipelineConfig.model_validate(base)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SettingsError(f"session.toml [pipeline] {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    document = config.model_dump(mode="json")
    detect = document["detect"]
    if args.backend is not None:
        detect = {"backend": args.backend, "options": {}}
    if args.device is not None:
        detect["options"]["device"] = args.device
    if args.fp16:
        detect["options"]["precision"] = "fp16"
    document["detect"] = detect
    if args.people is not None:
        document["people"] = args.people
    if args.sync is not None:
        document["sync"] = args.sync
    if args.method is not None:
        document["triangulation"]["method"] = args.method
    if args.no_filter:
        document["filtering"] = None
    elif args.cutoff_hz is not None and document["filtering"] is not None:
        document["filtering"]["cutoff_hz"] = args.cutoff_hz if args.cutoff_hz > 0 else None
    if args.formats is not None:
        document["export"]["formats"] = args.formats
    try:
        return PipelineConfig.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SettingsError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from calibration.rig_toml import load_rig
    from mocap.cli_progress import run_with_bar
    from mocap.pipeline.plan import check_stages
    from mocap.pipeline.run import run_take_iter

    stages = check_stages(args.stages)
    take = resolve_take(args.take, args.take_name)
    session = take.session
    config = build_config(args, dict(session.info.pipeline) if session is not None else {})
    rig = load_rig(args.rig) if args.rig is not None else None
    if args.threads is not None:
        import torch

        torch.set_num_threads(max(1, args.threads))
    result = run_with_bar(run_take_iter(take, config, rig=rig, stages=stages, force=args.force))
    print(f"take: {take.root} ({len(take.camera_names)} cameras, {take.info.frame_sets} frame sets)")
    for record in result.stages:
        state = "cached" if record.cached else f"ran in {record.seconds:.1f} s"
        print(f"  {record.stage:12s} {state}")
    if result.detections is not None:
        found = np.asarray(result.detections.detected.any(axis=(2, 3)), dtype=bool)
        names = result.detections.camera_names
        rates = ", ".join(f"{n}: {found[:, v].mean() * 100:.0f} %" for v, n in enumerate(names))
        print(f"frames with a person: {rates}")
    if result.poses is not None:
        poses = result.poses
        error = poses.reprojection_error[np.isfinite(poses.reprojection_error)]
        median = f"{float(np.median(error)):.1f} px" if error.size else "n/a"
        print(
            f"3D: {poses.num_frames} frames, {int((poses.person_id >= 0).sum())} people, "
            f"{poses.valid.mean() * 100:.1f} % of joints, median reprojection error {median}"
        )
    export = next((r for r in result.stages if r.stage == "export"), None)
    for path in result.exports:
        print(f"  {'up to date' if export is not None and export.cached else 'wrote'}: {path}")
    print(f"done in {result.seconds:.1f} s")
    return 0
