"""``mocap detect``: 2D keypoints of every view of a take, written to ``keypoints2d.npz``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "detect"
HELP = "detect 2D keypoints in synchronized videos (or a take folder) and write keypoints2d.npz"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="VIDEO",
        help="one video or image folder per camera (names from the file stems), or one take folder; "
        "with --backend precomputed: OpenPose JSON folders or a keypoints2d.npz",
    )
    parser.add_argument(
        "--backend", default="blazepose", help="detector backend: blazepose (default), mediapipe, precomputed"
    )
    parser.add_argument("--device", default="cpu", help="torch device for blazepose: cpu (default), cuda, cuda:N")
    parser.add_argument("--fp16", action="store_true", help="run the networks in half precision (blazepose)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default 1 with --device cpu: these small networks ran ~10x slower with 2 "
        "threads than with 1 on a busy 2-core machine; raise it on an idle many-core one)",
    )
    parser.add_argument("--max-people", type=int, default=1, help="people tracked per view (default 1)")
    parser.add_argument(
        "--redetect-every",
        type=int,
        default=None,
        help="also run the person detector every N frames (default: 0 for one person, 10 for more)",
    )
    parser.add_argument("--static", action="store_true", help="frames are unrelated images: no tracking")
    parser.add_argument(
        "--rig",
        type=Path,
        help="calibration file (anipose TOML, Qualisys .qca.txt, ...): name the views after its cameras "
        "(cam01 -> cam_01); with blazepose and --max-people > 1 also look for a person a view lost where the "
        "other views put them (cross-view guidance)",
    )
    parser.add_argument("--batch", type=int, default=8, help="frame sets decoded per batch (default 8)")
    parser.add_argument("--start", type=int, default=0, help="first frame (default 0)")
    parser.add_argument("--stop", type=int, default=None, help="frame to stop before (default: the end)")
    parser.add_argument("--fps", type=float, default=None, help="frame rate to record (default: the video's)")
    parser.add_argument("--layout", default=None, help="keypoint layout of precomputed OpenPose JSON (e.g. body25b)")
    parser.add_argument(
        "--out", type=Path, default=Path("keypoints2d.npz"), help="output file (default keypoints2d.npz)"
    )


def _detector_options(args: argparse.Namespace) -> dict[str, object]:
    if args.backend == "precomputed":
        return {"paths": args.inputs, "layout": args.layout, "fps": args.fps}
    if args.backend == "mediapipe":
        return {"static": args.static, "max_people": args.max_people}
    redetect = args.redetect_every if args.redetect_every is not None else (0 if args.max_people == 1 else 10)
    return {
        "device": args.device,
        "precision": "fp16" if args.fp16 else "fp32",
        "max_people": args.max_people,
        "redetect_every": redetect,
        "static": args.static,
        "rig": args.rig if args.max_people > 1 else None,
    }


def run(args: argparse.Namespace) -> int:
    import numpy as np
    from pydantic import ValidationError

    from calibration.files import check_writable
    from mocap.cli_progress import run_with_bar
    from mocap.detection.registry import create_detector
    from mocap.detection.run import detect_media_iter, match_camera_names, media_paths
    from mocap.errors import ShapeError

    check_writable(args.out)
    paths: list[Path] = []
    names: list[str] = []
    if args.backend != "precomputed":
        # Open every view before loading networks: a bad video fails in a moment, not after model loading.
        from calibration.media import open_frames

        paths = media_paths(args.inputs)
        for path in paths:
            open_frames(path).close()
        names = [p.stem for p in paths]
        if args.rig is not None:
            from calibration.importers import import_rig

            names = match_camera_names(names, import_rig(args.rig).names)
    try:
        detector = create_detector(args.backend, **_detector_options(args))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ShapeError(
            f"--{str(first['loc'][0]).replace('_', '-')}", str(first["msg"]), str(first.get("input"))
        ) from None
    if args.threads is None and args.backend == "blazepose" and args.device == "cpu":
        args.threads = 1
    if args.threads is not None:  # process-wide: set only once the inputs and options are known good
        import torch

        torch.set_num_threads(max(1, args.threads))
    if args.backend == "precomputed":
        from mocap.detection.backends.precomputed import PrecomputedDetector

        if not isinstance(detector, PrecomputedDetector):
            raise TypeError("precomputed backend expected")
        detections = detector.detections
        if args.rig is not None:
            from calibration.importers import import_rig
            from mocap.detections2d import Detections2D

            renamed = match_camera_names(detections.camera_names, import_rig(args.rig).names)
            detections = Detections2D(
                detections.xy, detections.score, tuple(renamed), detections.layout, detections.fps
            )
    else:
        detections = run_with_bar(
            detect_media_iter(
                paths,
                detector,
                camera_names=names,
                batch_frames=args.batch,
                start=args.start,
                stop=args.stop,
                fps=args.fps,
            )
        )
    detections.save(args.out)
    found = np.asarray(detections.detected.any(axis=(2, 3)), dtype=bool)  # (T, V): a person in that view-frame
    per_view = ", ".join(f"{name}: {found[:, v].mean() * 100:.0f} %" for v, name in enumerate(detections.camera_names))
    print(
        f"{detections.num_frames} frames x {detections.num_views} views, up to {detections.num_slots} people per view"
    )
    print(f"frames with a person: {per_view}")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0
