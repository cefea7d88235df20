"""Virtual camera rigs: rings and domes of cameras with realistic intrinsics and lenses.

Cameras sit outside the capture volume and look at its centre with a little aim and roll
jitter, as hand-mounted studio cameras do. Each camera's focal length is chosen so that the
capture volume (a cylinder around the people's paths) fills the image with a 5 % margin; the
principal point is off-centre by up to 1 % of the image size; the lens has OpenCV distortion
drawn per camera from a preset (``none``, ``mild``: typical machine-vision lens, ``strong``:
wide-angle action camera) and redrawn until it stays one-to-one 30 % beyond the image corners.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from calibration.camera import Camera
from calibration.distortion import max_monotonic_radius
from calibration.rig import CameraRig
from calibration.rotations import look_at, rodrigues_to_matrix

Distortion = Literal["none", "mild", "strong"]

#: Resolutions used by ``mixed`` rigs, cycled in camera order: landscape HD, 720p, portrait, VGA.
MIXED_RESOLUTIONS: tuple[tuple[int, int], ...] = ((1920, 1080), (1280, 720), (1088, 1920), (640, 480))


def draw_distortion(level: Distortion, rng: np.random.Generator, corner_radius: float) -> NDArray[np.float64]:
    """OpenCV coefficients (k1, k2, p1, p2, k3) for a lens preset, invertible past the corners.

    Args:
        level: ``none`` (empty), ``mild`` or ``strong``.
        rng: random source.
        corner_radius: normalized radius of the image corners; the model must stay one-to-one
            up to 1.3 x this radius.
    """
    if level == "none":
        return np.zeros(0)
    for _ in range(1000):
        if level == "mild":
            k1, k2, k3 = rng.uniform(-0.12, 0.02), rng.uniform(-0.02, 0.05), rng.uniform(-0.01, 0.01)
            p1, p2 = rng.normal(0, 3e-4, 2)
        else:
            k1, k2, k3 = rng.uniform(-0.35, -0.15), rng.uniform(0.05, 0.15), rng.uniform(-0.03, 0.0)
            p1, p2 = rng.normal(0, 1e-3, 2)
        coefficients = np.array([k1, k2, p1, p2, k3])
        if max_monotonic_radius(coefficients, limit=2.0 * corner_radius) >= 1.3 * corner_radius:
            return coefficients
    raise RuntimeError(f"no invertible {level} lens found for corner radius {corner_radius:.2f}")


def _volume_points(radius_m: float, height_m: float, centre_xy: NDArray[np.float64]) -> NDArray[np.float64]:
    angles = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    ring = np.stack([radius_m * np.cos(angles), radius_m * np.sin(angles)], axis=-1) + centre_xy
    bottom = np.concatenate([ring, np.zeros((48, 1))], axis=1)
    top = np.concatenate([ring, np.full((48, 1), height_m)], axis=1)
    return np.concatenate([bottom, top])


def _camera(
    name: str,
    eye: NDArray[np.float64],
    target: NDArray[np.float64],
    size: tuple[int, int],
    volume: NDArray[np.float64],
    distortion: Distortion,
    rng: np.random.Generator,
) -> Camera:
    rotation, translation = look_at(eye, target)
    roll = rodrigues_to_matrix(np.array([0.0, 0.0, rng.normal(0.0, np.radians(2.0))]))
    rotation = roll @ rotation  # roll about the optical axis (camera z)
    translation = roll @ translation
    width, height = size
    principal = np.array([width / 2, height / 2]) + rng.uniform(-0.01, 0.01, 2) * np.array(size)
    camera_points = volume @ rotation.T + translation
    normalized = camera_points[:, :2] / camera_points[:, 2:3]
    # focal length that fits the volume with a 5 % margin on the tighter side
    room = np.minimum(principal, np.array(size) - principal) * 0.95
    focal = float(np.min(room / np.max(np.abs(normalized), axis=0)))
    aspect = 1.0 + rng.normal(0.0, 1e-3)
    matrix = np.array([[focal, 0.0, principal[0]], [0.0, focal * aspect, principal[1]], [0.0, 0.0, 1.0]])
    corner = float(np.hypot(width, height) / 2 / focal)
    coefficients = draw_distortion(distortion, rng, corner)
    return Camera.from_rotation_matrix(name, size, matrix, coefficients, rotation, translation)


def camera_names(num_cameras: int) -> tuple[str, ...]:
    """``cam_1 .. cam_N``: deliberately not zero-padded, so string sorting would put cam_10 first."""
    return tuple(f"cam_{i + 1}" for i in range(num_cameras))


def make_rig(
    num_cameras: int,
    rng: np.random.Generator,
    *,
    arrangement: Literal["ring", "dome"] = "ring",
    distance_m: float = 7.0,
    height_m: float = 2.3,
    volume_radius_m: float = 4.0,
    volume_height_m: float = 2.0,
    resolution: tuple[int, int] | Literal["mixed"] = (1920, 1080),
    distortion: Distortion = "mild",
) -> CameraRig:
    """A rig of cameras around the origin looking at the capture volume.

    Args:
        num_cameras: how many cameras (>= 1).
        rng: random source (jitter of positions, aim, lenses).
        arrangement: ``ring`` (one height, evenly spaced with +-5 deg jitter) or ``dome`` (a
            spiral over elevations 10-55 deg, like cameras on a truss dome).
        distance_m: horizontal distance from the centre of the ring.
        height_m: camera height for a ring.
        volume_radius_m, volume_height_m: the cylinder that must fit in every image.
        resolution: ``(width, height)`` for every camera, or ``"mixed"`` (:data:`MIXED_RESOLUTIONS`).
        distortion: lens preset.
    """
    if num_cameras < 1:
        raise ValueError("a rig needs at least one camera")
    centre = np.zeros(2)
    volume = _volume_points(volume_radius_m, volume_height_m, centre)
    cameras = []
    for i, name in enumerate(camera_names(num_cameras)):
        azimuth = 2 * np.pi * i / num_cameras + np.radians(rng.uniform(-5, 5))
        if arrangement == "ring":
            elevation_height = height_m + rng.uniform(-0.2, 0.2)
            horizontal = distance_m * rng.uniform(0.95, 1.05)
        else:
            golden = np.pi * (3 - np.sqrt(5))
            azimuth = i * golden + np.radians(rng.uniform(-3, 3))
            elevation = np.radians(10 + 45 * (i + 0.5) / num_cameras)
            horizontal = distance_m * np.cos(elevation)
            elevation_height = 1.0 + distance_m * np.sin(elevation)
        eye = np.array([horizontal * np.cos(azimuth), horizontal * np.sin(azimuth), elevation_height])
        target = np.array([*rng.normal(0.0, 0.15, 2), 1.0 + rng.normal(0.0, 0.1)])
        size = MIXED_RESOLUTIONS[i % len(MIXED_RESOLUTIONS)] if resolution == "mixed" else tuple(resolution)
        cameras.append(_camera(name, eye, target, size, volume, distortion, rng))  # type: ignore[arg-type]
    return CameraRig(tuple(cameras))
