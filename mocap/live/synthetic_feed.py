"""A live feed from the synthetic studio: people walk in real time, the simulated detector reports
them, the tracker reconstructs them.

The studio's detector model stands in for the neural detector (which cannot run at 30 fps on a
2-core CPU for four cameras), so the feed exercises association, tracking, triangulation
(:class:`~mocap.live.reconstruct.LiveReconstructor`, as the live engine), publication and the GUI
at full rate without hardware or a GPU. :class:`~mocap.live.engine.LiveEngine` is the real thing:
capture sources, the grabber and a detector on images. The thread, the clock (frame ``k`` due at
``start + k / fps``, latest wins when late) and the error reporting are :class:`~mocap.live.paced.PacedFeed`'s.
"""

from __future__ import annotations

import time

import numpy as np

from calibration.rig import CameraRig
from mocap.association.tracker import TrackerConfig
from mocap.filtering.one_euro import OneEuroConfig
from mocap.live.frames import LiveFrame
from mocap.live.paced import PacedFeed
from mocap.live.reconstruct import LiveReconstructor
from mocap.skeleton.layouts import KeypointLayout
from mocap.synthetic.render import SceneRenderer
from mocap.synthetic.studio import StudioConfig, SyntheticWorld


class SyntheticLiveFeed(PacedFeed):
    """Real-time synthetic studio (see the module docstring).

    Args:
        config: the studio (``num_frames`` is ignored: the feed runs until stopped).
        tracker: association thresholds.
        render_images: also draw what every camera sees (people as shaded limbs on a textured
            floor, :mod:`mocap.synthetic.render`) into ``LiveFrame.images``; about 4 ms per
            640x480 view with 3 people on this CPU.
        smoothing: one-euro filter of the published joints (None: raw triangulation).
    """

    def __init__(
        self,
        config: StudioConfig,
        tracker: TrackerConfig | None = None,
        *,
        render_images: bool = False,
        smoothing: OneEuroConfig | None = None,
    ) -> None:
        super().__init__("synthetic-live-feed")
        self._world, self._rng = SyntheticWorld.create(config)
        self._renderer: SceneRenderer | None = None
        if render_images:
            self._renderer = SceneRenderer(self._world.rig, self._world.clip, self._world.placements)
        self._reconstructor = LiveReconstructor(self._world.rig, self._world.layout, tracker, smoothing)

    @property
    def rig(self) -> CameraRig:
        return self._world.rig

    @property
    def layout(self) -> KeypointLayout:
        return self._world.layout

    @property
    def fps(self) -> float:
        return self._world.config.fps

    @property
    def world(self) -> SyntheticWorld:
        return self._world

    def process(self, index: int, capture_time_s: float) -> LiveFrame:
        """Observe and reconstruct frame ``index`` (the work of one tick; public for tests)."""
        world, rig = self._world, self._world.rig
        t0 = time.perf_counter()
        observed = world.observe(np.array([index]), self._rng)
        t1 = time.perf_counter()
        xy, score = observed.xy[0], observed.score[0]  # (V, S, J, 2), (V, S, J)
        people = self._reconstructor.step(index, capture_time_s, xy, score)
        t2 = time.perf_counter()
        images = None
        if self._renderer is not None:
            offsets = world.time_offsets_frames
            images = tuple(self._renderer.render(v, (index + offsets[v]) / self.fps) for v in range(len(rig)))
        t3 = time.perf_counter()
        return LiveFrame(
            index=index,
            capture_time_s=capture_time_s,
            published_time_s=time.monotonic(),
            xy=xy,
            score=score,
            slot_person=people.slot_person,
            person_ids=people.person_ids,
            poses=people.poses,
            images=images,
            stage_ms={"detect (simulated)": 1000 * (t1 - t0), **people.stage_ms, "render": 1000 * (t3 - t2)},
        )

    def make_frame(self, index: int, capture_time_s: float) -> LiveFrame:
        return self.process(index, capture_time_s)
