"""The real demo: Pose2Sim's 4-camera single-person take, from videos to BVH/FBX and a summary.

The take (four 1088x1920 60 fps videos of one person balancing, and the Qualisys calibration) is
found in the shared data folder (``pose2sim_demo/single_person``, :mod:`mocap.data_paths`), else
in the user cache, else fetched once into the cache with ``pip download --no-deps
pose2sim==0.10.49`` (the wheel ships ``Pose2Sim/Demo_SinglePerson``). It is imported as a take of
a session under ``out_dir`` (videos and rig) and processed by :func:`mocap.pipeline.run.run_take_iter`
with the default BlazePose detector; a second run reuses every cached stage. When the shared
data holds Pose2Sim's own triangulation of the take (from OpenPose), the summary reports how far
our joints are from it — a reference output, not ground truth.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from calibration.files import ensure_folder, write_text_atomic
from calibration.progress import CancelToken, Progress
from mocap.data_paths import shared_data_dir
from mocap.errors import MissingFileError, MocapError
from mocap.pipeline.config import PipelineConfig
from mocap.pipeline.run import PipelineResult, run_take_iter
from mocap.poses3d import Poses3D
from mocap.session.store import Session, Take

log = logging.getLogger(__name__)

POSE2SIM_REQUIREMENT = "pose2sim==0.10.49"
WHEEL_DEMO = "Pose2Sim/Demo_SinglePerson/"
TAKE_NAME = "pose2sim_single_person"
CALIBRATION_FILE = Path("calibration") / "Calib.qca.txt"
SUMMARY_FILE = "real_demo_summary.json"
#: Pose2Sim's TRC of the same take (OpenPose BODY_25B, triangulated by Pose2Sim), Y-up.
REFERENCE_TRC = Path("pose2sim_demo") / "balancing_trial_reference" / "triangulated_reference.trc"
#: TRC marker names -> our canonical joint names, for joints both models place alike.
_TRC_JOINTS = {
    "RShoulder": "right_shoulder",
    "LShoulder": "left_shoulder",
    "RElbow": "right_elbow",
    "LElbow": "left_elbow",
    "RWrist": "right_wrist",
    "LWrist": "left_wrist",
    "RHip": "right_hip",
    "LHip": "left_hip",
    "RKnee": "right_knee",
    "LKnee": "left_knee",
    "RAnkle": "right_ankle",
    "LAnkle": "left_ankle",
    "RHeel": "right_heel",
    "LHeel": "left_heel",
}

Downloader = Callable[[Path], Path]


def user_cache_dir() -> Path:
    """``$MOCAP_CACHE_DIR``, else ``$XDG_CACHE_HOME/mocap-studio``, else ``~/.cache/mocap-studio``."""
    override = os.environ.get("MOCAP_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mocap-studio"


def _is_take_folder(folder: Path) -> bool:
    return (folder / CALIBRATION_FILE).is_file() and len(sorted((folder / "videos").glob("cam*.mp4"))) >= 2


def pip_download(target: Path) -> Path:
    """Download the Pose2Sim wheel into ``target`` with pip (no dependencies); returns the wheel.

    Raises:
        MocapError: pip failed (its last line of output says why).
    """
    command = [sys.executable, "-m", "pip", "download", "--no-deps", POSE2SIM_REQUIREMENT, "-d", str(target)]
    log.info("fetching the Pose2Sim demo: %s", " ".join(command))
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(target.glob("pose2sim-*.whl"))
    if done.returncode != 0 or not wheels:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise MocapError(
            f"could not fetch the Pose2Sim demo with pip ({lines[-1] if lines else 'no output'}); "
            "put it in ../shared/data/pose2sim_demo or set MOCAP_TEST_DATA"
        )
    return wheels[0]


def fetch_pose2sim_demo(cache: Path, download: Downloader = pip_download) -> Path:
    """The demo take in ``cache/pose2sim-0.10.49/single_person``, downloading and unpacking it once.

    Only the videos and the calibration are kept; the folder appears complete or not at all.

    Raises:
        MocapError: the download failed or the wheel lacks the demo.
    """
    final = cache / "pose2sim-0.10.49" / "single_person"
    if _is_take_folder(final):
        return final
    ensure_folder(final.parent)
    with tempfile.TemporaryDirectory(dir=final.parent, prefix=".fetch-") as scratch:
        wheel = download(Path(scratch))
        unpacked = Path(scratch) / "single_person"
        try:
            with zipfile.ZipFile(wheel) as archive:
                members = [
                    m
                    for m in archive.namelist()
                    if m.startswith(WHEEL_DEMO + "videos/") or m == WHEEL_DEMO + CALIBRATION_FILE.as_posix()
                ]
                for member in members:
                    relative = Path(member[len(WHEEL_DEMO) :])
                    if member.endswith("/") or ".." in relative.parts:
                        continue
                    target = ensure_folder(unpacked / relative.parent) / relative.name
                    with archive.open(member) as source, open(target, "wb") as sink:
                        shutil.copyfileobj(source, sink)
        except (zipfile.BadZipFile, OSError) as exc:
            raise MocapError(f"{wheel.name}: cannot unpack the Pose2Sim wheel ({exc})") from None
        if not _is_take_folder(unpacked):
            raise MocapError(f"{wheel.name}: holds no {WHEEL_DEMO} videos and calibration")
        if final.exists():
            shutil.rmtree(final)
        os.replace(unpacked, final)
    return final


def find_pose2sim_take(*, allow_fetch: bool = True, download: Downloader = pip_download) -> Path:
    """The folder of the single-person take (``videos/cam*.mp4``, ``calibration/Calib.qca.txt``).

    Raises:
        MissingFileError: absent and ``allow_fetch`` is False.
        MocapError: fetching failed.
    """
    shared = shared_data_dir()
    if shared is not None and _is_take_folder(shared / "pose2sim_demo" / "single_person"):
        return shared / "pose2sim_demo" / "single_person"
    cached = user_cache_dir() / "pose2sim-0.10.49" / "single_person"
    if _is_take_folder(cached):
        return cached
    if not allow_fetch:
        raise MissingFileError(
            "the Pose2Sim demo take is neither in the shared data folder nor in the user cache; "
            f"allow fetching it ({POSE2SIM_REQUIREMENT})"
        )
    return fetch_pose2sim_demo(user_cache_dir(), download)


def import_pose2sim_take(folder: Path, session_dir: Path) -> Take:
    """The take inside ``session_dir``, importing videos and calibration the first time."""
    from calibration.importers.qualisys import load_qualisys
    from mocap.session.importing import import_videos

    session = Session.open_or_create(session_dir)
    if session.rig_path is None:
        session.set_calibration(load_qualisys(folder / CALIBRATION_FILE))
    if TAKE_NAME in session.take_names():
        return session.take(TAKE_NAME)
    videos = sorted((folder / "videos").glob("cam*.mp4"))
    return import_videos(session, videos, name=TAKE_NAME)


@dataclass(frozen=True)
class RealDemoSummary:
    """What the real demo reports (also written to ``real_demo_summary.json``)."""

    source: str
    take: str
    cameras: int
    frames: int
    fps: float
    stages: dict[str, str]
    detected_percent: dict[str, float]
    joints_percent: float
    median_reprojection_px: float
    reference_median_distance_m: float | None
    exports: list[str]
    seconds: float


def reference_trc() -> Path | None:
    """Pose2Sim's triangulation of the take in the shared data folder, or None when absent."""
    shared = shared_data_dir()
    path = shared / REFERENCE_TRC if shared is not None else None
    return path if path is not None and path.is_file() else None


def reference_distance(poses: Poses3D, path: Path) -> float | None:
    """Median distance (m) of person 0's joints to a Pose2Sim TRC of the same take, over shared joints.

    Frames are matched by index (the TRC's first row is the take's first frame); None when no
    joint can be compared.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    names = [n for n in lines[3].split("\t")[2:] if n]
    values = np.loadtxt(path, skiprows=5)[:, 2:].reshape(-1, len(names), 3)
    world = np.stack([values[..., 2], values[..., 0], values[..., 1]], axis=-1)  # TRC is Y-up
    frames = min(len(world), poses.num_frames)
    distances = []
    for marker, joint in _TRC_JOINTS.items():
        if marker in names and joint in poses.layout.joint_names:
            ours = poses.xyz[:frames, 0, poses.layout.index(joint)]
            distances.append(np.linalg.norm(ours - world[:frames, names.index(marker)], axis=-1))
    found = np.concatenate(distances) if distances else np.empty(0)
    found = found[np.isfinite(found)]
    return float(np.median(found)) if found.size else None


def _distance(poses: Poses3D) -> float | None:
    trc = reference_trc()
    return reference_distance(poses, trc) if trc is not None else None


def summarize(result: PipelineResult, source: Path) -> RealDemoSummary:
    """The summary of a processed take (see :class:`RealDemoSummary`)."""
    take = result.take
    detected: dict[str, float] = {}
    if result.detections is not None:
        found = np.asarray(result.detections.detected.any(axis=(2, 3)), dtype=bool)
        detected = {n: round(float(found[:, v].mean()) * 100, 1) for v, n in enumerate(result.detections.camera_names)}
    poses = result.poses
    if poses is None:
        raise MocapError(f"{take.root}: the pipeline made no 3D poses")
    error = poses.reprojection_error[np.isfinite(poses.reprojection_error)]
    return RealDemoSummary(
        source=str(source),
        take=str(take.root),
        cameras=len(take.camera_names),
        frames=poses.num_frames,
        fps=poses.fps,
        stages={r.stage: "cached" if r.cached else f"{r.seconds:.1f} s" for r in result.stages},
        detected_percent=detected,
        joints_percent=round(float(poses.valid.mean()) * 100, 1),
        median_reprojection_px=round(float(np.median(error)), 2) if error.size else float("nan"),
        reference_median_distance_m=round(distance, 4) if (distance := _distance(poses)) is not None else None,
        exports=[str(p) for p in result.exports],
        seconds=round(result.seconds, 2),
    )


def real_demo_iter(
    out_dir: str | Path,
    config: PipelineConfig | None = None,
    *,
    allow_fetch: bool = True,
    download: Downloader = pip_download,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, RealDemoSummary]:
    """Find (or fetch) the take, import it under ``out_dir/session``, process it, write the summary.

    Returns:
        The summary; ``out_dir/real_demo_summary.json`` holds the same.

    Raises:
        MocapError subclasses: the take cannot be found or fetched, bad videos, ...
        CancelledError: cancelled.
    """
    out = ensure_folder(out_dir)
    source = find_pose2sim_take(allow_fetch=allow_fetch, download=download)
    yield Progress("import", 0, 1, str(source))
    take = import_pose2sim_take(source, out / "session")
    yield Progress("import", 1, 1)
    result = yield from run_take_iter(take, config or PipelineConfig(), cancel=cancel)
    summary = summarize(result, source)
    write_text_atomic(out / SUMMARY_FILE, json.dumps(asdict(summary), indent=2) + "\n")
    return summary


def format_summary(summary: RealDemoSummary) -> list[str]:
    """Lines for the terminal."""
    lines = [
        f"real take: {summary.source}",
        f"  {summary.cameras} cameras, {summary.frames} frames at {summary.fps:g} fps -> {summary.take}",
        "  stages: " + ", ".join(f"{k} {v}" for k, v in summary.stages.items()),
        "  frames with a person: " + ", ".join(f"{k} {v:g} %" for k, v in summary.detected_percent.items()),
        f"  joints reconstructed: {summary.joints_percent:g} %, median reprojection error "
        f"{summary.median_reprojection_px:.1f} px",
    ]
    if summary.reference_median_distance_m is not None:
        lines.append(
            f"  median distance to Pose2Sim's own triangulation (OpenPose): "
            f"{summary.reference_median_distance_m * 100:.1f} cm"
        )
    lines += [f"  wrote {p}" for p in summary.exports]
    lines.append(f"  done in {summary.seconds:.1f} s")
    return lines
