"""Rotated square regions of interest: from alignment points, to crops, and back to pixels.

A region is a square of side ``size`` pixels centred at ``center`` and rotated by ``rotation``
radians (image frame, y down; positive turns +x towards +y). Tensor pixel ``(j, i)`` of an
``S x S`` crop samples the image at::

    corner + R(rotation) @ (j, i) * size / S,   corner = center + R(rotation) @ (-size/2, -size/2)

with image pixel centres at integer coordinates. This is exactly how MediaPipe's CPU
``ImageToTensorCalculator`` warps (``cv::boxPoints`` corners mapped onto ``(0, 0) .. (S, S)`` by
``warpPerspective`` with bilinear sampling), so model outputs in ``[0, 1]`` crop units map back
with ``center + size * R(rotation) @ (u - 0.5, v - 0.5)`` (MediaPipe's ``LandmarkProjection``).
OpenCV's fixed-point warp rounds source positions to 1/32 pixel, weights in 1/1024 and the
result to uint8; :func:`sample_crops` reproduces it bit for bit by default (float ``grid_sample``
crops differ from MediaPipe's on ~7 % of values by one level, which moves the detector's
alignment points by ~0.2 px and some landmarks by a pixel or more).

Alignment (``AlignmentPointsRectsCalculator`` + ``RectTransformationCalculator``): the centre is
the start point, the side ``2 * |end - start| * scale`` and the rotation
``pi/2 - atan2(-(end_y - start_y), end_x - start_x)`` wrapped to [-pi, pi), so the body axis
points up in the crop.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray


def wrap_angle(angle: NDArray[np.float64]) -> NDArray[np.float64]:
    """Angles wrapped to [-pi, pi)."""
    return angle - 2 * math.pi * np.floor((angle + math.pi) / (2 * math.pi))


def rois_from_alignment(
    start_px: NDArray[np.float64], end_px: NDArray[np.float64], scale: float = 1.25
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Regions from alignment points (pixels).

    Args:
        start_px: (R, 2) centre points (mid-hip).
        end_px: (R, 2) scale/rotation points.
        scale: side enlargement (1.25 for the BlazePose body).

    Returns:
        center (R, 2) pixels, size (R,) pixels, rotation (R,) radians.
    """
    start = np.asarray(start_px, dtype=np.float64).reshape(-1, 2)
    end = np.asarray(end_px, dtype=np.float64).reshape(-1, 2)
    delta = end - start
    size = 2.0 * np.hypot(delta[:, 0], delta[:, 1]) * scale
    rotation = wrap_angle(math.pi / 2 - np.arctan2(-delta[:, 1], delta[:, 0]))
    return start.copy(), size, rotation


def roi_from_body(
    body_px: NDArray[np.float64], hips: tuple[int, ...], shoulders: tuple[int, ...], scale: float = 1.25
) -> tuple[NDArray[np.float64], float, float] | None:
    """A region from a whole body's landmarks (J, 2), shaped like the detector's: centred on the
    hip centre, the body axis (hips to shoulders) up, the side ``2 * scale`` times the radius of
    the circle round the hip centre holding every landmark (MediaPipe's alignment "scale point"
    lies on that circle). NaN landmarks are ignored.

    Returns:
        center (2,) pixels, size pixels, rotation radians; None when hips or shoulders are unknown.
    """
    body = np.asarray(body_px, dtype=np.float64)
    hip = body[list(hips)].mean(axis=0)
    up = body[list(shoulders)].mean(axis=0) - hip
    known = body[np.isfinite(body).all(axis=1)]
    length = float(np.hypot(up[0], up[1]))
    if not np.isfinite(hip).all() or not np.isfinite(length) or length < 1e-6:
        return None
    radius = float(np.max(np.linalg.norm(known - hip, axis=1)))
    center, size, rotation = rois_from_alignment(hip[None], (hip + up / length * radius)[None], scale)
    return center[0], float(size[0]), float(rotation[0])


def letterbox_roi(width: int, height: int) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The region a keep-aspect-ratio resize of the whole image samples (square of the long side)."""
    center = np.array([[width / 2.0, height / 2.0]])
    return center, np.array([float(max(width, height))]), np.zeros(1)


def square_tiles(width: int, height: int, min_gain: float = 1.25) -> list[tuple[int, int, int]]:
    """Squares of the image's short side spread along its long side, for a closer look.

    The letterboxed whole image shows the detector everything at ``detector input / long side``;
    a square of the short side shows its part at ``long / short`` times that resolution. The
    ``n = ceil(long / short) + 1`` squares (3 for 9:16 or 16:9) start at one end, finish at the
    other and overlap evenly by ``short - (long - short) / (n - 1)`` pixels (at least
    ``short^2 / long``; 672 of 1088 for a 1088 x 1920 frame), so an upper body (what the detector
    keys on) no larger than that lies whole in one of them.

    Args:
        width, height: image size in pixels.
        min_gain: no tiles when ``long / short`` is below this (they would barely enlarge anything).

    Returns:
        ``(x0, y0, side)`` per tile, whole pixels, inside the image; empty for near-square images.
    """
    short, long = min(width, height), max(width, height)
    if short <= 0 or long < min_gain * short:
        return []
    count = math.ceil(long / short) + 1
    starts = [round(k * (long - short) / (count - 1)) for k in range(count)]
    if width >= height:
        return [(start, 0, short) for start in starts]
    return [(0, start, short) for start in starts]


def clear_of_cut_edges(
    points_px: NDArray[np.float64], tile: tuple[int, int, int], width: int, height: int, margin: float = 0.1
) -> NDArray[np.bool_]:
    """Which detections lie well inside a tile, away from the edges where it cuts the image.

    A tile that cuts through a person shows the detector part of a body (legs alone, say), and
    it still returns alignment points for a whole person, extrapolated past the cut (measured on
    the Pose2Sim take: a bottom tile turned a man's legs into an upside-down "person" scoring
    0.6). An edge that is also the image border cuts nothing.

    Args:
        points_px: (N, K, 2) points of N detections in image pixels.
        tile: ``(x0, y0, side)`` from :func:`square_tiles`.
        width, height: image size.
        margin: fraction of the side a point must keep from a cut edge.

    Returns:
        (N,) True where all K points keep the margin.
    """
    x0, y0, side = tile
    gap = margin * side
    x, y = points_px[..., 0], points_px[..., 1]
    ok = np.ones(x.shape, dtype=bool)
    if x0 > 0:
        ok &= x >= x0 + gap
    if x0 + side < width:
        ok &= x <= x0 + side - gap
    if y0 > 0:
        ok &= y >= y0 + gap
    if y0 + side < height:
        ok &= y <= y0 + side - gap
    return np.all(ok, axis=-1)


def crop_to_image(
    uv: NDArray[np.float64], center: NDArray[np.float64], size: NDArray[np.float64], rotation: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Map points in crop units to image pixels.

    Args:
        uv: (R, K, 2) points, ``(0, 0)`` the crop's first corner and ``(1, 1)`` the opposite one.
        center, size, rotation: (R, 2), (R,), (R,) the regions.

    Returns:
        (R, K, 2) pixels.
    """
    cos, sin = np.cos(rotation)[:, None], np.sin(rotation)[:, None]
    du, dv = uv[..., 0] - 0.5, uv[..., 1] - 0.5
    x = center[:, None, 0] + size[:, None] * (cos * du - sin * dv)
    y = center[:, None, 1] + size[:, None] * (sin * du + cos * dv)
    return np.stack([x, y], axis=-1)


def sampling_positions(
    center: NDArray[np.float64],
    size: NDArray[np.float64],
    rotation: NDArray[np.float64],
    crop: int,
    *,
    device: Any,
) -> Any:
    """Image positions sampled by each crop pixel.

    Args:
        center, size, rotation: (R, 2), (R,), (R,) regions in pixels / radians.
        crop: output side S.
        device: torch device of the result.

    Returns:
        (R, S, S, 2) float64 tensor of ``(x, y)`` pixel positions (pixel centres at integers).
    """
    import torch

    steps = np.arange(crop, dtype=np.float64)
    j, i = np.meshgrid(steps, steps, indexing="xy")  # (S, S): j along x, i along y
    scale = (size / crop)[:, None, None]
    cos, sin = np.cos(rotation)[:, None, None], np.sin(rotation)[:, None, None]
    corner_x = (center[:, 0] + size / 2 * (-np.cos(rotation) + np.sin(rotation)))[:, None, None]
    corner_y = (center[:, 1] + size / 2 * (-np.sin(rotation) - np.cos(rotation)))[:, None, None]
    x = corner_x + scale * (cos * j - sin * i)  # src = corner + R @ (j, i) * scale
    y = corner_y + scale * (sin * j + cos * i)
    return torch.from_numpy(np.stack([x, y], axis=-1)).to(device)


def fixed_point_bilinear(image: Any, positions: Any, padding_mode: str) -> Any:
    """OpenCV's uint8 bilinear warp, bit for bit, gathered straight from a uint8 image.

    Positions are rounded to 1/32 pixel, the four weights are ``(32 - fx)(32 - fy)`` etc. in
    1/1024 units and the result is ``floor((sum + 512) / 1024)`` (exact in float32: sums stay
    below 2^24). Neighbours outside the image are 0 (``"zeros"``) or the nearest edge pixel
    (``"border"``). ``image`` (H, W, 3) uint8 BGR; ``positions`` (N, S, S, 2) float64.

    Returns:
        (N, 3, S, S) float32 RGB values 0..255.
    """
    import torch

    height, width = int(image.shape[0]), int(image.shape[1])
    pixels = image.reshape(height * width, 3)
    fixed = torch.round(positions * 32).long()  # cvRound: half to even, as torch.round
    ix, iy = fixed[..., 0] >> 5, fixed[..., 1] >> 5  # floor division by 32
    fx, fy = (fixed[..., 0] & 31).float(), (fixed[..., 1] & 31).float()
    total = torch.zeros((*ix.shape, 3), dtype=torch.float32, device=image.device)
    for dy, wy in ((0, 32 - fy), (1, fy)):
        ys = iy + dy
        row_inside = (ys >= 0) & (ys < height)
        ys = ys.clamp(0, height - 1) * width
        for dx, wx in ((0, 32 - fx), (1, fx)):
            xs = ix + dx
            weight = wx * wy
            if padding_mode == "zeros":
                weight = weight * (row_inside & (xs >= 0) & (xs < width))
            values = pixels[(ys + xs.clamp(0, width - 1)).reshape(-1)].reshape(total.shape)
            total.addcmul_(values.float(), weight[..., None])
    rgb = torch.floor_((total + 512) / 1024).flip(-1)  # BGR -> RGB
    return rgb.permute(0, 3, 1, 2)


def opencv_bilinear(image: NDArray[np.uint8], positions: NDArray[np.float64], padding_mode: str) -> NDArray[np.uint8]:
    """The same warp by OpenCV itself (CPU): ``warpPerspective`` with the inverse map of each region.

    The region's map is affine: crop pixel ``(j, i)`` samples ``corner + j * step_x + i * step_y``,
    all read off ``positions`` (N, S, S, 2). ``image`` (H, W, 3) uint8 BGR.

    Returns:
        (N, S, S, 3) uint8 BGR crops.
    """
    import cv2

    side = positions.shape[1]
    border = cv2.BORDER_CONSTANT if padding_mode == "zeros" else cv2.BORDER_REPLICATE
    out = np.empty((positions.shape[0], side, side, 3), dtype=np.uint8)
    for k in range(positions.shape[0]):
        corner = positions[k, 0, 0]
        step_x = (positions[k, 0, -1] - corner) / max(side - 1, 1)
        step_y = (positions[k, -1, 0] - corner) / max(side - 1, 1)
        crop_to_source = np.array(
            [[step_x[0], step_y[0], corner[0]], [step_x[1], step_y[1], corner[1]], [0.0, 0.0, 1.0]]
        )
        out[k] = cv2.warpPerspective(
            image, crop_to_source, (side, side), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=border
        )
    return out


def sample_crops(
    images: Any, view_of_roi: NDArray[np.int64], positions: Any, padding_mode: str, *, opencv_exact: bool = True
) -> Any:
    """RGB bilinear crops of several regions from several BGR images, batched per image.

    Args:
        images: list of (H, W, 3) uint8 BGR tensors on the device (one per view; sizes may differ).
        view_of_roi: (R,) index into ``images`` for each region.
        positions: (R, S, S, 2) float64 pixel positions from :func:`sampling_positions`.
        padding_mode: ``"zeros"`` (MediaPipe BORDER_ZERO) or ``"border"`` (BORDER_REPLICATE).
        opencv_exact: reproduce OpenCV's fixed-point uint8 warp (what MediaPipe feeds its
            models): OpenCV itself for images in CPU memory (fastest there), the same
            arithmetic gathered from the uint8 image on other devices; otherwise ``grid_sample``
            on a float copy.

    Returns:
        (R, 3, S, S) float32 tensor of RGB values 0..255, in region order.
    """
    import torch
    import torch.nn.functional as F

    count, side = positions.shape[0], positions.shape[1]
    out = torch.empty((count, 3, side, side), dtype=torch.float32, device=positions.device)
    for view in np.unique(view_of_roi):
        image = images[int(view)]
        rows = torch.from_numpy(np.flatnonzero(view_of_roi == view)).to(positions.device)
        if opencv_exact and image.device.type == "cpu":
            crops = opencv_bilinear(image.numpy(), positions[rows].cpu().numpy(), padding_mode)
            out[rows] = torch.from_numpy(crops).to(out.device).permute(0, 3, 1, 2).flip(1).float()
            continue
        if opencv_exact:
            out[rows] = fixed_point_bilinear(image, positions[rows], padding_mode)
            continue
        height, width = image.shape[0], image.shape[1]
        planar = image.permute(2, 0, 1).flip(0).float()[None]  # (1, 3, H, W) RGB
        scale = torch.tensor([2.0 / width, 2.0 / height], dtype=positions.dtype, device=positions.device)
        grid = ((positions[rows] + 0.5) * scale - 1).float().reshape(1, len(rows) * side, side, 2)
        sampled = F.grid_sample(planar, grid, "bilinear", padding_mode, align_corners=False)  # (1, 3, n*S, S)
        out[rows] = sampled[0].reshape(3, len(rows), side, side).transpose(0, 1)
    return out


def convex_hull(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """(K, 2) corners of the convex hull of (N, 2) finite points, counter-clockwise in the image
    frame as drawn (Andrew's monotone chain); fewer than 3 distinct points come back as they are."""
    unique = np.unique(np.asarray(points, dtype=np.float64).reshape(-1, 2), axis=0)  # sorted by x, then y
    if len(unique) < 3:
        return unique

    def cross(o: NDArray[np.float64], a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
        return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))

    lower: list[NDArray[np.float64]] = []
    upper: list[NDArray[np.float64]] = []
    for point in unique:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], point) <= 0:
            lower.pop()
        lower.append(point)
    for point in unique[::-1]:
        while len(upper) >= 2 and cross(upper[-2], upper[-1], point) <= 0:
            upper.pop()
        upper.append(point)
    return np.array(lower[:-1] + upper[:-1])


def paint_convex(
    image: Any, polygons: list[NDArray[np.float64]], keep: NDArray[np.float64] | None = None, value: int = 128
) -> Any:
    """A copy of ``image`` with convex polygons filled with grey ``value`` (on the image's device).

    The polygons are rasterised by OpenCV (``fillConvexPoly``, corners rounded to whole pixels)
    into a mask of their bounding box only, which then selects the pixels on the device.

    Args:
        image: (H, W, 3) uint8 tensor.
        polygons: (K, 2) pixel corners from :func:`convex_hull` (K >= 3; others are skipped).
        keep: a convex polygon left untouched where it overlaps the painted ones (None: none).
        value: grey level written to all channels.

    Returns:
        (H, W, 3) uint8 tensor.
    """
    import cv2
    import torch

    out = image.clone()
    height, width = int(image.shape[0]), int(image.shape[1])

    def usable(polygon: NDArray[np.float64] | None) -> bool:
        return polygon is not None and len(polygon) >= 3 and bool(np.all(np.isfinite(polygon)))

    for polygon in polygons:
        if not usable(polygon):
            continue
        corners = np.round(polygon).astype(np.int32)
        x0, y0 = max(0, int(corners[:, 0].min())), max(0, int(corners[:, 1].min()))
        x1, y1 = min(width, int(corners[:, 0].max()) + 1), min(height, int(corners[:, 1].max()) + 1)
        if x0 >= x1 or y0 >= y1:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        cv2.fillConvexPoly(mask, corners - np.array([x0, y0], dtype=np.int32), 1)
        if keep is not None and usable(keep):
            cv2.fillConvexPoly(mask, np.round(keep).astype(np.int32) - np.array([x0, y0], dtype=np.int32), 0)
        out[y0:y1, x0:x1][torch.from_numpy(mask.astype(bool)).to(image.device)] = value
    return out
