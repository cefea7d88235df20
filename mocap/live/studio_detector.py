"""A fast stand-in detector for rendered synthetic sources: it reads each frame's code and reports
where the studio's people truly are at that moment.

Every :class:`~mocap.capture.sources.SyntheticSource` draws its tick number into the top edge of
the frame (:func:`mocap.synthetic.render.draw_code`). :class:`StudioDetector` reads it back from
the image (:func:`mocap.synthetic.render.read_code`), turns it into the scene time that camera
showed (:meth:`SyntheticSource.scene_time`), projects the people's true joints at that time
through the camera's lens, and adds Gaussian pixel noise. Joints outside the image are missing;
occlusion is not modelled. Person slots are shuffled per view and frame, as a real detector gives
no cross-view identities.

What it is for: measuring everything of live mode but the neural network at full rate on a CPU
(the soak test), and known-answer tests (the published poses must match the truth). It follows the
:class:`~mocap.detection.protocol.Detector` protocol, so the live engine cannot tell it from
``blazepose``. The answer depends on the image that was captured, not on the engine's clock: a
frame that sat in a queue still reports the moment it showed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mocap.capture.sources import SyntheticSource
from mocap.detection.protocol import Frame, FrameSetDetections
from mocap.errors import MismatchError, ShapeError
from mocap.skeleton import CANONICAL_JOINTS
from mocap.skeleton.layouts import KeypointLayout, get_layout
from mocap.synthetic.render import SceneRenderer, read_code


class StudioDetector:
    """Keypoints of the rendered studio's people, read from frame codes (module docstring).

    Args:
        renderer: the scene the sources draw.
        sources: the synthetic sources, in the order of the views the detector will be given.
        layout: keypoint layout name of the output.
        noise_px: standard deviation of the pixel noise per coordinate.
        score: the score of every reported keypoint.
        seed: seed of the noise and of the slot shuffling.
    """

    name = "studio"
    needs_images = True

    def __init__(
        self,
        renderer: SceneRenderer,
        sources: Sequence[SyntheticSource],
        *,
        layout: str = "coco17",
        noise_px: float = 1.0,
        score: float = 0.9,
        seed: int = 0,
    ) -> None:
        if not sources:
            raise MismatchError("the studio detector needs the synthetic sources it reads")
        if noise_px < 0:
            raise ValueError(f"noise_px must be >= 0, got {noise_px}")
        self.layout: KeypointLayout = get_layout(layout)
        self.renderer = renderer
        self.sources = tuple(sources)
        self.noise_px = noise_px
        self.score = float(score)
        self._joints = np.array([CANONICAL_JOINTS.index(n) for n in self.layout.joint_names])
        self._seed = seed
        self._rng = np.random.default_rng(seed)

    def reset(self, camera_names: Sequence[str]) -> None:
        """Check the views are the sources' cameras (in order) and restart the noise."""
        names = tuple(s.name for s in self.sources)
        if tuple(camera_names) != names:
            raise MismatchError(f"views {', '.join(camera_names)} are not the studio's cameras {', '.join(names)}")
        self._rng = np.random.default_rng(self._seed)

    def truth(self, view: int, tick: int) -> np.ndarray:
        """True joints (P, J, 3), metres, world, in the scene camera ``view`` showed at ``tick``."""
        return self.renderer.points_at(self.sources[view].scene_time(tick))[:, self._joints]

    def detect(self, images: Sequence[Frame | None], frame_index: int) -> FrameSetDetections:
        """Keypoints of one frame set; a view whose image is None reports nobody.

        Raises:
            ShapeError: the number of images is not the number of sources.
        """
        if len(images) != len(self.sources):
            raise ShapeError("images", f"{len(self.sources)} views", f"{len(images)}")
        people, joints = len(self.renderer.placements), len(self._joints)
        xy = np.full((len(images), people, joints, 2), np.nan, dtype=np.float32)
        score = np.zeros((len(images), people, joints), dtype=np.float32)
        for view, image in enumerate(images):
            if image is None or people == 0:
                continue
            source = self.sources[view]
            camera = self.renderer.rig.cameras[source.view]
            pixels = camera.project(self.truth(view, read_code(image)))  # (P, J, 2)
            pixels = pixels + self._rng.normal(0.0, self.noise_px, pixels.shape) if self.noise_px else pixels
            inside = camera.in_image(pixels) & np.isfinite(pixels).all(axis=-1)
            order = self._rng.permutation(people)
            xy[view] = np.where(inside[..., None], pixels, np.nan)[order]
            score[view] = np.where(inside, self.score, 0.0)[order]
        return FrameSetDetections(xy, score)
