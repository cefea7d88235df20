"""What the live view can show, each run in a child process (:class:`~ui.live_process.ProcessFeed`).
No Qt: the child imports this module to make its feed.

* :func:`demo_feed`: the synthetic studio of ``mocap gui --demo`` (4 cameras at 640x480, 3 people,
  detector noise and misses), rendering what every camera sees and reconstructing the people
  (association, tracking, triangulation) in the child; the GUI receives the images, the 2D
  keypoints and the 3D people of each frame set.
* :func:`engine_feed`: the live engine of :mod:`mocap.live` (capture threads, detection, tracking,
  triangulation, smoothing) in the child.

The functions the child calls (:func:`synthetic_studio`, :func:`live_engine`) are module-level, so
that ``functools.partial`` of them pickles.
"""

from __future__ import annotations

import functools

from mocap.live.frames import LiveFeed
from mocap.synthetic.studio import StudioConfig
from ui.live_process import ProcessFeed

#: The live demo studio: 4 cameras at 640x480, 3 people at 30 fps, detector noise and misses.
DEMO_LIVE_STUDIO = StudioConfig(
    seed=7, num_cameras=4, resolution=(640, 480), num_people=3, noise_px=1.5, missed_rate=0.03, fps=30.0
)


def synthetic_studio(config: StudioConfig = DEMO_LIVE_STUDIO, render_images: bool = True) -> LiveFeed:
    """The synthetic studio's live feed, made where it runs (the child process)."""
    from mocap.live.synthetic_feed import SyntheticLiveFeed

    return SyntheticLiveFeed(config, render_images=render_images)


def live_engine(sources: tuple[str, ...] = ("synthetic",), detector: str = "studio") -> LiveFeed:
    """The live engine of :mod:`mocap.live`, made where it runs (the child process).

    The default runs it on the rendered synthetic studio (4 cameras at 640x480, 3 people) with the
    studio detector (keypoints read from the rendered frames): the whole capture path at full rate
    on a CPU. ``sources=("device:0", ...)`` with ``detector="blazepose"`` runs it on cameras.

    Raises:
        MocapError: sources that cannot be opened, no calibration for cameras (from
            :func:`mocap.live.setup.build_engine`).
    """
    from mocap.live.settings import LiveConfig
    from mocap.live.setup import LiveOptions, build_engine

    options = LiveOptions(sources=sources, cameras=4, people=3, fps=30.0, size=(640, 480), detector=detector)
    return build_engine(options, LiveConfig(fps=30.0, publish_images=True))


def demo_feed() -> LiveFeed:
    """The demo studio (:data:`DEMO_LIVE_STUDIO`) in a child process."""
    return ProcessFeed(functools.partial(synthetic_studio, DEMO_LIVE_STUDIO, True))


def engine_feed(sources: tuple[str, ...] = ("synthetic",), detector: str = "studio") -> LiveFeed:
    """The live engine (:func:`live_engine`) in a child process.

    Raises:
        LiveError: the engine could not be made (the child's message, e.g. a camera that does
            not open).
    """
    return ProcessFeed(functools.partial(live_engine, tuple(sources), detector))
