"""Building a live engine from command-line choices, and its report: shared by ``mocap live`` and
``mocap bench live``.

Sources come from the same specs as ``mocap record`` (:func:`mocap.capture.setup.sources_from_specs`).
The rendered synthetic studio brings its own rig; cameras and files need a calibration (``--rig``,
or the calibration of the ``--record`` session). Detectors: ``blazepose`` (the product, on the
chosen torch device) or ``studio`` (:class:`~mocap.live.studio_detector.StudioDetector`: truth
read from the rendered frames' codes, for the synthetic source only).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from calibration.rig import CameraRig
from mocap.capture.recorder import RecorderConfig
from mocap.capture.setup import SyntheticCapture, sources_from_specs, synthetic_capture
from mocap.capture.sources import CaptureSource
from mocap.detection.protocol import Detector
from mocap.errors import MocapError
from mocap.live.engine import STAGES, LiveConfig, LiveEngine, LiveRecording
from mocap.session.store import SESSION_FILE, Session

DETECTORS = ("blazepose", "studio")


@dataclass(frozen=True)
class LiveOptions:
    """What ``mocap live`` asks for (see its ``--help``)."""

    sources: tuple[str, ...] = ("synthetic",)
    cameras: int = 4
    people: int = 2
    fps: float = 30.0
    size: tuple[int, int] | None = None
    mjpg: bool = False
    seed: int = 0
    detector: str = "blazepose"
    device: str = "cpu"
    fp16: bool = False
    max_people: int | None = None
    rig: Path | None = None
    record: Path | None = None
    take: str | None = None
    container: str = "mkv"
    codec: str = "h264"


def _detector(options: LiveOptions, synthetic: SyntheticCapture | None) -> Detector:
    if options.detector == "studio" and synthetic is not None:
        from mocap.live.studio_detector import StudioDetector

        return StudioDetector(synthetic.renderer, synthetic.sources, seed=options.seed)
    from mocap.detection.registry import create_detector

    max_people = options.max_people or max(1, options.people if synthetic is not None else 2)
    return create_detector(
        "blazepose",
        device=options.device,
        precision="fp16" if options.fp16 else "fp32",
        max_people=max_people,
        redetect_every=0 if max_people == 1 else 10,
    )


def _name_after_rig(sources: list[CaptureSource], rig: CameraRig) -> None:
    """Rename file and device sources after the rig's cameras (``cam01.mp4`` -> ``cam_01``).

    Raises:
        MismatchError: a source matches no camera of the rig, or two match the same one.
    """
    if all(source.name in rig.names for source in sources):
        return
    from mocap.detection.run import match_camera_names

    for source, name in zip(sources, match_camera_names([s.name for s in sources], rig.names), strict=True):
        source.name = name


def build_engine(options: LiveOptions, config: LiveConfig | None = None) -> LiveEngine:
    """A live engine for ``options`` (not started).

    Raises:
        MocapError: bad sources, no calibration for real cameras, an unknown detector, a CUDA
            device that is not there.
        MissingFileError, FileFormatError: a rig or session that cannot be read.
    """
    if options.cameras < 1 or options.people < 0 or options.fps <= 0:
        raise MocapError("--cameras must be >= 1, --people >= 0 and --fps > 0")
    if options.detector not in DETECTORS:
        raise MocapError(f"detector {options.detector!r}: expected one of {', '.join(DETECTORS)}")
    if options.detector == "studio" and tuple(options.sources) != ("synthetic",):
        raise MocapError("--detector studio reads the synthetic studio's frames; use it with --source synthetic")
    if options.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise MocapError(f"--device {options.device}: no CUDA device here; use --device cpu")
    synthetic: SyntheticCapture | None = None
    if tuple(options.sources) == ("synthetic",):
        size = options.size or (640, 480)
        synthetic = synthetic_capture(
            options.cameras, fps=options.fps, size=size, num_people=options.people, seed=options.seed
        )
        sources: list[CaptureSource] = list(synthetic.sources)
        rig: CameraRig | None = synthetic.rig
        label = "synthetic"
        studio = {k: v for k, v in synthetic.config.model_dump(mode="json").items() if v is not None}
    else:
        opened = sources_from_specs(
            options.sources, cameras=options.cameras, fps=options.fps, size=options.size, mjpg=options.mjpg
        )
        sources, rig, label, studio = list(opened.sources), opened.rig, opened.label, None
    record = options.record
    session = Session.open(record) if record is not None and (record / SESSION_FILE).is_file() else None
    if options.rig is not None:
        from calibration.rig_toml import load_rig

        rig = load_rig(options.rig)
    elif rig is None and session is not None and session.rig_path is not None:
        rig = session.load_rig()
    if rig is None:
        raise MocapError("live 3D needs the cameras' calibration: pass --rig RIG.toml or --record a calibrated session")
    _name_after_rig(sources, rig)
    if record is not None and session is None:
        session = Session.create(record)  # only once everything else is known to be usable
    if session is not None and synthetic is not None and session.rig_path is None:
        session.set_calibration(rig)
    recording = None
    if session is not None:
        try:
            writer = RecorderConfig(container=options.container, codec=options.codec)
        except ValidationError:
            raise MocapError(
                f"--container {options.container} --codec {options.codec}: expected mkv, mp4 or avi and h264, "
                "mjpeg or ffv1"
            ) from None
        recording = LiveRecording(session, name=options.take, config=writer, source=label, synthetic=studio)
    detector = _detector(options, synthetic)
    return LiveEngine(sources, rig, detector, config or LiveConfig(fps=options.fps), recording=recording)


def report_lines(engine: LiveEngine) -> list[str]:
    """The summary ``mocap live`` and ``mocap bench live`` print: rate, drops, latency, stages."""
    stats = engine.stats()
    received = engine.received
    dropped = engine.dropped
    share = 100.0 * engine.dropped_fraction
    lines = [
        f"frame sets: received {received}, published {stats.published}, dropped {dropped} ({share:.1f} %)",
        f"rate: {stats.fps:.1f} frame sets/s published",
        f"latency capture -> published (ms): p50 {stats.latency_p50_ms:.1f}  p95 {stats.latency_p95_ms:.1f}  "
        f"p99 {stats.latency_p99_ms:.1f}",
        f"{'stage':12s} {'mean ms':>8s} {'p50 ms':>8s} {'p95 ms':>8s}",
    ]
    summary = engine.stage_summary()
    for stage in STAGES:
        if stage in summary:
            row = summary[stage]
            lines.append(f"{stage:12s} {row.mean_ms:8.1f} {row.p50_ms:8.1f} {row.p95_ms:8.1f}")
    grabber = engine.grabber_stats()
    if grabber is not None:
        skipped = sum(c.source_skipped for c in grabber.cameras)
        lines.append(
            f"capture: {grabber.frame_sets} sets, {grabber.incomplete_sets} incomplete, grabber dropped "
            f"{grabber.dropped_sets}, frames the cameras skipped {skipped}, "
            f"sync error max {grabber.sync_error_max_s * 1000:.1f} ms"
        )
    result = engine.recording_result
    if result is not None:
        lines.append(f"recorded: {result.take.root} ({result.frame_sets} frame sets, {result.status})")
    return lines
