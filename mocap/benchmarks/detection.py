"""``mocap bench detection``: 2D detection speed, 4 real views at 1080p, ours against MediaPipe.

Frames: the first ``--frames`` frame sets of the Pose2Sim demo take (4 cameras, 1088 x 1920,
decoded once before timing) or of the videos given with ``--videos``. Rows, all in the same run:

* ``mediapipe``: MediaPipe's legacy Pose solution (one ``Pose`` per view, its own tracking; the
  CPU reference and the peer);
* ``blazepose``: the same models on our torch executor, tracking (one forward pass per stage for
  the 4 views of a frame set), on the CPU and on ``--device`` when that is not the CPU;
* ``static``: detector + landmarks on every frame; MediaPipe frame by frame, ours with
  one frame set (4 views) per forward pass on the CPU, ``--batch`` frame sets on ``--device``
  (the offline/GPU throughput path).

Figures are view-frames per second (frame sets/s x views, wall clock) after one warm-up frame
set, the process CPU time per view-frame (all threads; steadier than wall time on a busy
machine), and the ratios ours / MediaPipe (> 1: ours is faster). ``agree px`` is the median
distance of our landmarks to MediaPipe's on the same frames (a check that both did the same work).

Two last lines (skipped with ``--multi-frames 0`` or when the shared data lacks the take) are
not timed: on the first ``--multi-frames`` frame sets of the Pose2Sim two-person take, blazepose
on the CPU as ``mocap detect --max-people 2`` runs it, without and with the take's calibration
(``--rig``: cross-view guidance), the fraction of frames where each view shows both people.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

NAME = "detection"
HELP = "2D detection: view-frames/s on 4 real 1080p views, our torch path vs MediaPipe (CPU, GPU)"

TAKE = Path("pose2sim_demo") / "single_person" / "videos"
MULTI_TAKE = Path("pose2sim_demo") / "multi_person" / "videos"
MULTI_RIG = Path("pose2sim_demo") / "multi_person" / "calibration" / "Calib.qca.txt"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", type=int, default=16, help="frame sets timed per row (default 16)")
    parser.add_argument("--videos", type=Path, nargs="+", help="one video per view (default: the Pose2Sim take)")
    parser.add_argument("--device", default="cpu", help="also time blazepose on this torch device (e.g. cuda)")
    parser.add_argument(
        "--batch", type=int, default=8, help="frame sets per forward pass in static mode on --device (default 8)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (default 1, as mocap detect; 0: torch's default)"
    )
    parser.add_argument("--no-mediapipe", action="store_true", help="skip the MediaPipe rows")
    parser.add_argument(
        "--multi-frames",
        type=int,
        default=100,
        help="frame sets of the two-person take for the multi-person line (default 100: all of it; 0: skip)",
    )


def _videos(args: argparse.Namespace) -> list[Path]:
    from mocap.data_paths import shared_file
    from mocap.detection.run import media_paths
    from mocap.errors import MissingFileError

    if args.videos:
        return media_paths(args.videos)
    folder = shared_file(TAKE)
    if folder is None:
        raise MissingFileError(f"no videos given and the shared data folder lacks {TAKE}; pass --videos")
    return media_paths([folder])


def _decode(paths: Sequence[Path], count: int) -> list[list[np.ndarray]]:
    """``count + 1`` frame sets (the first is the warm-up), ``[t][v]`` BGR uint8."""
    from calibration.media import open_frames

    views = []
    for path in paths:
        source = open_frames(path)
        try:
            views.append([image for _, image in source.frames(0, min(count + 1, source.info.num_frames))])
        finally:
            source.close()
    total = min(len(v) for v in views)
    return [[v[t] for v in views] for t in range(total)]


def _timed(
    run: Callable[[list[list[np.ndarray]]], list[Any]], frame_sets: list[list[np.ndarray]], warmup: int = 1
) -> tuple[float, float, Any]:
    """Wall and process CPU seconds (all threads) of ``run`` on all frame sets but the first.

    The warm-up runs the first frame set and then ``warmup`` more (so batched rows meet their
    batch shape before timing: oneDNN builds its kernels per shape; MediaPipe compiles its graph).
    """
    run(frame_sets[:1])
    if warmup > 1:
        run(frame_sets[1 : 1 + warmup])
    start, cpu = time.perf_counter(), time.process_time()
    out = run(frame_sets[1:])
    return time.perf_counter() - start, time.process_time() - cpu, out


def _sequential(detector: Any, names: Sequence[str]) -> Callable[[list[list[np.ndarray]]], list[Any]]:
    def run(frame_sets: list[list[np.ndarray]]) -> list[Any]:
        detector.reset(names)
        return [detector.detect(images, t) for t, images in enumerate(frame_sets)]

    return run


def _batched(detector: Any, names: Sequence[str], batch: int) -> Callable[[list[list[np.ndarray]]], list[Any]]:
    from mocap.detection.protocol import detect_batch

    def run(frame_sets: list[list[np.ndarray]]) -> list[Any]:
        detector.reset(names)
        out = []
        for start in range(0, len(frame_sets), batch):
            out.extend(detect_batch(detector, frame_sets[start : start + batch], start))
        return out

    return run


def _agreement(ours: list[Any], theirs: list[Any] | None) -> str:
    if theirs is None:
        return "-"
    a = np.stack([o.xy[:, :1] for o in ours])
    b = np.stack([o.xy for o in theirs])
    return f"{float(np.nanmedian(np.linalg.norm(a - b, axis=-1))):.2f}"


def run(args: argparse.Namespace) -> int:
    import torch

    from mocap.detection.backends.blazepose import BlazePoseConfig, BlazePoseDetector
    from mocap.detection.blazepose_models import BlazePoseModels

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    paths = _videos(args)
    names = [p.stem for p in paths]
    frame_sets = _decode(paths, max(1, args.frames))
    timed = len(frame_sets) - 1
    height, width = frame_sets[0][0].shape[:2]
    print(
        f"{len(paths)} views of {width}x{height}, {timed} frame sets timed per row after 1 warm-up; "
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
    )
    print(
        f"{'row':44s} {'view-frames/s':>14s} {'vs mediapipe':>13s} {'CPU ms/view-frame':>18s} "
        f"{'vs mediapipe':>13s} {'agree px':>9s}"
    )
    views = len(paths)

    def line(label: str, seconds: float, cpu: float, peer: tuple[float, float] | None, agree: str = "-") -> tuple:
        rate, cpu_ms = timed * views / seconds, 1000 * cpu / (timed * views)
        ratio = f"{rate / peer[0]:.2f}" if peer else "-"
        cpu_ratio = f"{peer[1] / cpu_ms:.2f}" if peer else "-"  # > 1: we use less CPU
        print(f"{label:44s} {rate:14.1f} {ratio:>13s} {cpu_ms:18.1f} {cpu_ratio:>13s} {agree:>9s}")
        return rate, cpu_ms

    devices = ["cpu"] if args.device == "cpu" else ["cpu", args.device]
    loaded: dict[tuple[str, str], BlazePoseModels] = {}
    for static in (False, True):
        mode = "static" if static else "tracking"
        peer, peer_out = None, None
        if not args.no_mediapipe:
            from mocap.detection.backends.mediapipe_pose import MediaPipePoseDetector

            reference = MediaPipePoseDetector(static=static)
            seconds, cpu, peer_out = _timed(_sequential(reference, names), frame_sets)
            reference.close()
            peer = line(f"mediapipe cpu ({mode})", seconds, cpu, None)
        for device in devices:
            precisions: list[Literal["fp32", "fp16"]] = ["fp32"] if device == "cpu" else ["fp32", "fp16"]
            for precision in precisions:
                if (device, precision) not in loaded:
                    loaded[device, precision] = BlazePoseModels(device, precision)
                models = loaded[device, precision]
                detector = BlazePoseDetector(BlazePoseConfig(device=device, precision=precision, static=static), models)
                if static:
                    # On the CPU big batches only cost cache misses: one frame set (all views) per pass.
                    batch = 1 if device == "cpu" else max(1, args.batch)
                    label = f"blazepose {device} {precision} ({mode}, {batch} sets/pass)"
                    seconds, cpu, out = _timed(_batched(detector, names, batch), frame_sets, batch)
                else:
                    label = f"blazepose {device} {precision} ({mode})"
                    seconds, cpu, out = _timed(_sequential(detector, names), frame_sets)
                line(label, seconds, cpu, peer, _agreement(out, peer_out))
    if args.multi_frames > 0:
        if ("cpu", "fp32") not in loaded:
            loaded["cpu", "fp32"] = BlazePoseModels("cpu", "fp32")
        _multi_person_line(loaded["cpu", "fp32"], args.multi_frames, guided=False)
        _multi_person_line(loaded["cpu", "fp32"], args.multi_frames, guided=True)
    return 0


def _multi_person_line(models: Any, frames: int, *, guided: bool) -> None:
    """Both people found, per view, on the two-person take (see the module docstring)."""
    from calibration.progress import drain
    from mocap.data_paths import shared_file
    from mocap.detection.backends.blazepose import BlazePoseConfig, BlazePoseDetector
    from mocap.detection.run import detect_media_iter, media_paths

    folder = shared_file(MULTI_TAKE)
    rig = shared_file(MULTI_RIG) if guided else None
    if folder is None or (guided and rig is None):
        print(f"multi-person: skipped (the shared data folder lacks {MULTI_RIG if folder else MULTI_TAKE})")
        return
    detector = BlazePoseDetector(BlazePoseConfig(max_people=2, redetect_every=10, rig=rig), models)
    cpu = time.process_time()
    detections = drain(detect_media_iter(media_paths([folder]), detector, stop=frames))
    cpu = time.process_time() - cpu
    people = (detections.score.max(axis=-1) > 0).sum(axis=-1)  # (T, V)
    fractions = (people == 2).mean(axis=0)
    both = ", ".join(f"{name} {f:.2f}" for name, f in zip(detections.camera_names, fractions, strict=True))
    print(
        f"multi-person ({MULTI_TAKE.parent.as_posix()}, {detections.num_frames} frame sets, blazepose cpu, "
        f"max_people 2{', rig ' + MULTI_RIG.name if guided else ''}): frames with both people per view: {both}; "
        f"{1000 * cpu / (detections.num_frames * len(detections.camera_names)):.1f} CPU ms/view-frame"
    )
