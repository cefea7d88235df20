"""The BlazePose landmark model's outputs decoded into landmarks in crop units.

Facts from MediaPipe 0.10.14's ``TensorsToPoseLandmarksAndSegmentation`` graph:

* ``Identity`` (R, 195) holds 39 landmarks x ``(x, y, z, visibility, presence)``; x and y are in
  256-pixel crop units, visibility and presence are logits (sigmoid). Landmarks 0..32 are the
  BlazePose-33 body, 33 and 34 the auxiliary alignment points (hip centre and scale point) that
  give the next frame's region, 35..38 unused here.
* ``Identity_1`` (R, 1) is the pose presence (already a probability); a pose is kept when >= 0.5.
* ``Identity_3`` (R, 64, 64, 39) heatmap logits refine x and y (``RefineLandmarksFromHeatmap``,
  kernel 7): in the 7x7 window around ``trunc(x * 64), trunc(y * 64)`` (clipped to the map, i.e.
  a zero border), the sigmoid-weighted mean cell replaces the landmark when the window's largest
  sigmoid is >= 0.5. Like MediaPipe, a landmark is skipped when its column is outside the map or
  its row is negative (rows past the bottom are not skipped: MediaPipe compares the column there).
"""

from __future__ import annotations

from typing import Any

CROP_SIZE = 256
NUM_LANDMARKS = 39
BODY_LANDMARKS = 33
AUX_START, AUX_END = 33, 34
#: BlazePose-33 shoulders (left, right) and hips (left, right).
SHOULDERS, HIPS = (11, 12), (23, 24)
#: Shoulders and hips: what two people who overlap in the image do not share.
TORSO = SHOULDERS + HIPS
#: The torso landmarks with left and right swapped (a body fitted facing the other way).
MIRRORED_TORSO = SHOULDERS[::-1] + HIPS[::-1]


def decode_landmarks(raw: Any) -> tuple[Any, Any, Any]:
    """Split the landmark tensor.

    Args:
        raw: (R, 195) torch tensor.

    Returns:
        uv (R, 39, 2) in [0, 1] crop units, visibility (R, 39) and presence (R, 39) in [0, 1].
    """
    import torch

    values = raw.float().reshape(raw.shape[0], NUM_LANDMARKS, 5)
    uv = values[..., 0:2] / CROP_SIZE
    return uv, torch.sigmoid(values[..., 3]), torch.sigmoid(values[..., 4])


def refine_with_heatmap(uv: Any, heatmap: Any, kernel: int = 7, min_confidence: float = 0.5) -> Any:
    """Landmarks refined by the heatmap (see the module docstring), all regions at once.

    Args:
        uv: (R, L, 2) landmarks in [0, 1] crop units.
        heatmap: (R, H, W, L) logits in TFLite layout.
        kernel: window side (odd).
        min_confidence: the window's largest sigmoid needed to refine.

    Returns:
        (R, L, 2) refined landmarks (others unchanged).
    """
    import torch

    count, height, width, landmarks = heatmap.shape
    heat = heatmap.float()
    col = torch.trunc(uv[..., 0] * width).long()  # (R, L), C++ float -> int truncates toward zero
    row = torch.trunc(uv[..., 1] * height).long()
    skip = (col < 0) | (col >= width) | (row < 0)
    offsets = torch.arange(kernel, device=uv.device) - (kernel - 1) // 2
    rows = row[..., :, None] + offsets  # (R, L, k)
    cols = col[..., :, None] + offsets
    valid = ((rows >= 0) & (rows < height))[..., :, None] & ((cols >= 0) & (cols < width))[..., None, :]
    r_idx = torch.arange(count, device=uv.device)[:, None, None, None]
    l_idx = torch.arange(landmarks, device=uv.device)[None, :, None, None]
    values = heat[r_idx, rows.clamp(0, height - 1)[..., :, None], cols.clamp(0, width - 1)[..., None, :], l_idx]
    confidence = torch.sigmoid(values) * valid  # (R, L, k, k)
    total = confidence.sum(dim=(-1, -2))
    best = confidence.amax(dim=(-1, -2))
    mean_col = (confidence * cols[..., None, :]).sum(dim=(-1, -2)) / total.clamp_min(1e-30)
    mean_row = (confidence * rows[..., :, None]).sum(dim=(-1, -2)) / total.clamp_min(1e-30)
    refine = ~skip & (best >= min_confidence) & (total > 0)
    refined = torch.stack([mean_col / width, mean_row / height], dim=-1)
    return torch.where(refine[..., None], refined, uv.float())
