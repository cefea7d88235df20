"""The demo session of ``mocap gui --demo``: a session on disk holding one processed synthetic take.

:func:`build_demo_session` (a progress generator, run in a job) creates a session whose
calibration is the synthetic studio's exact rig and one take, ``demo_001``, recorded the way the
studio stores takes: per camera a video rendered by :class:`~mocap.synthetic.render.SceneRenderer`
(H.264 Matroska through :class:`~mocap.capture.video.VideoWriter`) and its timestamp file, and
``take.toml`` with the studio config. The take is then processed: the studio's simulated detector
gives the 2D keypoints (the neural detector is too slow for a demo on a CPU), the association
stage reconstructs the people, and the results land in ``derived/reconstruct/`` with a stage
manifest, as every derived file records what made it.

The window shows the live studio next to it (:func:`ui.live_sources.demo_feed`, in a child process).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path

from calibration.files import ensure_folder
from calibration.progress import CancelToken, Progress, check_cancelled
from mocap.synthetic.studio import StudioConfig
from ui.controllers.session import SessionSummary, summarize_session
from ui.live_sources import DEMO_LIVE_STUDIO
from ui.processing import STAGE, write_reconstruction

#: The demo studio (the live one's: 4 cameras at 640x480, 3 people, detector noise and misses), 5 s.
DEMO_STUDIO = DEMO_LIVE_STUDIO.model_copy(update={"num_frames": 150})
DEMO_TAKE = "demo_001"


def build_demo_session(
    root: str | Path, config: StudioConfig = DEMO_STUDIO, cancel: CancelToken | None = None
) -> Generator[Progress, None, SessionSummary]:
    """Create the demo session at ``root`` (see the module docstring).

    Raises:
        MocapError: ``root`` holds a session already.
        OutputPathError: ``root`` cannot be written.
        CancelledError: when ``cancel`` is set (the take is left with status ``recording``
            and is recovered as ``interrupted`` when opened).
    """
    from mocap.association.associate import associate_take_iter
    from mocap.capture.video import VideoWriter
    from mocap.session.schema import CameraEntry
    from mocap.session.store import Session
    from mocap.session.timestamps import TimestampWriter
    from mocap.synthetic.render import SceneRenderer
    from mocap.synthetic.studio import generate_take

    started = time.perf_counter()
    yield Progress("making the demo session", 0, None, "generating the synthetic take")
    session = Session.create(root, "demo")
    take = generate_take(config)
    session.set_calibration(take.rig)
    width, height = take.rig.cameras[0].image_size
    entries = [
        CameraEntry(name=name, video=f"{name}.mkv", timestamps=f"{name}.timestamps.csv", size=(width, height))
        for name in take.rig.names
    ]
    synthetic = {k: v for k, v in config.model_dump(mode="json").items() if v is not None}
    stored = session.new_take(entries, config.fps, name=DEMO_TAKE, source="synthetic", synthetic=synthetic)
    renderer = SceneRenderer.from_take_parts(take.rig, take.motion_source, take.placements)
    frames = config.num_frames
    writers = [VideoWriter(stored.root / e.video, e.size, config.fps) for e in entries]
    stamps = [TimestampWriter(stored.root / e.timestamps) for e in entries]
    try:
        for t in range(frames):
            check_cancelled(cancel)
            for v, (writer, stamp) in enumerate(zip(writers, stamps, strict=True)):
                writer.write(renderer.render(v, (t + float(take.time_offsets_frames[v])) / config.fps))
                stamp.write(t, t / config.fps)
            yield Progress("rendering the demo take", t + 1, frames)
    finally:
        for writer in writers:
            writer.close()
        for stamp in stamps:
            stamp.close()
    stored.update(
        status="complete",
        frame_sets=frames,
        duration_s=frames / config.fps,
        cameras=[e.model_copy(update={"frames": frames}) for e in entries],
    )
    result = yield from associate_take_iter(take.rig, take.detections, cancel=cancel)
    derived = ensure_folder(stored.derived_dir / STAGE)
    stage_config = {"detector": "synthetic studio (simulated)", "association": "default", "studio": synthetic}
    detections_file = take.detections.save(derived / "keypoints2d.npz")
    write_reconstruction(stored.root, result.poses, result.slot_person, stage_config, started, (detections_file,))
    return summarize_session(root)
