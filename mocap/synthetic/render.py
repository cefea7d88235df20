"""The synthetic studio drawn as images: people as shaded limbs on a textured floor.

The rendered source of the capture layer (and of the GUI without hardware). A
:class:`SceneRenderer` holds a rig and the people of a synthetic take and draws what camera ``v``
sees at any time ``t`` (seconds), BGR ``uint8`` ``(height, width, 3)`` as OpenCV and the video
readers deliver frames:

* **Floor and walls** (static, computed once per camera): every pixel is un-distorted exactly
  (:meth:`calibration.camera.Camera.undistort_points`), turned into a world ray and intersected
  with the floor ``z = 0``: 0.5 m grey tiles with darker grout lines, the world X axis red and Y
  green from the origin, fading with distance; rays that miss the floor see a wall gradient.
* **People** (per frame): every capsule of :data:`mocap.synthetic.body.CAPSULES` (torso, head,
  limbs) placed on the person's canonical keypoints, endpoints projected through the lens, drawn
  far-to-near (painter's algorithm) as a cylinder: a dark rim, a lit body and a highlight on the
  side facing the light, in the person's own colour; a soft shadow on the floor below.
* **Frame code** (optional): the frame's tick number as 24 black/white blocks along the top
  edge, so a test can read back which moment a decoded frame shows, through any codec.

Limb outlines are straight between projected endpoints (lens bending along one limb is below a
pixel for the mild lenses of the studio); endpoints themselves are exact. Drawing costs about
2 ms per 640x480 frame and person on this CPU (``mocap bench capture`` measures it).
"""

from __future__ import annotations

import colorsys
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calibration.camera import Camera
from calibration.rig import CameraRig
from mocap.synthetic.body import REFERENCE_HEIGHT_M, capsule_weights
from mocap.synthetic.motion import MotionClip, Placement, load_clip, place

#: Bits of the frame code drawn along the top edge.
CODE_BITS = 24
#: Side of one frame-code block, pixels.
CODE_BLOCK_PX = 8

_LIGHT_WORLD = np.array([0.35, -0.45, 0.82]) / np.linalg.norm([0.35, -0.45, 0.82])
_TILE_M = 0.5
_NEAR_M = 0.1


def person_colour(index: int) -> tuple[int, int, int]:
    """A distinct, saturated BGR colour for person ``index``."""
    hue = (0.08 + 0.618034 * index) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.65, 0.9)
    return int(b * 255), int(g * 255), int(r * 255)


def floor_image(camera: Camera) -> NDArray[np.uint8]:
    """The static background of ``camera``: textured floor and walls, BGR (H, W, 3)."""
    import cv2

    width, height = camera.image_size
    # exact un-distortion on every other pixel, bilinear in between (the map is smooth)
    u, v = np.meshgrid(np.arange(0, width + 1, 2, dtype=np.float64), np.arange(0, height + 1, 2, dtype=np.float64))
    coarse = camera.undistort_points(np.stack([u, v], axis=-1), normalized=True).astype(np.float32)
    step = np.float32(0.5)
    map_x, map_y = np.meshgrid(np.arange(width, dtype=np.float32) * step, np.arange(height, dtype=np.float32) * step)
    normalized = np.stack(
        [cv2.remap(coarse[..., c], map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) for c in (0, 1)],
        axis=-1,
    ).astype(np.float64)  # (H, W, 2)
    rays_camera = np.concatenate([normalized, np.ones((height, width, 1))], axis=-1)
    rays_world = rays_camera @ camera.rotation  # R.T @ ray for every pixel
    centre = camera.center_world
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = -centre[2] / rays_world[..., 2]
    hits = np.isfinite(depth) & (depth > 0) & np.all(np.isfinite(normalized), axis=-1)
    floor_xy = centre[:2] + np.where(hits, depth, 0.0)[..., None] * rays_world[..., :2]
    distance = np.where(hits, np.linalg.norm(floor_xy - centre[:2], axis=-1), np.inf)

    # tiles: two greys, grout lines 2 cm wide, a faint per-tile variation
    tile = np.floor(floor_xy / _TILE_M).astype(np.int64)
    checker = (tile[..., 0] + tile[..., 1]) % 2
    variation = ((tile[..., 0] * 73856093) ^ (tile[..., 1] * 19349663)) % 17 / 17.0
    base = 150.0 + 25.0 * checker + 10.0 * variation
    within = np.mod(floor_xy, _TILE_M)
    grout = np.any((within < 0.01) | (within > _TILE_M - 0.01), axis=-1)
    base = np.where(grout, 95.0, base)
    fog = np.clip(1.0 - (distance - 4.0) / 20.0, 0.35, 1.0)
    floor = np.stack([base * 0.95, base, base * 1.05], axis=-1) * fog[..., None] + (1 - fog[..., None]) * 170.0

    # world axes on the floor: X red, Y green, 1.5 m long, 3 cm wide
    x_axis = (np.abs(floor_xy[..., 1]) < 0.015) & (floor_xy[..., 0] > 0) & (floor_xy[..., 0] < 1.5)
    y_axis = (np.abs(floor_xy[..., 0]) < 0.015) & (floor_xy[..., 1] > 0) & (floor_xy[..., 1] < 1.5)
    floor[x_axis] = (40.0, 40.0, 210.0)
    floor[y_axis] = (40.0, 180.0, 40.0)

    # walls: a vertical gradient by the ray's elevation
    elevation = np.arctan2(rays_world[..., 2], np.linalg.norm(rays_world[..., :2], axis=-1))
    wall_level = np.clip(190.0 + 60.0 * elevation, 120.0, 235.0)
    wall = np.stack([wall_level * 1.05, wall_level, wall_level * 0.92], axis=-1)
    image = np.where((hits & (distance < 60.0))[..., None], floor, wall)
    return np.clip(image, 0, 255).astype(np.uint8)


class SceneRenderer:
    """Draws the people of a synthetic take into the cameras of its rig.

    Args:
        rig: the cameras (their image sizes are the frame sizes).
        clip: the motion every person plays.
        placements: one per person (phase, yaw, offset, scale).
        colours: BGR colour per person (default: :func:`person_colour`).

    Backgrounds are computed on first use per camera and kept; rendering is thread-safe for
    different views (each call allocates its own frame).
    """

    def __init__(
        self,
        rig: CameraRig,
        clip: MotionClip,
        placements: tuple[Placement, ...],
        colours: tuple[tuple[int, int, int], ...] | None = None,
    ) -> None:
        self.rig = rig
        self.clip = clip
        self.placements = tuple(placements)
        self.colours = colours or tuple(person_colour(i) for i in range(len(self.placements)))
        self._backgrounds: list[NDArray[np.uint8] | None] = [None] * len(rig)
        self._weights_a, self._weights_b, self._radii = capsule_weights()
        self._scales = np.array([p.scale * clip.height_m / REFERENCE_HEIGHT_M for p in self.placements])

    @classmethod
    def from_take_parts(cls, rig: CameraRig, motion_source: str, placements: tuple[Placement, ...]) -> SceneRenderer:
        """A renderer for the people of a :class:`~mocap.synthetic.studio.SyntheticTake`.

        Args:
            rig: the take's rig.
            motion_source: ``take.motion_source`` (a BVH path, or ``"procedural gait"``).
            placements: ``take.placements``.
        """
        clip = load_clip(None if motion_source == "procedural gait" else motion_source)
        return cls(rig, clip, tuple(placements))

    def background(self, view: int) -> NDArray[np.uint8]:
        """The static floor and walls of camera ``view`` (computed on first use, then kept)."""
        cached = self._backgrounds[view]
        if cached is None:
            cached = floor_image(self.rig.cameras[view])
            cached.setflags(write=False)
            self._backgrounds[view] = cached
        return cached

    def points_at(self, time_s: float) -> NDArray[np.float64]:
        """Canonical keypoints of every person at ``time_s``: (P, len(CANONICAL_JOINTS), 3), metres."""
        times = np.array([time_s])
        if not self.placements:
            return np.zeros((0, 0, 3))
        return np.stack([place(self.clip, p, times)[0] for p in self.placements])

    def _capsules(self, points: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
        """Capsule ends (P, K, 3) x 2 and radii (P, K) in metres."""
        ends_a = np.einsum("kj,pjc->pkc", self._weights_a, points)
        ends_b = np.einsum("kj,pjc->pkc", self._weights_b, points)
        return ends_a, ends_b, self._scales[:, None] * self._radii[None, :]

    def render(self, view: int, time_s: float, *, code: int | None = None) -> NDArray[np.uint8]:
        """What camera ``view`` sees at ``time_s`` seconds of take time.

        Args:
            view: camera index in the rig.
            time_s: take time (the motion loops, any value works).
            code: a frame number (0 <= code < 2**24) to draw as the frame code, or None.

        Returns:
            (height, width, 3) BGR uint8, a new array.
        """
        import cv2

        camera = self.rig.cameras[view]
        image = self.background(view).copy()
        if self.placements:
            ends_a, ends_b, radii = self._capsules(self.points_at(time_s))
            self._draw_shadows(cv2, image, camera, ends_a, ends_b, radii)
            self._draw_people(cv2, image, camera, ends_a, ends_b, radii)
        if code is not None:
            draw_code(image, code)
        return image

    def _draw_shadows(
        self,
        cv2: Any,
        image: NDArray[np.uint8],
        camera: Camera,
        ends_a: NDArray[np.float64],
        ends_b: NDArray[np.float64],
        radii: NDArray[np.float64],
    ) -> None:
        # shadows fall straight down (light from above): the capsules flattened onto the floor
        flat_a = ends_a.copy()
        flat_b = ends_b.copy()
        flat_a[..., 2] = 0.0
        flat_b[..., 2] = 0.0
        pa, pb, radius_px = _to_pixels(camera, flat_a, flat_b, radii * 1.1)
        drawn = np.flatnonzero(np.isfinite(radius_px))
        for a, b, width in zip(_points(pa[drawn]), _points(pb[drawn]), _widths(2 * radius_px[drawn]), strict=True):
            cv2.line(image, a, b, (80, 84, 88), width, cv2.LINE_8)

    def _draw_people(
        self,
        cv2: Any,
        image: NDArray[np.uint8],
        camera: Camera,
        ends_a: NDArray[np.float64],
        ends_b: NDArray[np.float64],
        radii: NDArray[np.float64],
    ) -> None:
        num_capsules = radii.shape[1]
        pa, pb, radius_px = _to_pixels(camera, ends_a, ends_b, radii)
        depth = camera.world_to_camera(0.5 * (ends_a + ends_b).reshape(-1, 3))[:, 2]
        axis = (ends_b - ends_a).reshape(-1, 3)
        axis /= np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-9)
        # Lambert on a cylinder: the best-lit normal is the light's part orthogonal to the axis
        across = np.sqrt(np.clip(1.0 - (axis @ _LIGHT_WORLD) ** 2, 0.0, 1.0))
        light_camera = camera.rotation @ _LIGHT_WORLD
        towards_light = light_camera[:2] / max(float(np.linalg.norm(light_camera[:2])), 1e-9)
        # every colour, end point and width of the frame at once, as Python ints for OpenCV
        # (per-capsule numpy calls cost more than the drawing itself)
        colour = np.array(self.colours, dtype=np.float64)[np.arange(len(radius_px)) // num_capsules]  # (N, 3)
        lit = (0.45 + 0.55 * across)[:, None]
        rim, main, high = (
            np.clip(c, 0, 255).astype(int).tolist() for c in (colour * 0.35, colour * lit, colour * lit * 0.6 + 110)
        )
        radius = np.nan_to_num(radius_px, nan=0.0)
        ends = [(_points(pa), _points(pb), _widths(2 * radius))]
        for offset, width in ((0.3, 1.3), (0.55, 0.4)):
            shift = towards_light[None, :] * (offset * radius)[:, None]
            ends.append((_points(pa + shift), _points(pb + shift), _widths(width * radius)))
        (rim_a, rim_b, rim_w), (main_a, main_b, main_w), (high_a, high_b, high_w) = ends
        for i in np.argsort(-depth).tolist():
            r = float(radius_px[i])
            if not np.isfinite(r) or r < 0.5:
                continue
            cv2.line(image, rim_a[i], rim_b[i], rim[i], rim_w[i], cv2.LINE_AA)
            if r < 2.0:
                continue
            cv2.line(image, main_a[i], main_b[i], main[i], main_w[i], cv2.LINE_8)
            cv2.line(image, high_a[i], high_b[i], high[i], high_w[i], cv2.LINE_8)


def _points(pixels: NDArray[np.float64]) -> list[tuple[int, int]]:
    """(N, 2) pixels rounded to OpenCV points."""
    return [(x, y) for x, y in np.rint(pixels).astype(int).tolist()]


def _widths(pixels: NDArray[np.float64]) -> list[int]:
    """(N,) line widths in whole pixels, at least 1."""
    return np.maximum(1, np.rint(pixels).astype(int)).tolist()


def _to_pixels(
    camera: Camera, ends_a: NDArray[np.float64], ends_b: NDArray[np.float64], radii: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Projected capsule ends (N, 2) x 2 and radii in pixels (N,), NaN radius where not drawable.

    A capsule is not drawn when an end is closer than 10 cm to the camera plane or projects far
    outside the image (where the lens model no longer holds).
    """
    a = ends_a.reshape(-1, 3)
    b = ends_b.reshape(-1, 3)
    za = camera.world_to_camera(a)[:, 2]
    zb = camera.world_to_camera(b)[:, 2]
    pixels = camera.project(np.concatenate([a, b]))
    pa, pb = pixels[: len(a)], pixels[len(a) :]
    limit = 4.0 * max(camera.image_size)
    with np.errstate(invalid="ignore", divide="ignore"):
        radius_px = float(camera.matrix[0, 0]) * radii.ravel() / (0.5 * (za + zb))
        ok = (za > _NEAR_M) & (zb > _NEAR_M)
        ok &= np.all(np.abs(pa) < limit, axis=1) & np.all(np.abs(pb) < limit, axis=1)
    return np.where(ok[:, None], pa, 0.0), np.where(ok[:, None], pb, 0.0), np.where(ok, radius_px, np.nan)


def draw_code(image: NDArray[np.uint8], code: int) -> None:
    """Draw ``code`` (0 <= code < 2**24) as black/white blocks along the top-left edge, in place."""
    if not 0 <= code < 2**CODE_BITS:
        raise ValueError(f"frame code {code} outside 0..{2**CODE_BITS - 1}")
    for bit in range(CODE_BITS):
        x = bit * CODE_BLOCK_PX
        image[:CODE_BLOCK_PX, x : x + CODE_BLOCK_PX] = 255 if (code >> bit) & 1 else 0


def read_code(image: NDArray[np.uint8]) -> int:
    """The frame code drawn by :func:`draw_code`, read back from a (possibly compressed) frame."""
    gray = image[:CODE_BLOCK_PX, : CODE_BITS * CODE_BLOCK_PX].astype(np.float64)
    if gray.ndim == 3:
        gray = gray.mean(axis=-1)
    inner = gray[2:-2].reshape(CODE_BLOCK_PX - 4, CODE_BITS, CODE_BLOCK_PX)[:, :, 2:-2]
    bits = inner.mean(axis=(0, 2)) > 127.5
    return int(sum(1 << i for i, on in enumerate(bits) if on))
